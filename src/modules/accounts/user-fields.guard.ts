import type { GraphQLResolveInfo } from 'graphql';
import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden } from '../../platform/errors';
import type { User } from './user.entity';

/**
 * Customers reach staff users through their own chats and tickets (a conversation's agent, a ticket's
 * assignee, a comment's author, a transfer…). Of another user they see who it is (`id`, `displayName`, `role`)
 * and nothing else: every other User field resolves through this, which answers FORBIDDEN to a customer
 * unless the user is themselves. Checked on the field, so every path to a `User` is covered, present and future.
 * The `user` of a sign-in payload (`login`, `registerCustomer`) is whoever just proved the credentials,
 * whatever token the request still carried; an anonymous caller reaches no other user.
 * Synchronous on purpose: a board lists thousands of users, and a field that returns a promise costs far more.
 */
export function privateFieldsOf(user: User, viewer: Viewer | null, info: GraphQLResolveInfo): User {
  if (viewer?.role !== Role.CUSTOMER || user.id === viewer.id) return user;
  if (info.path.prev?.typename === 'AuthPayload') return user;
  throw new Forbidden('Customers see only the id, display name and role of other users');
}
