import { EntityManager, IsolationLevel } from '@mikro-orm/postgresql';
import { Conflict, ConflictReason } from '../errors';

export type AfterCommit = (fn: () => unknown) => void;

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock

/**
 * Runs `work` in one transaction. Callbacks registered with `afterCommit` run only once the commit has
 * succeeded (this is where events are published), so no subscriber sees what the database does not hold.
 * Serialization failures and deadlocks are retried a few times before surfacing as CONFLICT.
 */
export async function inTransaction<T>(
  em: EntityManager,
  work: (tx: EntityManager, afterCommit: AfterCommit) => Promise<T>,
  opts: { isolationLevel?: IsolationLevel; retries?: number } = {},
): Promise<T> {
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const callbacks: Array<() => unknown> = [];
    try {
      const result = await em.transactional((tx) => work(tx as EntityManager, (fn) => callbacks.push(fn)), {
        isolationLevel: opts.isolationLevel,
      });
      for (const fn of callbacks) await fn();
      return result;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && RETRYABLE.has(code)) {
        if (attempt < retries) {
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
          continue;
        }
        throw new Conflict(ConflictReason.CONCURRENT_CHANGE, 'The change collided with a concurrent one; try again');
      }
      throw err;
    }
  }
}

/** PostgreSQL's constraint name of a violated unique/exclusion/foreign-key constraint, if that is what `err` is. */
export function violatedConstraint(err: unknown): { code: string; constraint: string } | null {
  const e = err as { code?: string; constraint?: string };
  if (e && typeof e.code === 'string' && ['23505', '23P01', '23503', '23514'].includes(e.code) && e.constraint) {
    return { code: e.code, constraint: e.constraint };
  }
  return null;
}
