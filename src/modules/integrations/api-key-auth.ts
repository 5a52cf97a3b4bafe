import type { EntityManager } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { KeyProblem } from '../../platform/auth/credentials';
import { Role, Viewer } from '../../platform/auth/roles';
import type { SessionCache } from '../../platform/auth/session-cache';
import { Forbidden } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import type { RequestScope } from '../../platform/request-scope';
import type { AuditService } from '../audit/audit.service';
import { REQUIRED_SCOPE } from './api-key-scope';
import { ApiKey } from './api-key.entity';
import { hashSecret, rotatedKeyOf } from './api-key.service';

/** A key signed in: the viewer it acts as, and until when (its expiry, or the end of a rotated secret's overlap). */
export type KeyAuthentication = { viewer: Viewer; expiresAt: Date; problem: null } | { viewer: null; problem: KeyProblem };

/** Last use is written at most this often per key (and per cluster: the UPDATE checks the stored time). */
const LAST_USED_EVERY_MS = 60_000;
/** A key that does not expire: sessions need an end, and this one is beyond any clock. */
const NEVER = new Date(8.64e15);

interface KnownKey {
  keyId: string;
  viewer: Viewer;
  revoked: boolean;
  expiresAt: Date | null;
}

/**
 * Signs API keys in and checks every use. Lookups by secret hash are cached like sessions: for
 * SESSION_CACHE_SECONDS at most, dropped on every process by the session revocation event that revokeApiKey
 * (key id) and rotateApiKey (rotationEventId) publish, which the session cache follows and passes on.
 */
export class ApiKeyAuthenticator {
  private readonly known: LRUCache<string, KnownKey> | null;
  private readonly lastTouched = new LRUCache<string, number>({ max: 10_000 });
  /** Every last-use write issued so far, so a test can wait for them instead of sleeping. */
  private lastTouch: Promise<unknown> = Promise.resolve();
  private readonly limiter: RateLimiterAbstract;

  constructor(
    private readonly em: () => EntityManager,
    private readonly sessions: SessionCache,
    private readonly audit: AuditService,
    limiters: RateLimiters,
    private readonly logger: Pick<Logger, 'warn'>,
    opts: { cacheTtlMs: number; usesPerMinute: number },
  ) {
    this.known = opts.cacheTtlMs > 0 ? new LRUCache({ max: 10_000, ttl: opts.cacheTtlMs }) : null;
    this.limiter = limiters.create('api-key', opts.usesPerMinute, 60);
    sessions.onRevoke((id) => this.forget(id));
  }

  async authenticate(secret: string): Promise<KeyAuthentication> {
    const hash = hashSecret(secret);
    let known = this.known?.get(hash);
    if (!known) {
      const ticket = this.sessions.ticket();
      const key = await this.em().findOne(ApiKey, { $or: [{ secretHash: hash }, { previousSecretHash: hash }] });
      if (!key) return { viewer: null, problem: 'KEY_INVALID' };
      known = describe(key, hash);
      // A revocation that came in while the row was read may predate its commit: not kept then.
      if (this.sessions.ticket() === ticket) this.known?.set(hash, known);
    }
    if (known.revoked) return { viewer: null, problem: 'KEY_REVOKED' };
    if (known.expiresAt && known.expiresAt.getTime() <= Date.now()) return { viewer: null, problem: 'KEY_EXPIRED' };
    return { viewer: known.viewer, expiresAt: known.expiresAt ?? NEVER, problem: null };
  }

  /**
   * Runs one root field for a key: counted against the key's rate limit, its last use noted, refused with
   * FORBIDDEN (and audited) when REQUIRED_SCOPE gives it no scope of the key's, or when the service refuses it
   * (outside the key's department).
   */
  async use<T>(scope: RequestScope, operation: string, run: () => T | Promise<T>): Promise<T> {
    const grant = scope.viewer!.integration!;
    await consumeOrThrow(this.limiter, grant.keyId, 'Too many requests with this API key; slow down');
    this.touch(grant.keyId, scope.ip);
    const needed = Object.hasOwn(REQUIRED_SCOPE, operation) ? REQUIRED_SCOPE[operation] : null;
    if (!needed || !grant.scopes.includes(needed)) {
      const why = needed ? `needs the ${needed} scope` : 'is not open to API keys';
      await this.recordRefusal(scope, operation, why);
      throw new Forbidden(`${operation} ${why}`);
    }
    try {
      return await run();
    } catch (err) {
      if (err instanceof Forbidden) await this.recordRefusal(scope, operation, err.message);
      throw err;
    }
  }

  /** In a transaction of its own: the refused operation wrote nothing. */
  private async recordRefusal(scope: RequestScope, operation: string, why: string): Promise<void> {
    const keyId = scope.viewer!.integration!.keyId;
    try {
      const em = this.em();
      this.audit.record(em, scope, {
        action: 'api_key.refused',
        targetType: 'api_key',
        targetId: keyId,
        summary: `${operation} refused: ${why}`,
      });
      await em.flush();
    } catch (err) {
      this.logger.warn({ err, keyId, operation }, 'api key: a refused use was not audited');
    }
  }

  /** Notes the key's last use, at most once a minute: never waited for, never failing the request. */
  private touch(keyId: string, address: string): void {
    const now = Date.now();
    const last = this.lastTouched.get(keyId);
    if (last !== undefined && now - last < LAST_USED_EVERY_MS) return;
    this.lastTouched.set(keyId, now);
    const write = this.em()
      .getConnection()
      .execute(
        `UPDATE api_keys SET last_used_at = now(), last_used_address = ?
          WHERE id = ? AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [address, keyId],
      )
      .catch((err) => this.logger.warn({ err, keyId }, 'api key: last use not recorded'));
    this.lastTouch = Promise.all([this.lastTouch, write]);
  }

  /** Resolves once every last-use write issued so far has landed (test hook). */
  lastUseWritten(): Promise<void> {
    return this.lastTouch.then(() => undefined);
  }

  /** A revocation of `id` (a key, or a key's rotation) on any process; null: forget everything. */
  private forget(id: string | null): void {
    if (!this.known) return;
    if (id === null) return this.known.clear();
    const keyId = rotatedKeyOf(id) ?? id;
    for (const [hash, known] of this.known.entries()) if (known.keyId === keyId) this.known.delete(hash);
  }
}

/** What a key row signs in as, by the secret presented: the current one, or the previous one until its overlap ends. */
function describe(key: ApiKey, hash: string): KnownKey {
  const ends = [key.expiresAt, key.secretHash === hash ? null : key.previousValidUntil].filter((d): d is Date => d !== null);
  return {
    keyId: key.id,
    revoked: key.revokedAt !== null,
    expiresAt: ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null,
    // Acts as a manager of its department, or as an admin when it has none; REQUIRED_SCOPE decides what it may call.
    viewer: {
      id: key.createdById,
      role: key.departmentId ? Role.MANAGER : Role.ADMIN,
      departmentId: key.departmentId,
      integration: { keyId: key.id, scopes: key.scopes },
    },
  };
}
