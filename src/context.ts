import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from './platform/auth/roles';
import type { Logger } from './platform/logger';
import type { Services } from './services';
import { createLoaders, Loaders } from './loaders';
import { User } from './modules/accounts/user.entity';
import { isUuid } from './modules/accounts/account.service';

/** What a service needs to know about the request it serves. No GraphQL in it. */
export interface RequestScope {
  viewer: Viewer | null;
  em: EntityManager;
  traceId: string;
  logger: Logger;
  /** Client address, for rate limits. */
  ip: string;
}

/** Per GraphQL operation: a fresh EntityManager fork and fresh DataLoaders, never shared. */
export interface Context extends RequestScope {
  loaders: Loaders;
  services: Services;
}

/**
 * Resolves a bearer token to the viewer, checking the user row on every call: a deactivated user, or one
 * whose role changed since the token was issued, is signed out at once.
 * Returns undefined for "no token", null for "a token that is no longer (or never was) good".
 */
export async function resolveViewer(services: Services, em: EntityManager, token: string | null): Promise<Viewer | null | undefined> {
  if (!token) return undefined;
  const claims = await services.tokens.verify(token);
  // A well-signed token whose subject is not a UUID would fail in SQL, inside context creation, as a 500.
  if (!claims || !isUuid(claims.userId)) return null;
  // The whole row (not a few columns): it stays in this operation's identity map, so `me` and the
  // viewer's own fields cost no second query.
  const user = await em.findOne(User, { id: claims.userId });
  if (!user || !user.active || user.tokenVersion !== claims.version || user.role !== claims.role) return null;
  return { id: user.id, role: user.role, departmentId: user.departmentId };
}

export function buildContext(services: Services, viewer: Viewer | null, em: EntityManager, traceId: string, ip: string): Context {
  return {
    viewer,
    em,
    traceId,
    ip,
    logger: services.logger.child({ traceId }),
    loaders: createLoaders(em),
    services,
  };
}
