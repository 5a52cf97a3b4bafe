import type Redis from 'ioredis';
import { RedisGuard, UNGUARDED } from '../../platform/redis-breaker';

export type PresenceStatus = 'AVAILABLE' | 'BUSY' | 'AWAY';

/** What the store knows of one user right now. */
export interface PresenceRecord {
  userId: string;
  online: boolean;
  status: PresenceStatus;
  /** Last connect, heartbeat or status change. */
  lastSeenAt: Date | null;
  /** When the user last became AVAILABLE (routing prefers whoever has been idle longest). */
  availableSince: Date | null;
}

/**
 * Where presence lives: Redis with expiring entries in a cluster, memory in a single process.
 * A user is online while they have an open connection (whose lease its process renews) or a heartbeat
 * younger than the heartbeat TTL. `markOnline`/`markOffline` are atomic test-and-set on the set of users
 * announced online, so exactly one caller learns of each transition, however many processes ask.
 */
export interface PresenceStore {
  addConnection(userId: string, connectionId: string, leaseMs: number): Promise<void>;
  removeConnection(userId: string, connectionId: string): Promise<void>;
  /** Extends the leases of these (still open) connections. */
  renewConnections(connections: Array<{ userId: string; connectionId: string }>, leaseMs: number): Promise<void>;
  heartbeat(userId: string, ttlMs: number): Promise<void>;
  setStatus(userId: string, status: PresenceStatus): Promise<void>;
  /** True when the user is online by connection or heartbeat. */
  isOnline(userId: string): Promise<boolean>;
  read(userIds: string[]): Promise<PresenceRecord[]>;
  /** Adds to the announced-online set; true only for the caller that added. */
  markOnline(userId: string, departmentId: string | null): Promise<boolean>;
  /** Removes from the announced-online set; true only for the caller that removed. */
  markOffline(userId: string): Promise<boolean>;
  /** Users announced online, with their departments (for the expiry sweep). */
  announced(): Promise<Array<{ userId: string; departmentId: string | null }>>;
  /** True for one caller per `ttlMs` across the cluster: who runs a periodic sweep this time. */
  claim(job: string, ttlMs: number): Promise<boolean>;
}

const DEFAULT_STATUS: PresenceStatus = 'AVAILABLE';

export class MemoryPresenceStore implements PresenceStore {
  private readonly connections = new Map<string, Map<string, number>>();
  private readonly heartbeats = new Map<string, number>();
  private readonly statuses = new Map<string, { status: PresenceStatus; availableSince: number | null }>();
  private readonly lastSeen = new Map<string, number>();
  private readonly online = new Map<string, string | null>();

  constructor(private readonly now: () => number = Date.now) {}

  async addConnection(userId: string, connectionId: string, leaseMs: number) {
    const conns = this.connections.get(userId) ?? new Map();
    conns.set(connectionId, this.now() + leaseMs);
    this.connections.set(userId, conns);
    this.lastSeen.set(userId, this.now());
  }

  async removeConnection(userId: string, connectionId: string) {
    this.connections.get(userId)?.delete(connectionId);
  }

  async renewConnections(list: Array<{ userId: string; connectionId: string }>, leaseMs: number) {
    for (const { userId, connectionId } of list) this.connections.get(userId)?.set(connectionId, this.now() + leaseMs);
  }

  async heartbeat(userId: string, ttlMs: number) {
    this.heartbeats.set(userId, this.now() + ttlMs);
    this.lastSeen.set(userId, this.now());
  }

  async setStatus(userId: string, status: PresenceStatus) {
    const before = this.statuses.get(userId);
    const availableSince = status === 'AVAILABLE' ? (before?.status === 'AVAILABLE' ? before.availableSince : this.now()) : null;
    this.statuses.set(userId, { status, availableSince });
    this.lastSeen.set(userId, this.now());
  }

  async isOnline(userId: string) {
    const now = this.now();
    if ((this.heartbeats.get(userId) ?? 0) > now) return true;
    for (const until of this.connections.get(userId)?.values() ?? []) if (until > now) return true;
    return false;
  }

