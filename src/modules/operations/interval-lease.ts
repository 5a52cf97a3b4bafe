import type { EntityManager } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';

/**
 * "Who does this job in this interval?" for the whole cluster: the first process to claim the interval's slot
 * (`floor(now / interval)`) wins it, so the work runs once per interval however many processes tick. In Redis
 * a `SET NX PX` key per slot; without Redis (or while it does not answer) a row per slot in PostgreSQL's
 * `operation_leases`, whose primary key settles the race.
 */
export class IntervalLease {
  private readonly holder = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

  constructor(
    private readonly redis: Redis | null,
    private readonly em: () => EntityManager,
  ) {}

  async claim(job: string, intervalMs: number, now = Date.now()): Promise<boolean> {
    const slot = `${job}:${Math.floor(now / intervalMs)}`;
    if (this.redis) {
      try {
        return (await this.redis.set(`lead:${slot}`, this.holder, 'PX', intervalMs * 2, 'NX')) === 'OK';
      } catch {
        // Redis unreachable: PostgreSQL decides instead.
      }
    }
    const em = this.em();
    const rows = await em.execute(
      `INSERT INTO operation_leases (name, holder, expires_at) VALUES (?, ?, now() + make_interval(secs => ?))
       ON CONFLICT (name) DO NOTHING RETURNING name`,
      [slot, this.holder, (intervalMs * 2) / 1000],
    );
    if (rows.length) await em.execute(`DELETE FROM operation_leases WHERE name LIKE ? AND expires_at < now()`, [`${job}:%`]);
    return rows.length > 0;
  }
}
