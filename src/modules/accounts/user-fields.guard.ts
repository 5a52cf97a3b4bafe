import type { MiddlewareFn } from 'type-graphql';
import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden } from '../../platform/errors';

/**
 * Customers reach staff users through their own chats and tickets (a conversation's agent, a ticket's
 * assignee, a comment's author, a transfer…). Of another user they see who it is (`id`, `displayName`, `role`)
 * and nothing else: the fields guarded by this answer FORBIDDEN to a customer unless the user is themselves.
 * Checked on the field, so every path to a `User` is covered, present and future.
 * The `user` of a sign-in payload (`login`, `registerCustomer`) is whoever just proved the credentials,
 * whatever token the request still carried; an anonymous caller reaches no other user.
 */
export const StaffOrSelf: MiddlewareFn<{ viewer: Viewer | null }> = ({ root, context, info }, next) => {
  const viewer = context.viewer;
  const signingIn = info.path.prev?.typename === 'AuthPayload';
  if (viewer?.role === Role.CUSTOMER && (root as { id: string }).id !== viewer.id && !signingIn) {
    throw new Forbidden('Customers see only the id, display name and role of other users');
  }
  return next();
};
