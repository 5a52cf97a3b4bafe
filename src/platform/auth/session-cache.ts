import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger';
import { RedisGuard, UNGUARDED } from '../redis-breaker';
import type { PubSubPort } from '../realtime/pubsub';
import { Topics } from '../realtime/topics';
import type { Role } from './roles';
import type { TokenService, VerifiedToken } from './tokens';

/** The user row as far as signing in needs it: enough to check a token against, and the viewer it gives. */
export interface SessionUser {
  id: string;
  active: boolean;
  role: Role;
  departmentId: string | null;
  tokenVersion: number;
  locale?: string | null;
}

/** A revocation this process published: acknowledgements counted, and how many are expected once PUBLISH answers. */
interface PendingRevocation {
  acknowledged: number;
  expected: number | null;
  done: () => void;
}

/** Taken before reading a user row; `remember` keeps the row only if no revocation came in meanwhile. */
export type ReadTicket = number;

/** Reads the rows of users by id (those that exist), for the cache's misses. */
export type SessionUserReader = (userIds: string[]) => Promise<SessionUser[]>;

type MissWaiter = { resolve: (u: SessionUser | null) => void; reject: (err: unknown) => void };

/** Ids read in one statement at most. */
const READ_BATCH_MAX = 500;

/**
 * Keeps a request with a valid token from running SQL to authenticate. Two caches, per process:
 *
 * - token → verified claims: a signed token's claims never change, so only its expiry is checked again.
 * - user id → the user's active flag, role, department and tokenVersion, read from PostgreSQL on a miss.
 *
 * A user entry is dropped the moment the user's sessions are revoked: on this process synchronously (by
 * AccountService, before the mutation answers), on the others by the SESSION_REVOKED event over Redis, which
 * already closes WebSockets; every process acknowledges it, and the mutation answers once all have (or after
 * `ackTimeoutMs`). Redis pub/sub is at-most-once: when delivery resumes after an outage the whole
 * cache is dropped (an event may have been lost), and every user entry expires after `ttlMs` anyway, so a
 * revocation lost while Redis was down holds at most that long.
 */
export class SessionCache {
  private readonly users: LRUCache<string, SessionUser> | null;
  private readonly claims: LRUCache<string, VerifiedToken> | null;
  /** Bumped on every revocation; a read that started before one may not be kept (it may predate the commit). */
  private revocations = 0;
  private stopListening: (() => Promise<void>) | null = null;
  /** Revocations this process published, waiting for the other processes' acknowledgements. */
  private readonly awaitingAcks = new Map<string, PendingRevocation>();
  private readonly ackTimeoutMs: number;
  private readonly guard: RedisGuard;
  /** Caches of other principals kept by the same ids (API keys): told of every revocation, before it is acknowledged. */
  private readonly followers: Array<(id: string | null) => void> = [];
  /** Misses waiting for the next read of user rows, by user id; `reading` while one runs. */
  private misses = new Map<string, MissWaiter[]>();
  private reading = false;

