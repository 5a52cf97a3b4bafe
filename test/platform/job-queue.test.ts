import { Client as PgClient } from 'pg';
import { JobQueue } from '../../src/platform/jobs/job-queue';
import { createTestDatabase, eventually } from '../support/harness';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('job queue (pg-boss on the application database)', () => {
  let databaseUrl: string;
  let db: PgClient;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    db = new PgClient({ connectionString: databaseUrl });
    await db.connect();
  });
  afterAll(() => db?.end());

  /** pg-boss's state of a job: once `completed` or `failed` it is never fetched again. */
  const stateOf = async (id: string) =>
    (await db.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE id = $1`, [id])).rows[0]?.state;

  it('runs a queued job once, with its data', async () => {
    const queue = new JobQueue(databaseUrl, quiet, { pollingIntervalSeconds: 1 });
    const seen: Array<{ n: number }> = [];
    queue.define<{ n: number }>({ name: 'test-once' }, async (data) => void seen.push(data));
    await queue.start();
    try {
      const id = await queue.send('test-once', { n: 7 });
      await eventually(async () => (await stateOf(id)) === 'completed', 10_000, 'the job to complete');
      expect(seen).toEqual([{ n: 7 }]);
    } finally {
      await queue.stop();
    }
  });

  it('retries a failing job up to its limit and then stops', async () => {
    const queue = new JobQueue(databaseUrl, quiet, { pollingIntervalSeconds: 1 });
    const attempts: number[] = [];
    queue.define({ name: 'test-failing', retryLimit: 2, retryDelaySeconds: 1, retryBackoff: false }, async (_data, job) => {
      attempts.push(job.retryCount);
      throw new Error('receiver down');
    });
    await queue.start();
    try {
      const id = await queue.send('test-failing', {});
      await eventually(async () => (await stateOf(id)) === 'failed', 20_000, 'the job to fail for good');
      expect(attempts).toEqual([0, 1, 2]);
    } finally {
      await queue.stop();
    }
  });

  it('a job queued while no process works on it runs when one starts (it lives in PostgreSQL)', async () => {
    const sender = new JobQueue(databaseUrl, quiet, { pollingIntervalSeconds: 1 });
    sender.define({ name: 'test-later' }, async () => {
      throw new Error('this process does not run it');
    });
    await sender.start();
    // Due a little later and stopped at once: the worker of this process never gets it (a job due now would
    // wake it at once, and its failure would put the job off by the retry delay).
    const id = await sender.send('test-later', { step: 'after restart' }, { startAfter: new Date(Date.now() + 1000) });
    await sender.stop();
    expect(await stateOf(id)).toBe('created');

    const worker = new JobQueue(databaseUrl, quiet, { pollingIntervalSeconds: 1 });
    const seen: Array<{ id: string; data: unknown }> = [];
    worker.define({ name: 'test-later' }, async (data, job) => void seen.push({ id: job.id, data }));
    await worker.start();
    try {
      await eventually(async () => seen.length === 1, 10_000, 'the job to run in the new process');
      expect(seen[0]).toEqual({ id, data: { step: 'after restart' } });
    } finally {
      await worker.stop();
    }
  });

  it('refuses an unknown kind, a kind defined twice, and a kind defined after start', async () => {
    const queue = new JobQueue(databaseUrl, quiet, { pollingIntervalSeconds: 1 });
    queue.define({ name: 'test-known' }, async () => {});
    expect(() => queue.define({ name: 'test-known' }, async () => {})).toThrow(/defined twice/);
    await queue.start();
    try {
      await expect(queue.send('test-unknown', {})).rejects.toThrow(/unknown job kind/);
      expect(() => queue.define({ name: 'test-late' }, async () => {})).toThrow(/after the job queue started/);
    } finally {
      await queue.stop();
    }
  });
});

describe('job queue: processes starting together on a new database', () => {
  it('each creates the queues it needs without failing on the others (pg-boss can deadlock creating them)', async () => {
    const databaseUrl = await createTestDatabase();
    const queues = Array.from({ length: 4 }, () => {
      const q = new JobQueue(databaseUrl, quiet, { pollingIntervalSeconds: 1 });
      for (const name of ['race-a', 'race-b', 'race-c']) q.define({ name }, async () => {});
      return q;
    });
    try {
      await Promise.all(queues.map((q) => q.start()));
      await expect(queues[0].send('race-b', {})).resolves.toEqual(expect.any(String));
    } finally {
      await Promise.all(queues.map((q) => q.stop()));
    }
  });
});
