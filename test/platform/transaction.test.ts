import type { EntityManager } from '@mikro-orm/postgresql';
import { Department } from '../../src/modules/accounts/department.entity';
import { inTransaction, transactionally } from '../../src/platform/db/transaction';
import { startTestApp, TestApp } from '../support/harness';

/**
 * inTransaction runs MikroORM's transaction steps itself (without em.transactional's AsyncLocalStorage):
 * what em.transactional guaranteed must still hold.
 */
describe('transactions (platform/db/transaction.ts)', () => {
  let app: TestApp;
  let n = 0;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  const fork = () => app.services.orm.em.fork() as EntityManager;
  const code = () => `tx_${process.pid}_${++n}`;
  const stored = async (c: string) =>
    (await fork().execute<Array<{ name: string }>>('SELECT name FROM departments WHERE code = ?', [c]))[0]?.name;

  it('commits the work and its flush; the caller’s EntityManager then knows the entities as stored', async () => {
    const em = fork();
    const c = code();
    const made = await transactionally(em, async (tx) => tx.create(Department, { name: '售后', code: c }));
    expect(await stored(c)).toBe('售后');
    // Taken over by the caller: found in its identity map, and not dirty there (a flush writes nothing).
    expect(em.getUnitOfWork().getById(Department.name, made.id)).toBe(made);
    const queries = app.services.metrics.sqlQueries;
    const before = (await queries.get()).values[0]?.value ?? 0;
    await em.flush();
    expect((await queries.get()).values[0]?.value ?? 0).toBe(before);
  });

  it('a failing step rolls everything back, flushed or not, and the error reaches the caller', async () => {
    const c = code();
    const failure = new Error('step two failed');
    await expect(
      transactionally(fork(), async (tx) => {
        tx.create(Department, { name: '一', code: c });
        await tx.flush();
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await stored(c)).toBeUndefined();
  });

  it('nested inside a transaction it is a savepoint: the inner failure is undone alone', async () => {
    const outer = code();
    const inner = code();
    await transactionally(fork(), async (tx) => {
      tx.create(Department, { name: '外', code: outer });
      await tx.flush(); // (unflushed, it would be left out, as by em.transactional: checked on MikroORM 6.6.16)
      await transactionally(tx, async (nested) => {
        nested.create(Department, { name: '内', code: inner });
        await nested.flush();
        throw new Error('inner');
      }).catch(() => undefined);
    });
    expect(await stored(outer)).toBe('外');
    expect(await stored(inner)).toBeUndefined();
  });

  it('a unique violation in the flush at commit fails the call, keeps nothing and frees the connection', async () => {
    const c = code();
    await transactionally(fork(), async (tx) => void tx.create(Department, { name: '先', code: c }));
    // The flush inside commit() fails on the unique code: rolled back, and the pool's connection is free again.
    await expect(transactionally(fork(), async (tx) => void tx.create(Department, { name: '后', code: c }))).rejects.toThrow();
    expect(await stored(c)).toBe('先');
    const pool = app.services.orm.em.getDriver().getConnection().getKnex().client.pool as { numUsed(): number };
    expect(pool.numUsed()).toBe(0);
  });

  it('runs afterCommit callbacks only after a commit, and retries a serialization failure', async () => {
    const c = code();
    const ran: string[] = [];
    let attempts = 0;
    await inTransaction(fork(), async (tx, afterCommit) => {
      attempts++;
      afterCommit(() => ran.push(`after attempt ${attempts}`));
      tx.create(Department, { name: '重试', code: c });
      if (attempts === 1) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
    });
    expect(attempts).toBe(2);
    expect(ran).toEqual(['after attempt 2']);
    expect(await stored(c)).toBe('重试');
  });
});
