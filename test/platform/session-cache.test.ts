import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Role } from '../../src/platform/auth/roles';
import { PreparedStatements } from '../../src/platform/db/prepared';
import { DeactivateUserDocument, MeDocument, UpdateUserDocument } from '../generated/graphql';
import { describeWithRedis, eventually, GqlResult, startTestApp, TestApp, createTestDatabase } from '../support/harness';

const codes = (res: GqlResult<unknown>) => (res.errors ?? []).map((e) => String(e.extensions?.code));

/** The SQL statements `app` sends to PostgreSQL while `work` runs: the ORM's and the prepared ones. */
async function countingSql<T>(app: TestApp, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const connection = app.services.orm.em.getConnection();
  const orm = jest.spyOn(connection, 'execute');
  const prepared = jest.spyOn(PreparedStatements.prototype, 'run');
  try {
    const result = await work();
    return {
      result,
      statements: [...orm.mock.calls.map((call) => String(call[0])), ...prepared.mock.calls.map((call) => call[0].text)],
    };
  } finally {
    orm.mockRestore();
    prepared.mockRestore();
  }
}

describe('session cache: a valid token costs no SQL, a revoked one is refused at once', () => {
  let app: TestApp;
  let departmentId: string;

  beforeAll(async () => {
    app = await startTestApp();
    // The SQL spy below watches the connection every statement of the process goes through: no periodic sweep
    // (key rotation, alerts, dashboards …) may run into its window. Nothing here needs them.
    await app.services.scheduler.stop();
    departmentId = (await app.createDepartment('Sessions', 'sessions')).id;
  });
  afterAll(() => app.stop());

  it('a request with a valid token runs no SQL to authenticate once the user has been read', async () => {
    const agent = await app.createUser({ role: 'AGENT', departmentId });
    expect((await app.data<{ __typename: string }, unknown>('{ __typename }', undefined, agent.token)).__typename).toBe('Query');
    const { result, statements } = await countingSql(app, () =>
      Promise.all(Array.from({ length: 20 }, () => app.exec('{ __typename }', undefined, agent.token))),
    );
    expect(result.map(codes).flat()).toEqual([]);
    expect(statements).toEqual([]);
    // The spy does see SQL: `me` itself reads the user, in one statement (and the department, asked for, in another).
    const me = await countingSql(app, () => app.data(MeDocument, undefined, agent.token));
    expect(me.result.me).toMatchObject({ id: agent.id, role: 'AGENT', departmentId, department: { id: departmentId } });
    expect(me.statements.filter((sql) => /\bFROM "?users"?/i.test(sql))).toHaveLength(1);
    expect(me.statements).toHaveLength(2);
  });

  it('first requests of many users at once: each judged on their own row, never more than one read each', async () => {
    const em = app.services.orm.em.fork();
    const ids = Array.from({ length: 40 }, () => randomUUID());
    await em.execute(
      `INSERT INTO users (id, email, display_name, role, active, password_hash)
       VALUES ${ids.map(() => `(?, ?, 'burst', 'CUSTOMER', ?, 'x')`).join(', ')}`,
      ids.flatMap((id, i) => [id, `burst-${id}@test.local`, i !== 0]), // the first one is deactivated
    );
    const unknown = randomUUID(); // a well-signed token of nobody
    const tokens = await Promise.all(
      [...ids, unknown].map(async (userId) => (await app.services.tokens.issue({ userId, role: Role.CUSTOMER, version: 1 })).token),
    );
    const { result, statements } = await countingSql(app, () =>
      Promise.all(tokens.map((token) => app.exec<{ __typename: string }, unknown>('{ __typename }', undefined, token))),
    );
    expect(result.map((r) => r.status)).toEqual([401, ...ids.slice(1).map(() => 200), 401]);
    expect(result.slice(1, -1).every((r) => r.data?.__typename === 'Query')).toBe(true);
    const reads = statements.filter((sql) => /FROM users/i.test(sql));
    // Never more than one read per user; how many go together depends on how the requests arrive (next test).
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.length).toBeLessThanOrEqual(tokens.length);
  });

  it('misses are read together: one statement for those of one turn, the next for those that came meanwhile', async () => {
    const cache = app.services.sessions;
    const reads: string[][] = [];
    let release!: () => void;
    const firstRead = new Promise<void>((resolve) => (release = resolve));
    const read = async (ids: string[]) => {
      reads.push(ids);
      if (reads.length === 1) await firstRead; // the first read is slow: later misses queue meanwhile
      return ids
        .filter((id) => !id.endsWith('0'))
        .map((id) => ({ id, active: true, role: Role.CUSTOMER, departmentId: null, tokenVersion: 1 }));
    };
    const ids = Array.from({ length: 30 }, (_, i) => `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`);
    const first = ids.slice(0, 10).map((id) => cache.load(id, read));
    await new Promise((r) => setImmediate(r));
    const later = ids.slice(10).map((id) => cache.load(id, read));
    await new Promise((r) => setImmediate(r));
    expect(reads).toEqual([ids.slice(0, 10)]); // the later ones wait for the running read
    release();
    const users = await Promise.all([...first, ...later]);
    expect(reads).toEqual([ids.slice(0, 10), ids.slice(10)]);
    expect(users.map((u) => u?.id ?? null)).toEqual(ids.map((id) => (id.endsWith('0') ? null : id)));
    // Kept: asked again, they cost no read.
    expect((await cache.load(ids[1], read))?.id).toBe(ids[1]);
    expect(reads).toHaveLength(2);
    // A read that fails fails its own waiters only; the next read is made as usual.
    const failing = async () => {
      throw new Error('PostgreSQL is away');
    };
    await expect(cache.load('00000000-0000-4000-8000-000000000099', failing)).rejects.toThrow('PostgreSQL is away');
    expect((await cache.load('00000000-0000-4000-8000-000000000098', read))?.id).toBe('00000000-0000-4000-8000-000000000098');
  });

  it('a deactivated user is refused on the very next request, though their session was cached', async () => {
    const agent = await app.createUser({ role: 'AGENT', departmentId });
    expect((await app.data(MeDocument, undefined, agent.token)).me.active).toBe(true);
    await app.data(DeactivateUserDocument, { id: agent.id }, await app.adminToken());
    const res = await app.exec(MeDocument, undefined, agent.token);
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it('a role change refuses the old token at once; a new sign-in gets the new role', async () => {
    const agent = await app.createUser({ role: 'AGENT', departmentId });
    expect((await app.data(MeDocument, undefined, agent.token)).me.role).toBe('AGENT');
    await app.data(UpdateUserDocument, { id: agent.id, input: { role: 'MANAGER' } }, await app.adminToken());
    expect(codes(await app.exec(MeDocument, undefined, agent.token))).toEqual(['UNAUTHENTICATED']);
    const fresh = await app.login(agent.email, agent.password);
    expect((await app.data(MeDocument, undefined, fresh)).me.role).toBe('MANAGER');
  });

  it('a token that expires while its claims are cached is refused as expired', async () => {
    const agent = await app.createUser({ role: 'AGENT', departmentId });
    const cache = app.services.sessions;
    // The claims as the token service verified them, with an expiry that has just passed.
    const checked = await cache.verify(agent.token);
    if (!('claims' in checked)) throw new Error('the new token did not verify');
    checked.claims.expiresAt = new Date(Date.now() - 1000);
    const res = await app.exec(MeDocument, undefined, agent.token);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toMatch(/expired/i);
  });

  it('a change that published no revocation (made straight in SQL) is seen once SESSION_CACHE_SECONDS have passed', async () => {
    const short = await startTestApp({ env: { SESSION_CACHE_SECONDS: '1' } });
    try {
      const dept = (await short.createDepartment('Short', 'short')).id;
      const agent = await short.createUser({ role: 'AGENT', departmentId: dept });
      expect((await short.data(MeDocument, undefined, agent.token)).me.id).toBe(agent.id);
      await short.services.orm.em.getConnection().execute('UPDATE users SET active = false WHERE id = ?', [agent.id]);
      await eventually(
        async () => codes(await short.exec(MeDocument, undefined, agent.token)).join() === 'UNAUTHENTICATED',
        5000,
        'the cached session to expire',
      );
    } finally {
      await short.stop();
    }
  });
});

/**
 * Two servers (each its own session cache, its own Redis connections) on one PostgreSQL and one Redis: a
 * revocation made on one is in force on the other as soon as the mutation has answered.
 */
describeWithRedis('session cache across two servers over Redis', () => {
  let node1: TestApp;
  let node2: TestApp;
  let departmentId: string;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    node1 = await startTestApp({ redis: true, databaseUrl });
    node2 = await startTestApp({ redis: true, databaseUrl });
    // Node 2's SQL is counted below: its periodic jobs (the webhook outbox poll ran into the window once, in a CI
    // rehearsal) stay off. Revocations reach it through Redis, not through a job.
    await node2.services.scheduler.stop();
    departmentId = (await node1.createDepartment('Cluster sessions', 'cluster_sessions')).id;
  }, 90_000);
  afterAll(async () => {
    await node2?.stop();
    await node1?.stop();
  });

  it('a user deactivated through one server is refused by the other right after the mutation returns', async () => {
    const agent = await node1.createUser({ role: 'AGENT', departmentId });
    // Node 2 has the session cached: its next request with this token runs no SQL.
    expect((await node2.data(MeDocument, undefined, agent.token)).me.id).toBe(agent.id);
    const { statements } = await countingSql(node2, () => node2.exec('{ __typename }', undefined, agent.token));
    expect(statements).toEqual([]);

    await node1.data(DeactivateUserDocument, { id: agent.id }, await node1.adminToken());
    const res = await node2.exec('{ __typename }', undefined, agent.token);
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it('a password change through one server signs the user out on the other at once', async () => {
    const agent = await node1.createUser({ role: 'AGENT', departmentId });
    expect((await node2.data(MeDocument, undefined, agent.token)).me.id).toBe(agent.id);
    await node1.data(UpdateUserDocument, { id: agent.id, input: { password: 'another-password-1' } }, await node1.adminToken());
    expect(codes(await node2.exec(MeDocument, undefined, agent.token))).toEqual(['UNAUTHENTICATED']);
    const fresh = await node2.login(agent.email, 'another-password-1');
    expect((await node2.data(MeDocument, undefined, fresh)).me.id).toBe(agent.id);
  });

  /**
   * A third process, as a raw Redis subscriber, that acknowledges the revocation of `userId` only after
   * `delayMs` (never if null). Redis is shared by every suite, so other suites' revocations reach it too:
   * it acknowledges those at once, as a healthy process would, and none of them is counted in `acked`.
   */
  async function slowProcess(userId: string, delayMs: number | null): Promise<{ acked: string[]; close: () => Promise<void> }> {
    const sub = new Redis(process.env.TEST_REDIS_URL!);
    const pub = new Redis(process.env.TEST_REDIS_URL!);
    const acked: string[] = [];
    const pending = new Set<NodeJS.Timeout>();
    let closed = false;
    const acknowledge = (ack: string): void => {
      if (!closed) void pub.publish('SESSION_REVOKED_ACK', JSON.stringify({ ack }));
    };
    await sub.subscribe('SESSION_REVOKED');
    sub.on('message', (_channel, message) => {
      const event = JSON.parse(message) as { userId: string; ack: string };
      if (event.userId !== userId) return acknowledge(event.ack);
      if (delayMs === null) return;
      const timer = setTimeout(() => {
        pending.delete(timer);
        acked.push(event.ack);
        acknowledge(event.ack);
      }, delayMs);
      pending.add(timer);
    });
    const close = async (): Promise<void> => {
      closed = true;
      for (const timer of pending) clearTimeout(timer);
      await Promise.all([sub.quit(), pub.quit()]);
    };
    return { acked, close };
  }

  it('the revoking mutation answers only once every process has acknowledged the revocation', async () => {
    const agent = await node1.createUser({ role: 'AGENT', departmentId });
    const adminToken = await node1.adminToken();
    const slow = await slowProcess(agent.id, 400);
    try {
      const started = Date.now();
      await node1.data(DeactivateUserDocument, { id: agent.id }, adminToken);
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
      expect(slow.acked).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it('a process that never acknowledges delays the mutation by the acknowledgement timeout, not for ever', async () => {
    const agent = await node1.createUser({ role: 'AGENT', departmentId });
    const adminToken = await node1.adminToken();
    const silent = await slowProcess(agent.id, null);
    try {
      const started = Date.now();
      const res = await node1.exec(DeactivateUserDocument, { id: agent.id }, adminToken);
      expect(codes(res)).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(Date.now() - started).toBeLessThan(10_000);
      // The change is committed and in force on both servers.
      expect(codes(await node2.exec(MeDocument, undefined, agent.token))).toEqual(['UNAUTHENTICATED']);
    } finally {
      await silent.close();
    }
  });
});
