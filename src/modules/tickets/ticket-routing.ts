import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray } from '../../platform/db/arrays';
import { AdvisoryLock } from '../../platform/db/advisory-locks';

/**
 * Auto-assignment of tickets: which agent of a department gets a ticket. Every assignment to an agent of
 * department D (automatic or by hand, on any process) holds the advisory lock (TICKET_ROUTING_LOCK, D)
 * until its transaction ends, so the load counted under the lock is the load committed: two tickets
 * never push an agent over the limit. Departments do not wait for each other.
 */
export const TICKET_ROUTING_LOCK = AdvisoryLock.TICKET_ROUTING;
/** One SLA sweep at a time in the whole cluster. */
export const TICKET_SWEEP_LOCK = AdvisoryLock.TICKET_SLA_SWEEP;

export interface AgentCandidate {
  id: string;
  /** Open tickets held now (ASSIGNED, IN_PROGRESS, REOPENED). */
  open: number;
  /** How many of the ticket's category and tags are among the agent's skills. */
  skillMatches: number;
  /** Tickets of this category the agent resolved, and how many of those were successes. */
  resolved: number;
  succeeded: number;
  /** When the agent last got a ticket; null: never. */
  lastAssignedAt: Date | null;
}

/**
 * Past success in a category, smoothed (Laplace: (successes + 1) / (resolved + 2)) so that an agent with no
 * history counts as 0.5 rather than 0 or 1. A success is a ticket resolved within its resolution due time
 * and not rated below 4.
 */
export function successRate(c: Pick<AgentCandidate, 'resolved' | 'succeeded'>): number {
  return (c.succeeded + 1) / (c.resolved + 2);
}

/**
 * The agent a ticket goes to: below the limit; the fewest open tickets; among equals, the most matching
 * skills; then the best past success rate in the category; then the one who waited longest for a ticket
 * (never assigned first); then the id, so the choice is deterministic.
 */
export function chooseAgent(candidates: readonly AgentCandidate[], limit: number): AgentCandidate | null {
  const eligible = candidates.filter((c) => c.open < limit);
  eligible.sort(
    (a, b) =>
      a.open - b.open ||
      b.skillMatches - a.skillMatches ||
      successRate(b) - successRate(a) ||
      (a.lastAssignedAt?.getTime() ?? -Infinity) - (b.lastAssignedAt?.getTime() ?? -Infinity) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return eligible[0] ?? null;
}

/** Takes the department's assignment lock for the rest of the transaction (null: agents of no department). */
export async function lockAssignments(em: EntityManager, departmentId: string | null): Promise<void> {
  await em.execute('SELECT pg_advisory_xact_lock(?, hashtext(?))', [TICKET_ROUTING_LOCK, departmentId ?? '']);
}

/** The active agents of a department with their load, skill matches and history in `category`. */
export async function candidatesFor(
  em: EntityManager,
  departmentId: string,
  category: string,
  tags: readonly string[],
): Promise<AgentCandidate[]> {
  const wanted = [category, ...tags].map((s) => s.toLowerCase());
  const rows = await em.execute<
    Array<{
      id: string;
      open: string | number;
      skill_matches: string | number;
      resolved: string | number;
      succeeded: string | number;
      last_assigned_at: Date | null;
    }>
  >(
    `SELECT u.id,
            (SELECT count(*) FROM tickets t WHERE t.assignee_id = u.id AND t.status IN ('ASSIGNED', 'IN_PROGRESS', 'REOPENED')) AS open,
            (SELECT count(DISTINCT lower(s)) FROM unnest(u.skills) s WHERE lower(s) = ANY(?::text[])) AS skill_matches,
            h.resolved, h.succeeded,
            (SELECT max(t.assigned_at) FROM tickets t WHERE t.assignee_id = u.id) AS last_assigned_at
       FROM users u
       CROSS JOIN LATERAL (
         SELECT count(*) AS resolved,
                count(*) FILTER (WHERE t.resolved_at <= t.resolution_due_at AND coalesce(t.rating, 5) >= 4) AS succeeded
           FROM tickets t
          WHERE t.assignee_id = u.id AND t.category = ? AND t.resolved_at IS NOT NULL) h
      WHERE u.role = 'AGENT' AND u.active AND u.department_id = ?`,
    [pgArray(wanted), category, departmentId],
  );
  return rows.map((r) => ({
    id: r.id,
    open: Number(r.open),
    skillMatches: Number(r.skill_matches),
    resolved: Number(r.resolved),
    succeeded: Number(r.succeeded),
    lastAssignedAt: r.last_assigned_at ? new Date(r.last_assigned_at) : null,
  }));
}

/** Open tickets an agent holds now. */
export async function openLoad(em: EntityManager, agentId: string): Promise<number> {
  const [row] = await em.execute<Array<{ n: string }>>(
    `SELECT count(*) AS n FROM tickets WHERE assignee_id = ? AND status IN ('ASSIGNED', 'IN_PROGRESS', 'REOPENED')`,
    [agentId],
  );
  return Number(row.n);
}
