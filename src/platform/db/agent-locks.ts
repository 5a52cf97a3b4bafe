import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray } from './arrays';

/** Advisory lock class of "an agent's schedules and leave" (first key of pg_advisory_xact_lock(int, int)). */
export const AGENT_LOCK = 727320;

/**
 * Takes the per-agent lock of every agent in `agentIds`, held until the transaction ends. Every change to
 * an agent's schedules or approved leave (leave decisions, swap approval, assigning and removing schedules)
 * takes it before reading, so each of them sees what the one before it committed: no check-then-write gap.
 * The keys are taken in ascending order in one statement, so operations on several agents never deadlock.
 * Must run inside a transaction (em from `inTransaction`).
 */
export async function lockAgents(em: EntityManager, agentIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(agentIds)];
  if (!ids.length) return;
  // The ORDER BY in the subquery fixes the order in which the locks are taken (it keeps the subquery from being flattened).
  await em.execute(
    `SELECT count(pg_advisory_xact_lock(?, k))
       FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest(?::text[]) AS id ORDER BY k) AS keys`,
    [AGENT_LOCK, pgArray(ids)],
  );
}
