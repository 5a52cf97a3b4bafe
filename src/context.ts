import type { EntityManager } from '@mikro-orm/postgresql';
import type { CredentialProblem } from './platform/auth/credentials';
import type { Role, Viewer } from './platform/auth/roles';
import type { SessionCache, SessionUser } from './platform/auth/session-cache';
import { parseAuthorization, VerifiedToken } from './platform/auth/tokens';
import type { Logger } from './platform/logger';
import type { RequestScope } from './platform/request-scope';
import type { Services } from './services';
import { createLoaders, Loaders } from './loaders';
import { isUuid } from './platform/ids';
import { pgArray } from './platform/db/arrays';
import { API_KEY_PREFIX } from './modules/integrations/api-key-scope';

export type { RequestScope };

/** Per GraphQL operation: a fresh EntityManager fork and fresh DataLoaders, never shared. */
export interface Context extends RequestScope {
  loaders: Loaders;
  services: Services;
  /**
   * Set when the request came with credentials that sign nobody in; the viewer is then null. Only fields
   * that sign in run with it (see credentialsPlugin); every other operation answers 401.
   */
  credentialProblem: CredentialProblem | null;
}

/** An EntityManager, or how to get one only if it is needed (a cached session reads nothing). */
export type EntityManagerSource = EntityManager | (() => EntityManager);

/** A signed-in viewer and when their token expires. */
export interface Session {
  viewer: Viewer;
  /** The `tokenVersion` the token was issued with. */
  tokenVersion: number;
  expiresAt: Date;
}

/**
 * Resolves a bearer token to the viewer. A deactivated user, or one whose role, department or password changed
 * since the token was issued, is signed out at once: the user row comes from the session cache, which every
 * such change empties for that user on every process (see SessionCache), else from PostgreSQL.
 * Returns undefined for "no token", null for "a token that is no longer (or never was) good".
 */
export async function resolveViewer(services: Services, em: EntityManagerSource, token: string | null): Promise<Viewer | null | undefined> {
  const session = await resolveSession(services, em, token);
  return session ? session.viewer : session;
}

/** resolveViewer, with the token's expiry (a WebSocket keeps its session between checks). */
export async function resolveSession(
  services: Services,
  em: EntityManagerSource,
  token: string | null,
): Promise<Session | null | undefined> {
  if (!token) return undefined;
  const checked = await services.sessions.verify(token);
  return 'claims' in checked ? sessionOf(services.sessions, em, checked.claims) : null;
}

/** Who an Authorization value signs in: a session, nobody (no credentials), or nobody and why not. */
export type Authentication = { session: Session; problem: null } | { session: null; problem: CredentialProblem | null };

/** Like resolveSession, from the raw Authorization value, saying why credentials that came along were refused. */
export async function authenticate(services: Services, em: EntityManagerSource, authorization: unknown): Promise<Authentication> {
  const parsed = parseAuthorization(authorization);
  if (parsed.token === null) return { session: null, problem: parsed.wrongScheme ? 'WRONG_SCHEME' : null };
  // An API key is told apart by its prefix: no JWT verification, no user row.
  if (parsed.token.startsWith(API_KEY_PREFIX)) {
    const key = await services.apiKeys.auth.authenticate(parsed.token);
    return key.viewer
      ? { session: { viewer: key.viewer, tokenVersion: 0, expiresAt: key.expiresAt }, problem: null }
      : { session: null, problem: key.problem };
  }
  const checked = await services.sessions.verify(parsed.token);
  if (!('claims' in checked)) return { session: null, problem: checked.problem };
  const session = await sessionOf(services.sessions, em, checked.claims);
  return session ? { session, problem: null } : { session: null, problem: 'INVALID' };
}

async function sessionOf(cache: SessionCache, em: EntityManagerSource, claims: VerifiedToken): Promise<Session | null> {
  // A well-signed token whose subject is not a UUID would fail in SQL, inside context creation, as a 500.
  if (!isUuid(claims.userId)) return null;
  // The cached row without a promise: this is every request's path once the user has been read.
  const user =
    cache.user(claims.userId) ?? (await cache.load(claims.userId, (ids) => readSessionUsers(typeof em === 'function' ? em() : em, ids)));
  if (!user || !user.active || user.tokenVersion !== claims.version || user.role !== claims.role) return null;
  return {
    viewer: { id: user.id, role: user.role, departmentId: user.departmentId, locale: user.locale },
    tokenVersion: claims.version,
    expiresAt: claims.expiresAt,
  };
}

/** The columns of users a session needs, as plain rows: a burst of first requests reads thousands at once. */
async function readSessionUsers(em: EntityManager, ids: string[]): Promise<SessionUser[]> {
  const rows = await em
    .getConnection()
    .execute<
      Array<{ id: string; active: boolean; role: Role; department_id: string | null; token_version: number; locale: string | null }>
    >(`SELECT id, active, role, department_id, token_version, locale FROM users WHERE id = ANY(?::uuid[])`, [pgArray(ids)]);
  return rows.map((r) => ({
    id: r.id,
    active: r.active,
    role: r.role,
    departmentId: r.department_id,
    tokenVersion: r.token_version,
    locale: r.locale,
  }));
}

/**
 * The context of one operation. Its EntityManager fork, DataLoaders and logger are made on first use: a
 * subscription holds its context for as long as it runs, and most never touch them (they read through a
 * fresh fork per event), so thousands of open subscriptions keep no identity maps alive.
 */
export function buildContext(
  services: Services,
  viewer: Viewer | null,
  em: EntityManager | null,
  traceId: string,
  ip: string,
  credentialProblem: CredentialProblem | null = null,
): Context {
  return new OperationContext(services, viewer, em, traceId, ip, credentialProblem);
}

/** A request's EntityManager: its statements carry the trace id to the SQL log (orm.ts). */
export function forkFor(services: Services, traceId: string): EntityManager {
  return services.orm.em.fork({ loggerContext: { traceId } });
}

/**
 * The lazy parts are getters on the prototype over plain fields, not getters of an object literal: Apollo
 * copies the context before each operation (Object.assign onto an object of the same prototype), which
 * calls own getters, and so made the fork, the loaders and a child logger for every HTTP request up front.
 */
class OperationContext implements Context {
  requestedLocale: string | null = null;
  private madeLoaders: Loaders | null = null;
  private madeLogger: Logger | null = null;

  constructor(
    public services: Services,
    public viewer: Viewer | null,
    private fork: EntityManager | null,
    public traceId: string,
    public ip: string,
    public credentialProblem: CredentialProblem | null,
  ) {}

  get em(): EntityManager {
    return (this.fork ??= forkFor(this.services, this.traceId));
  }

  get loaders(): Loaders {
    return (this.madeLoaders ??= createLoaders(this.em));
  }

  get logger(): Logger {
    return (this.madeLogger ??= this.services.logger.child({ traceId: this.traceId }));
  }
}
