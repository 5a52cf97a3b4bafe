import Redis from 'ioredis';
import { DeactivateUserDocument, MeDocument, UpdateUserDocument } from '../generated/graphql';
import { describeWithRedis, eventually, GqlResult, startTestApp, TestApp, createTestDatabase } from '../support/harness';

const codes = (res: GqlResult<unknown>) => (res.errors ?? []).map((e) => String(e.extensions?.code));

/** Counts the SQL statements `app` sends to PostgreSQL while `work` runs. */
async function countingSql<T>(app: TestApp, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const connection = app.services.orm.em.getConnection();
  const spy = jest.spyOn(connection, 'execute');
  try {
    const result = await work();
    return { result, statements: spy.mock.calls.map((call) => String(call[0])) };
  } finally {
    spy.mockRestore();
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
    // The spy does see SQL: `me` itself reads the user.
    expect((await countingSql(app, () => app.data(MeDocument, undefined, agent.token))).statements.length).toBeGreaterThan(0);
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

  /** A third process, as a raw Redis subscriber, that acknowledges revocations only after `delayMs` (never if null). */
  async function slowProcess(delayMs: number | null): Promise<{ acked: string[]; close: () => Promise<void> }> {
    const sub = new Redis(process.env.TEST_REDIS_URL!);
    const pub = new Redis(process.env.TEST_REDIS_URL!);
    const acked: string[] = [];
    await sub.subscribe('SESSION_REVOKED');
    sub.on('message', (_channel, message) => {
      const { ack } = JSON.parse(message) as { ack: string };
      if (delayMs === null) return;
      setTimeout(() => {
        acked.push(ack);
        void pub.publish('SESSION_REVOKED_ACK', JSON.stringify({ ack }));
      }, delayMs);
    });
    return { acked, close: async () => void (await Promise.all([sub.quit(), pub.quit()])) };
  }

  it('the revoking mutation answers only once every process has acknowledged the revocation', async () => {
    const agent = await node1.createUser({ role: 'AGENT', departmentId });
    const adminToken = await node1.adminToken();
    const slow = await slowProcess(400);
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
    const silent = await slowProcess(null);
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
