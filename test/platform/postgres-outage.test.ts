import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { PrivatePostgres } from '../support/private-postgres';

const DB_TIMEOUT_MS = 1000;

/** This suite freezes PostgreSQL, so it runs its own cluster (never the run's shared one). */
describe('when PostgreSQL stalls and comes back', () => {
  let db: PrivatePostgres;
  let app: TestApp;
  let admin: string;
  let frozen = false;

  const departments = () => app.exec<{ departments: Array<{ id: string }> }, unknown>('{ departments { id name } }', undefined, admin);
  const readyz = async () => {
    const res = await fetch(app.url.replace('/graphql', '/readyz'), { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };

  beforeAll(async () => {
    db = await PrivatePostgres.start();
    app = await startTestApp({ databaseUrl: db.url, env: { DB_TIMEOUT_MS: String(DB_TIMEOUT_MS), SESSION_CACHE_SECONDS: '0' } });
    admin = await app.adminToken();
  }, 120_000);

  afterAll(async () => {
    if (frozen) db.signal('SIGCONT');
    await app?.stop();
    await db?.stop();
  }, 60_000);

  it('answers SERVICE_UNAVAILABLE within DB_TIMEOUT_MS, turns /readyz red, and recovers on its own', async () => {
    expect((await departments()).errors).toBeUndefined();
    expect((await readyz()).status).toBe(200);

    db.signal('SIGSTOP');
    frozen = true;

    // A query, a sign-in (reads the user) and a request whose token must be checked against the user's row:
    // each fails with the code, none hangs for the driver's defaults (or forever).
    for (const call of [
      () => departments(),
      () => app.exec('mutation { login(email: "admin@test.local", password: "admin-password-1") { token } }'),
      () => app.exec('{ me { id } }', undefined, admin),
    ]) {
      const started = Date.now();
      const res = await call();
      const took = Date.now() - started;
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(res.errors?.[0]?.message).toMatch(/database/i);
      // One statement's limit, and at most one more for a pooled connection's wait: never the 10 s of old.
      expect(took).toBeLessThan(3 * DB_TIMEOUT_MS + 1500);
    }
    const red = await readyz();
    expect(red.status).toBe(503);
    expect(red.body.postgres).toBe('unavailable');

    db.signal('SIGCONT');
    frozen = false;

    await eventually(async () => (await departments()).errors === undefined, 15_000, 'queries succeeding again');
    await eventually(async () => (await readyz()).status === 200, 15_000, '/readyz green again');
    const me = await app.exec<{ me: { id: string } }, unknown>('{ me { id } }', undefined, admin);
    expect(me.errors).toBeUndefined();
  }, 90_000);

  it('changes nothing half-way: a mutation cut off by the stall is not stored after recovery either', async () => {
    db.signal('SIGSTOP');
    frozen = true;
    const res = await app.exec('mutation { createDepartment(input: { name: "Stalled", code: "stalled" }) { id } }', undefined, admin);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    db.signal('SIGCONT');
    frozen = false;
    await eventually(async () => (await departments()).errors === undefined, 15_000, 'queries succeeding again');
    // The client was told it failed; whichever statement was cut off, its transaction did not commit.
    const list = await app.data<{ departments: Array<{ code: string }> }, unknown>('{ departments { code } }', undefined, admin);
    expect(list.departments.map((d) => d.code)).not.toContain('stalled');
  }, 90_000);

  it('limits graphql-ws alike: an operation answers SERVICE_UNAVAILABLE, a new connection closes 1013 (retried)', async () => {
    const ws = app.ws(admin);
    const live = subscribe(ws, 'subscription { notifications { id } }'); // keeps the connection open
    // A query's answer, or how the client was refused (graphql-ws's `error`: GraphQL errors or a close event).
    const overWs = async (client = ws) => {
      const sub = subscribe(client, '{ me { id email } }'); // reads the user's row (departments are cached)
      return sub.next(15_000).then(
        (answer) => ({ answer, refusal: null }),
        () => ({ answer: null, refusal: sub.error as { code?: number; reason?: string } }),
      );
    };
    expect((await overWs()).answer?.errors).toBeUndefined(); // connected and signed in before the stall

    db.signal('SIGSTOP');
    frozen = true;
    let started = Date.now();
    const onOpenConnection = await overWs();
    const took = Date.now() - started;
    started = Date.now();
    const onNewConnection = await overWs(app.ws(admin));
    const tookToConnect = Date.now() - started;
    db.signal('SIGCONT');
    frozen = false;

    expect(onOpenConnection.answer?.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(took).toBeLessThan(3 * DB_TIMEOUT_MS + 1500);
    expect(onNewConnection.refusal).toMatchObject({ code: 1013 });
    expect(tookToConnect).toBeLessThan(3 * DB_TIMEOUT_MS + 1500);
    expect(live.error).toBeNull();

    await eventually(async () => (await overWs()).answer?.errors === undefined, 15_000, 'graphql-ws queries succeeding again');
    await eventually(async () => (await overWs(app.ws(admin))).answer?.errors === undefined, 15_000, 'graphql-ws connecting again');
  }, 90_000);
});
