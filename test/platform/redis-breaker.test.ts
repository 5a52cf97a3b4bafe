import Redis from 'ioredis';
import { HeartbeatDocument, LoginDocument, SendNotificationDocument } from '../generated/graphql';
import { ADMIN_EMAIL, ADMIN_PASSWORD, eventually, GqlResult, startTestApp, TestApp } from '../support/harness';
import { freePort } from '../support/ports';
import { hasRedisServer, RedisServer } from '../support/redis-server';

const describeWithRedisServer = hasRedisServer || process.env.CI === 'true' ? describe : describe.skip;

/** No error at all: the operation was served (by the in-process fallbacks while Redis is out). */
function served<T>(res: GqlResult<T>): T {
  expect(res.errors ?? []).toEqual([]);
  return res.data as T;
}

async function metric(app: TestApp, name: string): Promise<number> {
  const text = await (await fetch(app.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

describeWithRedisServer('the Redis circuit breaker', () => {
  let redis: RedisServer;
  let app: TestApp;
  let admin: string;
  let agent: { id: string; token: string };
  let frozen = false;

  const heartbeatInRedis = async () => {
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    try {
      await probe.connect();
      await probe.del(`presence:hb:${agent.id}`);
      served(await app.exec(HeartbeatDocument, {}, agent.token));
      return (await probe.exists(`presence:hb:${agent.id}`)) === 1;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    app = await startTestApp({
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300', REDIS_BREAKER_FAILURES: '3', REDIS_BREAKER_HALF_OPEN_MS: '1000' },
    });
    admin = await app.adminToken();
    const dept = await app.createDepartment('Orders', 'order');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    expect(await heartbeatInRedis()).toBe(true);
    expect(await metric(app, 'shiftdesk_redis_circuit_open')).toBe(0);
  }, 60_000);

  afterAll(async () => {
    if (frozen) redis.signal('SIGCONT');
    await app?.stop();
    await redis?.stop();
  }, 30_000);

  it('opens while Redis hangs, so calls are refused at once and the fallbacks serve; closes on its own when it answers', async () => {
    redis.signal('SIGSTOP');
    frozen = true;
    const refusedBefore = await metric(app, 'shiftdesk_redis_calls_refused_total');
    for (let i = 0; i < 8; i++) served(await app.exec(HeartbeatDocument, {}, agent.token));
    served(await app.exec(SendNotificationDocument, { userId: agent.id, title: 'while hung', body: 'b' }, admin));
    served(await app.exec(LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }));
    expect(await metric(app, 'shiftdesk_redis_circuit_open')).toBe(1);
    // The calls after the third failure never went to Redis: refused by the breaker, not timed out.
    expect((await metric(app, 'shiftdesk_redis_calls_refused_total')) - refusedBefore).toBeGreaterThanOrEqual(5);

    redis.signal('SIGCONT');
    frozen = false;
    await eventually(heartbeatInRedis, 15_000, 'presence written to Redis again');
    expect(await metric(app, 'shiftdesk_redis_circuit_open')).toBe(0);
  }, 60_000);

  it('opens while Redis is stopped and closes once a restarted Redis answers', async () => {
    await redis.stop();
    for (let i = 0; i < 6; i++) served(await app.exec(HeartbeatDocument, {}, agent.token));
    served(await app.exec(LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }));
    expect(await metric(app, 'shiftdesk_redis_circuit_open')).toBe(1);

    await redis.start();
    await eventually(heartbeatInRedis, 20_000, 'presence written to the restarted Redis');
    expect(await metric(app, 'shiftdesk_redis_circuit_open')).toBe(0);
  }, 60_000);
});
