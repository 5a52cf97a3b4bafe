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
}
