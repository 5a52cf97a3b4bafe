import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray } from '../../platform/db/arrays';

/** An eligible agent with room, as routing reads them: their seats taken and their capacity. */
export interface Candidate {
  id: string;
  displayName: string;
  active: number;
  max: number;
  lastAssignedAt: Date | null;
}

/** Where a conversation may go: a department, a skill, both or neither. */
export type Target = { departmentId: string | null; skill: string | null };

/** Returned by SeatPlan.pick when the best agent already has a seat in this round: confirm the round first. */
export const ROUND_FULL = Symbol('round full');

/**
 * The seats of one routing batch. The candidates of each department / skill pool are read once (under the
 * routing lock) and their loads kept in memory; each pick is the least-loaded of them (ties: assigned longest
 * ago, then id), as a fresh read would answer. Picks are made in rounds, at most one seat per agent a round,
 * and PostgreSQL confirms a round's seats in one claimSeats statement (it locks the agents' rows and checks
 * their capacity). The database counts a seat when its conversation row is written (a trigger), so the
 * caller writes a round's conversations before the next round's claim: each claim sees every seat taken.
 */
export class SeatPlan {
  /** One object per agent, shared by every pool they are in, so a seat taken in one pool counts in all. */
  private readonly agents = new Map<string, Candidate>();
  private readonly pools = new Map<string, Candidate[]>();
  /** This round's picks, with each agent's state before it (to undo a round that PostgreSQL refused). */
  private round = new Map<string, { active: number; lastAssignedAt: Date | null }>();

  constructor(
    private readonly em: EntityManager,
    private readonly available: string[],
    private readonly read: (target: Target) => Promise<Candidate[]>,
  ) {}

  /** The agent who would take this request, null (nobody has room: it waits) or ROUND_FULL. */
  async pick(target: Target): Promise<string | null | typeof ROUND_FULL> {
    if (!this.available.length) return null;
    const best = leastLoaded(await this.pool(target));
    if (!best) return null;
    if (this.round.has(best.id)) return ROUND_FULL;
    this.round.set(best.id, { active: best.active, lastAssignedAt: best.lastAssignedAt });
    best.active += 1;
    best.lastAssignedAt = new Date(); // as the seat trigger records it
    return best.id;
  }

  /**
   * Claims this round's seats. True: every one is locked for this transaction. False: some agent had no
   * room after all (a transfer filled it outside routing); the round is undone, that agent counted full,
   * and the caller decides the round's requests again.
   */
  async confirm(): Promise<boolean> {
    const picked = [...this.round.keys()];
    const round = this.round;
    this.round = new Map();
    if (!picked.length) return true;
    const claimed = new Set(await claimSeats(this.em, picked));
    if (claimed.size === picked.length) return true;
    for (const [id, before] of round) {
      const agent = this.agents.get(id)!;
      Object.assign(agent, before);
      if (!claimed.has(id)) agent.active = agent.max;
    }
    return false;
  }

  private async pool(target: Target): Promise<Candidate[]> {
    const key = `${target.departmentId ?? ''}|${target.skill ?? ''}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = (await this.read(target)).map((c) => {
        const known = this.agents.get(c.id);
        if (known) return known;
        this.agents.set(c.id, c);
        return c;
      });
      this.pools.set(key, pool);
    }
    return pool;
  }
}

function leastLoaded(pool: Candidate[]): Candidate | null {
  let best: Candidate | null = null;
  for (const c of pool) {
    if (c.active >= c.max) continue;
    if (!best || before(c, best)) best = c;
  }
  return best;
}

/** Routing's order: fewer seats taken, then assigned longest ago (never first), then id. */
function before(a: Candidate, b: Candidate): boolean {
  if (a.active !== b.active) return a.active < b.active;
  const at = a.lastAssignedAt?.getTime() ?? -Infinity;
  const bt = b.lastAssignedAt?.getTime() ?? -Infinity;
  if (at !== bt) return at < bt;
  return a.id < b.id;
}

/**
 * The line as a routing batch found it, grouped by department and effective rank, and the places newcomers
 * take: behind everyone of their department whose effective rank is as good or better.
 */
export class QueueLine {
  private total: number;
  private last: Date | null;

  constructor(private readonly groups: Array<{ departmentId: string | null; rank: number; n: number; last: Date | null }>) {
    this.total = groups.reduce((sum, g) => sum + g.n, 0);
    this.last = groups.reduce<Date | null>((max, g) => (g.last && (!max || g.last > max) ? g.last : max), null);
  }

  /** A point to come back to (see restore). */
  mark(): { groups: number; total: number; last: Date | null } {
    return { groups: this.groups.length, total: this.total, last: this.last };
  }

  /** Forgets the newcomers who joined since `mark` (their round was decided again). */
  restore(m: { groups: number; total: number; last: Date | null }): void {
    this.groups.length = m.groups;
    this.total = m.total;
    this.last = m.last;
  }

  /** How many wait, in every department. */
  length(): number {
    return this.total;
  }

  /** A newcomer joins: their place, and a queued_at strictly after everyone's before them. */
  join(departmentId: string | null, rank: number, now: Date): { position: number; queuedAt: Date } {
    // The line is ordered by (rank, queued_at, id) and JavaScript dates have millisecond precision: two
    // requests in one millisecond would be ordered by their random ids, not by arrival.
    const queuedAt = this.last && now.getTime() <= this.last.getTime() ? new Date(this.last.getTime() + 1) : now;
    let ahead = 0;
    for (const g of this.groups) if (g.departmentId === departmentId && g.rank <= rank) ahead += g.n;
    this.groups.push({ departmentId, rank, n: 1, last: queuedAt });
    this.total += 1;
    this.last = queuedAt;
    return { position: ahead + 1, queuedAt };
  }
}

/**
 * The agents among `agentIds` who have a free seat; their seat rows stay locked until the transaction ends,
 * so nobody else fills those seats meanwhile. The caller then makes one conversation ACTIVE for each, and the
 * database counts the seat (a trigger on conversations keeps agent_states.active_chats equal to the agent's
 * ACTIVE conversations, migration 20261203000000): nothing here adds or subtracts, so nothing can drift.
 */
export async function claimSeats(em: EntityManager, agentIds: string[]): Promise<string[]> {
  // One statement (it runs under the routing lock, where every round trip counts): an agent's first claim
  // creates their row; a later one locks it, and returns it only while they are below their capacity.
  // Rows are taken in id order, as every claim takes them, so two claims never wait on each other in a cycle.
  const rows = await em.execute<Array<{ agent_id: string }>>(
    `INSERT INTO agent_states AS a (agent_id)
     SELECT u.id FROM users u WHERE u.id = ANY(?::uuid[]) AND u.max_concurrent_chats > 0 ORDER BY u.id
     ON CONFLICT (agent_id) DO UPDATE SET last_assigned_at = a.last_assigned_at
       WHERE a.active_chats < (SELECT u.max_concurrent_chats FROM users u WHERE u.id = a.agent_id)
     RETURNING a.agent_id`,
    [pgArray(agentIds)],
  );
  return rows.map((r) => r.agent_id);
}

/** claimSeats for one agent: true when they had a free seat, now held for this transaction. */
export async function claimSeat(em: EntityManager, agentId: string): Promise<boolean> {
  return (await claimSeats(em, [agentId])).length === 1;
}
