import { registerEnumType } from 'type-graphql';

export enum Role {
  ADMIN = 'ADMIN',
  MANAGER = 'MANAGER',
  AGENT = 'AGENT',
  CUSTOMER = 'CUSTOMER',
}

registerEnumType(Role, {
  name: 'Role',
  description: 'What a user may do: admins everything, managers their department, agents their own work, customers their own requests',
});

/** Everyone who works at the desk. */
export const STAFF = [Role.ADMIN, Role.MANAGER, Role.AGENT] as const;

/** The signed-in user as a request sees it. Loaded fresh from the database on every operation. */
export interface Viewer {
  id: string;
  role: Role;
  departmentId: string | null;
  /** The locale the user chose (setMyLocale), if any: texts are rendered in it. */
  locale?: string | null;
  /**
   * Set when an API key signed the request in: the key, and its scopes (see the integrations module). The
   * role and department above are then what the key acts as: a manager of its department, or an admin.
   */
  integration?: IntegrationGrant;
}

/** An API key's part of a viewer. */
export interface IntegrationGrant {
  keyId: string;
  scopes: readonly string[];
}
