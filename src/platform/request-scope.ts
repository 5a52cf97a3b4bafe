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
}
