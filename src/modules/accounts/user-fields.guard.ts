import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden } from '../../platform/errors';
import type { User } from './user.entity';

/** Users who proved their credentials in a request (`login`, `registerCustomer`), by the request (its context object). */
const signedInDuring = new WeakMap<object, Set<string>>();

/** The user of a sign-in payload sees their own private fields whatever token the request still carried. */
export function rememberSignIn(request: object, user: User): void {
  let users = signedInDuring.get(request);
  if (!users) signedInDuring.set(request, (users = new Set()));
  users.add(user.id);
}

/**
 * Customers reach staff users through their own chats and tickets (a conversation's agent, a ticket's
 * assignee, a comment's author, a transfer…). Of another user they see who it is (`id`, `displayName`, `role`)
 * and nothing else: every other User field resolves through this, which answers FORBIDDEN to a customer
 * unless the user is themselves. Checked on the field, so every path to a `User` is covered, present and future.
 * Whoever just proved the credentials in this request (the `user` of a sign-in payload) counts as themselves;
 * an anonymous caller reaches no other user. Recorded by the request rather than read from the response path,
 * which executors shape differently (graphql-js's path names the parent type, the compiled one's does not).
 * Synchronous on purpose: a board lists thousands of users, and a field that returns a promise costs far more.
 */
export function privateFieldsOf(user: User, viewer: Viewer | null, request: object): User {
  if (viewer?.role !== Role.CUSTOMER || user.id === viewer.id) return user;
  if (signedInDuring.get(request)?.has(user.id)) return user;
  throw new Forbidden('Customers see only the id, display name and role of other users');
}