  constructor(
    private readonly tokens: TokenService,
    private readonly pubsub: PubSubPort,
    /** The command connection when REDIS_URL is set: revocations are published on it and awaited. */
    private readonly redis: Redis | null,
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    opts: { ttlMs: number; maxEntries?: number; ackTimeoutMs?: number; guard?: RedisGuard },
  ) {
    this.guard = opts.guard ?? UNGUARDED;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 2000;
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

  /**
   * The user's row: cached, else read from PostgreSQL and kept. Misses are read together, one statement at a
   * time: those that arrive while a read runs wait for the next one, so a burst of first requests from different
   * users (a flash sale's customers) costs a few statements, not one each; null when the user does not exist.
   */
  async load(userId: string, read: SessionUserReader): Promise<SessionUser | null> {
    const cached = this.user(userId);
    if (cached) return cached;
    return new Promise((resolve, reject) => {
      const waiting = this.misses.get(userId);
      if (waiting) waiting.push({ resolve, reject });
      else this.misses.set(userId, [{ resolve, reject }]);
      this.scheduleRead(read);
    });
  }

  private scheduleRead(read: SessionUserReader): void {
    if (this.reading || !this.misses.size) return;
    this.reading = true;
    setImmediate(() => {
      const misses = this.misses;
      this.misses = new Map();
      void this.readMisses(misses, read).finally(() => {
        this.reading = false;
        this.scheduleRead(read);
      });
    });
  }

  private async readMisses(misses: Map<string, MissWaiter[]>, read: SessionUserReader): Promise<void> {
    const ids = [...misses.keys()];
    for (let i = 0; i < ids.length; i += READ_BATCH_MAX) {
      const chunk = ids.slice(i, i + READ_BATCH_MAX);
      const ticket = this.ticket();
      try {
        const rows = new Map((await read(chunk)).map((u) => [u.id, u]));
        for (const id of chunk) {
          const user = rows.get(id) ?? null;
          if (user) this.remember(user, ticket);
          for (const w of misses.get(id)!) w.resolve(user);
        }
      } catch (err) {
        for (const id of chunk) for (const w of misses.get(id)!) w.reject(err);
      }
    }
  }

  ticket(): ReadTicket {
    return this.revocations;
  }

  /** Keeps a row read from PostgreSQL, unless a revocation arrived since `ticket` was taken. */
  remember(user: SessionUser, ticket: ReadTicket): void {
    if (ticket !== this.revocations) return;
    this.users?.set(user.id, {
      id: user.id,
      active: user.active,
      role: user.role,
      departmentId: user.departmentId,
      tokenVersion: user.tokenVersion,
      locale: user.locale,
    });
  }

  /**
   * Revokes the user's sessions on every process, once the change is committed: this process forgets the
   * user at once, the others (and every process's WebSockets) on SESSION_REVOKED. With Redis this waits
   * until every process subscribed to the topic has acknowledged the event. PUBLISH answering is not enough:
   * Redis has then queued the event for the other processes, but one of them may still serve a request
   * sent after the mutation's answer before it reads its subscriber socket. PUBLISH tells how many
   * subscriber connections got the event (one per process), and each process's cache acknowledges it on
   * SESSION_REVOKED_ACK once the user is forgotten. The payload is the JSON the pub/sub adapter carries
   * (graphql-redis-subscriptions: JSON.stringify on the topic's own channel). A failed publish (Redis down)
   * or a missing acknowledgement is logged, never thrown: the change is committed, and SESSION_CACHE_SECONDS
   * then bounds the revocation's delay on the other processes.
   */
  async revokeEverywhere(userId: string): Promise<void> {
    this.revoke(userId);
    if (!this.redis) {
      this.pubsub.publish(Topics.SESSION_REVOKED, { userId });
      return;
    }
    const ack = randomUUID();
    let done!: () => void;
    const allAcknowledged = new Promise<void>((resolve) => (done = resolve));
    const pending: PendingRevocation = { acknowledged: 0, expected: null, done };
    // Registered before publishing: an acknowledgement may arrive before PUBLISH's answer.
    this.awaitingAcks.set(ack, pending);
    let timer: NodeJS.Timeout | undefined;
    try {
      const redis = this.redis;
      pending.expected = await this.guard.execute(() => redis.publish(Topics.SESSION_REVOKED, JSON.stringify({ userId, ack })));
      if (pending.acknowledged < pending.expected) {
        const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.ackTimeoutMs)));
        if ((await Promise.race([allAcknowledged, timedOut])) === 'timeout') {
          this.logger.warn(
            { userId, expected: pending.expected, acknowledged: pending.acknowledged },
            'not every process acknowledged a session revocation in time; they drop the session within SESSION_CACHE_SECONDS',
          );
        }
      }
    } catch (err) {
      this.logger.error(
        { err, userId },
        'could not publish a session revocation; other processes drop the session within SESSION_CACHE_SECONDS',
      );
    } finally {
      clearTimeout(timer);
      this.awaitingAcks.delete(ack);
    }
  }

  /** The user's sessions were revoked (here or on another process): the next request reads the row again. */
  revoke(userId: string): void {
    this.revocations++;
    this.users?.delete(userId);
    for (const follow of this.followers) follow(userId);
  }

  /** Forgets every user (an outage may have lost revocation events). Token claims stay: they cannot change. */
  forgetUsers(): void {
    this.revocations++;
    this.users?.clear();
    for (const follow of this.followers) follow(null);
  }

  /** `follow(id)` on every revocation of `id` on any process; `follow(null)` when everything is forgotten. */
  onRevoke(follow: (id: string | null) => void): void {
    this.followers.push(follow);
  }

  /**
   * Follows SESSION_REVOKED from every process (acknowledging each on SESSION_REVOKED_ACK), counts the
   * acknowledgements of this process's own revocations, and forgets every user when pub/sub delivery resumes.
   */
  listen(): void {
    const { pubsub } = this;
    if (this.stopListening) return;
    const revocations = this.follow(Topics.SESSION_REVOKED, (event) => {
      const userId = event?.userId;
      if (typeof userId !== 'string') return false;
      this.revoke(userId);
      if (typeof event?.ack === 'string') pubsub.publish(Topics.SESSION_REVOKED_ACK, { ack: event.ack });
      return true;
    });
    const acks = this.follow(Topics.SESSION_REVOKED_ACK, (event) => {
      if (typeof event?.ack !== 'string') return false;
      const pending = this.awaitingAcks.get(event.ack);
      if (!pending) return true;
      pending.acknowledged++;
      if (pending.expected !== null && pending.acknowledged >= pending.expected) pending.done();
      return true;
    });
    const removeResumed = pubsub.onResumed(() => this.forgetUsers());
    this.stopListening = async () => {
      removeResumed();
      await Promise.all([revocations(), acks()]);
    };
  }

  /** Runs `handle` on every event of a process-wide topic until the returned function is called. */
  private follow(topic: string, handle: (event: Record<string, unknown> | null | undefined) => boolean): () => Promise<void> {
    const { logger } = this;
    const events = this.pubsub.subscribe(topic)[Symbol.asyncIterator]();
    void (async () => {
      for (;;) {
        const next = await events.next();
        if (next.done) return;
        // Anything may arrive on the topic (with Redis: whatever anyone PUBLISHes); it must not end the loop.
        const event = next.value as Record<string, unknown> | null | undefined;
        if (!handle(typeof event === 'object' ? event : undefined)) logger.warn({ topic, event }, 'ignored a malformed session event');
      }
    })().catch((err) => logger.error({ err, topic }, 'session cache stopped following its events'));
    return async () => {
      await events.return?.();
    };
  }

  async stop(): Promise<void> {
    const stop = this.stopListening;
    this.stopListening = null;
    await stop?.();
  }
}
