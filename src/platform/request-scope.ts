import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from './auth/roles';
import type { Logger } from './logger';

/** What a service needs to know about the request it serves. No GraphQL in it. */
export interface RequestScope {
  viewer: Viewer | null;
  em: EntityManager;
  traceId: string;
  logger: Logger;
  /** Client address, for rate limits. */
  ip: string;
  /** An HTTP request's Accept-Language (a graphql-ws connection's `locale` is kept by request-locale.ts). */
  requestedLocale?: string | null;
}
