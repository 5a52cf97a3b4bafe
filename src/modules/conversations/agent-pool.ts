import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { pgArray } from '../../platform/db/arrays';
import type { PresenceService } from '../presence/presence.service';
import { Candidate, claimSeat, Target } from './seat-plan';

export type { Target };

/**
 * The agents who may take a conversation, written once for routing, the queue's drain, transfers and the
 * system's reassignments: active agents online and AVAILABLE (presence lives outside the database), on duty
 * (a NORMAL schedule now unless ROUTING_REQUIRE_SHIFT is off, and not on approved leave), of the target's
 * department and skill, with a free seat; least loaded first, then the one assigned longest ago, then id.
 */
export class AgentPool {
  constructor(
    private readonly config: Pick<Config['service'], 'requireShift'>,
    private readonly presence: PresenceService,
    private readonly em: () => EntityManager,
  ) {}

  /** Active agents online and AVAILABLE right now. */
  async available(): Promise<string[]> {
    // Plain rows, not entities: routing reads this once per batch, and hydrating every agent each time is what
    // made 1,000 simultaneous requests CPU-bound.
    const agents = await this.em().execute<Array<{ id: string }>>(`SELECT id FROM users WHERE role = 'AGENT' AND active`);
    if (!agents.length) return [];
    const presence = await this.presence.read(agents.map((a) => a.id));
    return presence.filter((p) => p.online && p.status === 'AVAILABLE').map((p) => p.userId);
  }

  /** The eligible agents among `available` with a free seat, in routing's order. */
  async candidates(em: EntityManager, available: string[], target: Target): Promise<Candidate[]> {
    if (!available.length) return [];
    const rows = await em.execute<
      Array<{ id: string; display_name: string; active: number; max: number; last_assigned_at: Date | string | null }>
    >(
      `SELECT u.id, u.display_name, coalesce(a.active_chats, 0) AS active, u.max_concurrent_chats AS max, a.last_assigned_at
         FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id
        WHERE u.id = ANY(?::uuid[]) AND u.role = 'AGENT' AND u.active
          AND (?::uuid IS NULL OR u.department_id = ?::uuid)
          AND (?::text IS NULL OR ?::text = ANY(u.skills))
          AND coalesce(a.active_chats, 0) < u.max_concurrent_chats
          AND ${this.onDutySql()}
        ORDER BY 3, a.last_assigned_at NULLS FIRST, u.id`,
      [pgArray(available), target.departmentId, target.departmentId, target.skill, target.skill],
    );
    return rows.map((r) => ({
      id: r.id,
      displayName: r.display_name,
      active: r.active,
      max: r.max,
      lastAssignedAt: r.last_assigned_at === null ? null : new Date(r.last_assigned_at),
    }));
  }

  /** The first candidate whose seat PostgreSQL confirms (claimed for `em`'s transaction), or null. */
  async claimBest(em: EntityManager, available: string[], target: Target): Promise<Candidate | null> {
    for (const c of await this.candidates(em, available, target)) if (await claimSeat(em, c.id)) return c;
    return null;
  }

  /** On duty now (see the class); the agent's other conditions are the caller's. */
  async isOnDuty(em: EntityManager, agentId: string): Promise<boolean> {
    const [row] = await em.execute(`SELECT 1 FROM users u WHERE u.id = ? AND ${this.onDutySql()}`, [agentId]);
    return Boolean(row);
  }

  /** Agents of a department / with a skill counted step by step: matching, on duty, online (why a request waits). */
  async funnel(em: EntityManager, target: Target): Promise<{ matching: number; onDuty: number; online: number }> {
    const agents = await em.execute<Array<{ id: string; on_duty: boolean }>>(
      `SELECT u.id, (${this.onDutySql()}) AS on_duty FROM users u
        WHERE u.role = 'AGENT' AND u.active
          AND (?::uuid IS NULL OR u.department_id = ?::uuid)
          AND (?::text IS NULL OR ?::text = ANY(u.skills))`,
      [target.departmentId, target.departmentId, target.skill, target.skill],
    );
    const onDuty = agents.filter((a) => a.on_duty).map((a) => a.id);
    const online = onDuty.length ? (await this.presence.read(onDuty)).filter((p) => p.online).length : 0;
    return { matching: agents.length, onDuty: onDuty.length, online };
  }

  /** Chats the eligible agents among `available` of a department can hold at once (the wait estimate's denominator). */
  async capacity(em: EntityManager, departmentId: string | null, available: string[]): Promise<number> {
    if (!available.length) return 0;
    const [{ capacity }] = await em.execute<Array<{ capacity: number }>>(
      `SELECT coalesce(sum(u.max_concurrent_chats), 0)::int AS capacity FROM users u
        WHERE u.id = ANY(?::uuid[]) AND (?::uuid IS NULL OR u.department_id = ?::uuid) AND ${this.onDutySql()}`,
      [pgArray(available), departmentId, departmentId],
    );
    return capacity;
  }

  /** Those among `agentIds` who have a free seat (not claimed: the queue's sweep offers them its line). */
  async withRoom(em: EntityManager, agentIds: string[]): Promise<string[]> {
    const rows = await em.execute<Array<{ id: string }>>(
      `SELECT u.id FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id
        WHERE u.id = ANY(?::uuid[]) AND coalesce(a.active_chats, 0) < u.max_concurrent_chats`,
      [pgArray(agentIds)],
    );
    return rows.map((r) => r.id);
  }

  /** The on-duty rule as an SQL condition over `users u`. */
  private onDutySql(): string {
    const shift = this.config.requireShift
      ? `EXISTS (SELECT 1 FROM schedules s WHERE s.agent_id = u.id AND s.status = 'NORMAL' AND s.period @> now())`
      : 'true';
    return `${shift} AND NOT EXISTS (SELECT 1 FROM leave_requests l WHERE l.requester_id = u.id AND l.status = 'APPROVED' AND l.period @> now())`;
  }
}
