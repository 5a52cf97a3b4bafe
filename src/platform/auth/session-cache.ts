import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger';
import type { PubSubPort } from '../realtime/pubsub';
import { Topics } from '../realtime/topics';
import type { Role, Viewer } from './roles';
import type { TokenService, VerifiedToken } from './tokens';

/** The user row as far as signing in needs it: enough to check a token against, and the viewer it gives. */
export interface SessionUser {
  id: string;
  active: boolean;
  role: Role;
  departmentId: string | null;
  tokenVersion: number;
}

/** Taken before reading a user row; `remember` keeps the row only if no revocation came in meanwhile. */
export type ReadTicket = number;

/**
 * Keeps a request with a valid token from running SQL to authenticate. Two caches, per process:
 *
 * - token → verified claims: a signed token's claims never change, so only its expiry is checked again.
 * - user id → the user's active flag, role, department and tokenVersion, read from PostgreSQL on a miss.
 *
 * A user entry is dropped the moment the user's sessions are revoked: on this process synchronously (by
 * AccountService, before the mutation answers), on the others by the SESSION_REVOKED event over Redis, which
 * already closes WebSockets. Redis pub/sub is at-most-once: when delivery resumes after an outage the whole
 * cache is dropped (an event may have been lost), and every user entry expires after `ttlMs` anyway, so a
 * revocation lost while Redis was down holds at most that long.
 */
export class SessionCache {
  private readonly users: LRUCache<string, SessionUser> | null;
  private readonly claims: LRUCache<string, VerifiedToken> | null;
  /** Bumped on every revocation; a read that started before one may not be kept (it may predate the commit). */
  private revocations = 0;
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly tokens: TokenService,
    private readonly pubsub: PubSubPort,
    /** The command connection when REDIS_URL is set: revocations are published on it and awaited. */
    private readonly redis: Redis | null,
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    opts: { ttlMs: number; maxEntries?: number },
  ) {
    const max = opts.maxEntries ?? 10_000;
    // ttl 0 turns caching off: every request verifies the token and reads the row, as before.
    this.users = opts.ttlMs > 0 ? new LRUCache({ max, ttl: opts.ttlMs, ttlAutopurge: false }) : null;
    this.claims = opts.ttlMs > 0 ? new LRUCache({ max }) : null;
  }

  /** tokens.verify, remembered per token string until the token expires. */
  async verify(token: string): Promise<{ claims: VerifiedToken } | { problem: 'EXPIRED' | 'INVALID' }> {
    const known = this.claims?.get(token);
    if (known) {
      if (known.expiresAt.getTime() > Date.now()) return { claims: known };
      this.claims!.delete(token);
      return { problem: 'EXPIRED' };
    }
    const checked = await this.tokens.verify(token);
    if ('claims' in checked) this.claims?.set(token, checked.claims);
    return checked;
  }

  /** The cached row of a user, if any. */
  user(userId: string): SessionUser | undefined {
    return this.users?.get(userId);
  }

  ticket(): ReadTicket {
    return this.revocations;
  }

  /** Keeps a row read from PostgreSQL, unless a revocation arrived since `ticket` was taken. */
  remember(user: SessionUser, ticket: ReadTicket): void {
    if (ticket !== this.revocations) return;
    this.users?.set(user.id, { id: user.id, active: user.active, role: user.role, departmentId: user.departmentId, tokenVersion: user.tokenVersion });
  }

  /**
   * Revokes the user's sessions on every process, once the change is committed: this process forgets the
   * user at once, the others (and every process's WebSockets) on SESSION_REVOKED. With Redis the PUBLISH is
   * awaited: Redis has handed the event to every subscriber when it answers, so the other processes read it
   * before any request sent after the mutation's answer. The payload is the JSON the pub/sub adapter
   * carries (graphql-redis-subscriptions: JSON.stringify on the topic's own channel). A failed publish
   * (Redis down) is logged; SESSION_CACHE_SECONDS then bounds the revocation's delay on the other processes.
   */
  async revokeEverywhere(userId: string): Promise<void> {
    this.revoke(userId);
    const event = { userId };
    if (!this.redis) {
      this.pubsub.publish(Topics.SESSION_REVOKED, event);
      return;
    }
    try {
      await this.redis.publish(Topics.SESSION_REVOKED, JSON.stringify(event));
    } catch (err) {
      this.logger.error({ err, userId }, 'could not publish a session revocation; other processes drop the session within SESSION_CACHE_SECONDS');
    }
  }

  /** The user's sessions were revoked (here or on another process): the next request reads the row again. */
  revoke(userId: string): void {
    this.revocations++;
    this.users?.delete(userId);
  }

  /** Forgets every user (an outage may have lost revocation events). Token claims stay: they cannot change. */
  forgetUsers(): void {
    this.revocations++;
    this.users?.clear();
  }

  /** Follows SESSION_REVOKED from every process, and forgets every user when pub/sub delivery resumes. */
  listen(): void {
    const { pubsub, logger } = this;
    if (this.stopListening) return;
    const events = pubsub.subscribe(Topics.SESSION_REVOKED)[Symbol.asyncIterator]();
    const removeResumed = pubsub.onResumed(() => this.forgetUsers());
    void (async () => {
      for (;;) {
        const next = await events.next();
        if (next.done) return;
        // Anything may arrive on the topic (with Redis: whatever anyone PUBLISHes); it must not end the loop.
        const userId = (next.value as { userId?: unknown } | null | undefined)?.userId;
        if (typeof userId === 'string') this.revoke(userId);
        else logger.warn({ event: next.value }, 'ignored a malformed session revocation event');
      }
    })().catch((err) => logger.error({ err }, 'session cache stopped following revocations'));
    this.stopListening = async () => {
      removeResumed();
      await events.return?.();
    };
  }

  async stop(): Promise<void> {
    const stop = this.stopListening;
    this.stopListening = null;
    await stop?.();
  }
}
