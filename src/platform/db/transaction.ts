import { ChangeSetType, EntityManager, helper, IsolationLevel } from '@mikro-orm/postgresql';
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
      const result = await transactionally(em, (tx) => work(tx, (fn) => callbacks.push(fn)), opts.isolationLevel);
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

/**
 * MikroORM's `em.transactional`, without the AsyncLocalStorage it runs the callback in (its TransactionContext,
 * which lets code reach the transaction through the global EntityManager). ShiftDesk hands the transaction's
 * EntityManager down explicitly and never uses the global one, and a single AsyncLocalStorage in use makes Node
 * run a hook for every promise the process makes (~5 % of its CPU, ~3 KiB per connection; docs/benchmarks.md).
 * The same steps as MikroORM's: a fork that shares the caller's entities, BEGIN (a savepoint when the caller is
 * in a transaction already), the work, flush, COMMIT; then the caller's EntityManager takes the fork's entities
 * as they now are in the database, and forgets those the transaction deleted.
 */
export async function transactionally<T>(
  em: EntityManager,
  work: (tx: EntityManager) => Promise<T>,
  isolationLevel?: IsolationLevel,
): Promise<T> {
  const tx = em.fork({ clear: false, cloneEventManager: true });
  const adopt = !em.global;
  if (adopt) forgetDeletedIn(em, tx);
  await tx.begin({ isolationLevel, ctx: em.getTransactionContext() });
  try {
    const result = await work(tx);
    await tx.commit(); // flushes first
    if (adopt) adoptEntities(em, tx);
    return result;
  } catch (err) {
    // A failed statement or flush leaves the transaction open; a failed COMMIT has ended it.
    const open = tx.getTransactionContext<{ isCompleted(): boolean }>();
    if (open && !open.isCompleted()) await tx.rollback().catch(() => undefined);
    throw err;
  }
}

function forgetDeletedIn(parent: EntityManager, tx: EntityManager): void {
  tx.getEventManager().registerSubscriber({
    afterFlush: ({ uow }) => {
      for (const cs of uow.getChangeSets()) {
        if (cs.type === ChangeSetType.DELETE || cs.type === ChangeSetType.DELETE_EARLY)
          parent.getUnitOfWork(false).unsetIdentity(cs.entity);
      }
    },
  });
}

/** The transaction's entities into the caller's identity map (MikroORM's mergeEntitiesToParent). */
function adoptEntities(parent: EntityManager, tx: EntityManager): void {
  const parentUow = parent.getUnitOfWork(false);
  for (const entity of tx.getUnitOfWork(false).getIdentityMap()) {
    const wrapped = helper(entity);
    const known = parentUow.getById(wrapped.__meta.className, wrapped.getPrimaryKey()!, parent.schema, true);
    if (known && known !== entity) {
      const knownWrapped = helper(known);
      // A fully loaded entity is not replaced by a mere reference.
      if (!wrapped.__initialized && knownWrapped.__initialized) continue;
      knownWrapped.__data = wrapped.__data;
      knownWrapped.__originalEntityData = wrapped.__originalEntityData;
    } else parentUow.merge(entity, new Set([entity]));
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
