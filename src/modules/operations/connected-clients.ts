import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Metrics } from '../../platform/metrics';
import { Role } from '../../platform/auth/roles';

const SET_KEY = 'ops:clients';
const instanceKey = (id: string) => `ops:clients:${id}`;

/**
 * WebSocket clients per role across the cluster. Each process counts its own in the
 * `shiftdesk_connected_clients{role}` gauge (websocket.ts) and reports it to Redis every interval under a
 * key that expires after three intervals, so a crashed process drops out by itself; the total is the sum of
 * the live reports. Without Redis there is one process: its own gauge is the total.
 */
export class ConnectedClients {
  private readonly instanceId = randomUUID();

  constructor(
    private readonly metrics: Metrics,
    private readonly redis: Redis | null,
    private readonly intervalMs: number,
  ) {}

  /** This process's connections by role. */
  async local(): Promise<Record<Role, number>> {
    const counts = { ADMIN: 0, MANAGER: 0, AGENT: 0, CUSTOMER: 0 } as Record<Role, number>;
    for (const v of (await this.metrics.connectedClients.get()).values) {
      const role = v.labels.role as Role;
      if (role in counts) counts[role] = v.value;
    }
    return counts;
  }

  /** Writes this process's counts to Redis (a scheduled job; a failure is only a stale total). */
  async report(): Promise<void> {
    if (!this.redis) return;
    const counts = await this.local();
    await this.redis
      .multi()
      .hset(instanceKey(this.instanceId), counts)
      .pexpire(instanceKey(this.instanceId), this.intervalMs * 3)
      .sadd(SET_KEY, this.instanceId)
      .exec();
  }

  /** Connections by role in the whole cluster (this process's own when Redis does not answer). */
  async cluster(): Promise<Record<Role, number>> {
    const mine = await this.local();
    if (!this.redis) return mine;
    try {
      const ids = (await this.redis.smembers(SET_KEY)).filter((id) => id !== this.instanceId);
      const total = { ...mine };
      if (!ids.length) return total;
      const multi = this.redis.multi();
      for (const id of ids) multi.hgetall(instanceKey(id));
      const replies = (await multi.exec())!.map(([, v]) => v as Record<string, string>);
      const gone: string[] = [];
      replies.forEach((h, i) => {
        if (!h || !Object.keys(h).length) gone.push(ids[i]);
        else for (const role of Object.keys(total) as Role[]) total[role] += Number(h[role] ?? 0);
      });
      if (gone.length) await this.redis.srem(SET_KEY, ...gone);
      return total;
    } catch {
      return mine;
    }
  }

  async stop(): Promise<void> {
    if (!this.redis) return;
    await this.redis
      .multi()
      .del(instanceKey(this.instanceId))
      .srem(SET_KEY, this.instanceId)
      .exec()
      .catch(() => {});
  }
}