  async read(userIds: string[]) {
    return Promise.all(
      userIds.map(async (userId) => {
        const s = this.statuses.get(userId);
        const seen = this.lastSeen.get(userId);
        return {
          userId,
          online: await this.isOnline(userId),
          status: s?.status ?? DEFAULT_STATUS,
          lastSeenAt: seen ? new Date(seen) : null,
          availableSince: s ? (s.availableSince ? new Date(s.availableSince) : null) : seen ? new Date(seen) : null,
        };
      }),
    );
  }

  async markOnline(userId: string, departmentId: string | null) {
    if (this.online.has(userId)) return false;
    this.online.set(userId, departmentId);
    return true;
  }

  async markOffline(userId: string) {
    return this.online.delete(userId);
  }

  async announced() {
    return [...this.online].map(([userId, departmentId]) => ({ userId, departmentId }));
  }

  async claim() {
    return true;
  }

  /** True when this store has seen the user connect, heartbeat or set a status. */
  knows(userId: string): boolean {
    return this.connections.has(userId) || this.heartbeats.has(userId) || this.statuses.has(userId);
  }
}

/**
 * Keys: `presence:conn:<user>` sorted set of connection ids scored by lease end; `presence:hb:<user>`
 * with a TTL; `presence:status:<user>` hash {status, availableSince, lastSeenAt}; `presence:online`
 * hash user → department of those announced online.
 *
 * Every write is mirrored into an in-process store, which answers while Redis is unreachable: presence then
 * knows this process's connections, heartbeats and statuses, and agents stay routable instead of every
 * presence-reading operation failing. Users this process has not seen (agents of other processes) keep what
 * Redis last said of them, rather than all looking offline, which would start the offline grace of their
 * conversations. When Redis returns, lease renewal re-adds this process's connections and re-announces its
 * users, so the shared state heals on its own.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly local = new MemoryPresenceStore();
  private readonly lastRead = new Map<string, PresenceRecord>();

  constructor(
    private readonly redis: Redis,
    /** The circuit breaker: while it is open the in-process store answers at once. */
    private readonly guard: RedisGuard = UNGUARDED,
  ) {}

  /** Redis's answer, or the in-process store's when Redis fails (connection down, command timed out, breaker open). */
  private async orLocal<T>(fromRedis: () => Promise<T>, fromLocal: () => Promise<T>): Promise<T> {
    try {
      return await this.guard.execute(fromRedis);
    } catch {
      return fromLocal();
    }
  }

  /** Applies a write to both stores; Redis's answer wins while it is reachable. */
  private async mirrored<T>(toRedis: () => Promise<T>, toLocal: () => Promise<T>): Promise<T> {
    const local = await toLocal();
    return this.orLocal(toRedis, async () => local);
  }

  async addConnection(userId: string, connectionId: string, leaseMs: number) {
    await this.mirrored(
      async () => {
        const now = Date.now();
        await this.redis
          .multi()
          .zadd(`presence:conn:${userId}`, now + leaseMs, connectionId)
          .pexpire(`presence:conn:${userId}`, leaseMs * 2)
          .hset(`presence:status:${userId}`, 'lastSeenAt', now)
          .exec();
      },
      () => this.local.addConnection(userId, connectionId, leaseMs),
    );
  }

  async removeConnection(userId: string, connectionId: string) {
    await this.mirrored(
      async () => {
        await this.redis.zrem(`presence:conn:${userId}`, connectionId);
      },
      () => this.local.removeConnection(userId, connectionId),
    );
  }

  async renewConnections(list: Array<{ userId: string; connectionId: string }>, leaseMs: number) {
    if (!list.length) return;
    await this.mirrored(
      async () => {
        const until = Date.now() + leaseMs;
        const multi = this.redis.multi();
        for (const { userId, connectionId } of list) {
          multi.zadd(`presence:conn:${userId}`, until, connectionId).pexpire(`presence:conn:${userId}`, leaseMs * 2);
        }
        await multi.exec();
      },
      () => this.local.renewConnections(list, leaseMs),
    );
  }

  async heartbeat(userId: string, ttlMs: number) {
    await this.mirrored(
      async () => {
        await this.redis
          .multi()
          .set(`presence:hb:${userId}`, '1', 'PX', ttlMs)
          .hset(`presence:status:${userId}`, 'lastSeenAt', Date.now())
          .exec();
      },
      () => this.local.heartbeat(userId, ttlMs),
    );
  }

  async setStatus(userId: string, status: PresenceStatus) {
    await this.mirrored(
      async () => {
        const key = `presence:status:${userId}`;
        const now = Date.now();
        // availableSince only moves when the status becomes AVAILABLE, not on a repeated AVAILABLE.
        await this.redis.eval(
          `local before = redis.call('HGET', KEYS[1], 'status')
           redis.call('HSET', KEYS[1], 'status', ARGV[1], 'lastSeenAt', ARGV[2])
           if ARGV[1] == 'AVAILABLE' then
             if before ~= 'AVAILABLE' then redis.call('HSET', KEYS[1], 'availableSince', ARGV[2]) end
           else
             redis.call('HDEL', KEYS[1], 'availableSince')
           end
           return 1`,
          1,
          key,
          status,
          String(now),
        );
      },
      () => this.local.setStatus(userId, status),
    );
  }

  isOnline(userId: string) {
    return this.orLocal(
      async () => {
        const [hb, conns] = await this.redis
          .multi()
          .exists(`presence:hb:${userId}`)
          .zcount(`presence:conn:${userId}`, Date.now(), '+inf')
          .exec()
          .then((r) => r!.map(([, v]) => Number(v)));
        return hb > 0 || conns > 0;
      },
      async () => (this.local.knows(userId) ? this.local.isOnline(userId) : (this.lastRead.get(userId)?.online ?? false)),
    );
  }

  read(userIds: string[]) {
    if (!userIds.length) return Promise.resolve([]);
    return this.orLocal(
      () => this.readFromRedis(userIds),
      async () => (await this.local.read(userIds)).map((r) => (this.local.knows(r.userId) ? r : (this.lastRead.get(r.userId) ?? r))),
    );
  }

  private async readFromRedis(userIds: string[]): Promise<PresenceRecord[]> {
    const records = await this.readRecords(userIds);
    for (const r of records) this.lastRead.set(r.userId, r);
    return records;
  }

  private async readRecords(userIds: string[]): Promise<PresenceRecord[]> {
    const now = Date.now();
    const multi = this.redis.multi();
    for (const id of userIds) {
      multi.exists(`presence:hb:${id}`).zcount(`presence:conn:${id}`, now, '+inf').hgetall(`presence:status:${id}`);
    }
    const replies = (await multi.exec())!.map(([, v]) => v);
    return userIds.map((userId, i) => {
      const hb = Number(replies[i * 3]);
      const conns = Number(replies[i * 3 + 1]);
      const h = replies[i * 3 + 2] as Record<string, string>;
      const status = (h.status as PresenceStatus | undefined) ?? DEFAULT_STATUS;
      const lastSeenAt = h.lastSeenAt ? new Date(Number(h.lastSeenAt)) : null;
      return {
        userId,
        online: hb > 0 || conns > 0,
        status,
        lastSeenAt,
        availableSince: h.availableSince ? new Date(Number(h.availableSince)) : status === 'AVAILABLE' && !h.status ? lastSeenAt : null,
      };
    });
  }

  markOnline(userId: string, departmentId: string | null) {
    return this.mirrored(
      async () => (await this.redis.hsetnx('presence:online', userId, departmentId ?? '')) === 1,
      () => this.local.markOnline(userId, departmentId),
    );
  }

  markOffline(userId: string) {
    return this.mirrored(
      async () => (await this.redis.hdel('presence:online', userId)) === 1,
      () => this.local.markOffline(userId),
    );
  }

  announced() {
    return this.orLocal(
      async () => {
        const all = await this.redis.hgetall('presence:online');
        return Object.entries(all).map(([userId, d]) => ({ userId, departmentId: d || null }));
      },
      () => this.local.announced(),
    );
  }

  /** Without Redis there is no one to share the lease with: each process runs the job for itself. */
  claim(job: string, ttlMs: number) {
    return this.orLocal(
      async () => (await this.redis.set(`lead:${job}`, String(process.pid), 'PX', ttlMs, 'NX')) === 'OK',
      () => this.local.claim(),
    );
  }
}
