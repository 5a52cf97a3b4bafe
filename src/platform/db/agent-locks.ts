import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray } from './arrays';
import { AdvisoryLock } from './advisory-locks';

/** Advisory lock class of "one agent's schedules and leave" (first key of pg_advisory_xact_lock(int, int)). */
export const AGENT_LOCK = AdvisoryLock.AGENT;
/** Advisory lock over all agents: shared by every per-agent locker, exclusive for calls on many agents. */
export const ALL_AGENTS_LOCK = AdvisoryLock.ALL_AGENTS;
/**
 * Above this many agents a transaction takes ALL_AGENTS_LOCK exclusively instead of one lock per agent:
 * advisory locks live in PostgreSQL's shared lock table (max_locks_per_transaction × connections, 6,400 by
 * default), which a few concurrent 1,000-agent calls would otherwise exhaust ("out of shared memory").
 */
export const MAX_AGENT_LOCKS = 32;

/**
 * Takes the lock of every agent in `agentIds`, held until the transaction ends. Every change to an agent's
 * schedules or approved leave (leave decisions, swap approval, assigning and removing schedules) takes it
 * before reading, so each of them sees what the one before it committed: no check-then-write gap.
 * Deadlock-free: ALL_AGENTS_LOCK first, then the per-agent keys in ascending order in one statement.
 * Must run inside a transaction (an em from `inTransaction`).
 */
export async function lockAgents(em: EntityManager, agentIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(agentIds)];
  if (!ids.length) return;
  if (ids.length > MAX_AGENT_LOCKS) {
    await em.execute('SELECT pg_advisory_xact_lock(?)', [ALL_AGENTS_LOCK]);
    return;
  }
  await em.execute('SELECT pg_advisory_xact_lock_shared(?)', [ALL_AGENTS_LOCK]);
  // The ORDER BY fixes the order in which the keys are taken (and keeps the subquery from being flattened).
  await em.execute(
    `SELECT count(pg_advisory_xact_lock(?, k))
       FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest(?::text[]) AS id ORDER BY k) AS keys`,
    [AGENT_LOCK, pgArray(ids)],
  );
}
