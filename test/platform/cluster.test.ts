import { EventEmitter } from 'node:events';
import type { Client as WsClient } from 'graphql-ws';
import Redis from 'ioredis';
import {
  CreateDepartmentDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  LoginDocument,
  MeDocument,
  NotificationsDocument,
  OnNotificationDocument,
  SendNotificationDocument,
  UpdateUserDocument,
} from '../generated/graphql';
import { createRedisPubSub } from '../../src/platform/realtime/pubsub';
import { Topics } from '../../src/platform/realtime/topics';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestDatabase, describeWithRedis, eventually, subscribe } from '../support/harness';
import { dataAt, execAt, serverProcessEnv, ServerProcess, startServerProcess, stopAll, wsClientAt } from '../support/processes';
import { metricValue, untilLive, watchClient, wsExec } from '../support/ws';

const FORBIDDEN = 4403;

/**
 * Two real server processes (`node dist/src/main.js`, built by `npm run build`) on one PostgreSQL database
 * and one Redis: what one process does reaches the sockets of the other.
 */
describeWithRedis('a cluster of two server processes', () => {
  let node1: ServerProcess | undefined;
  let node2: ServerProcess | undefined;
  const clients: WsClient[] = [];
  let admin: string;
  let departmentId: string;
  let env: () => Record<string, string>;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    env = () => serverProcessEnv(databaseUrl, { REDIS_URL: process.env.TEST_REDIS_URL! });
    // Both at once on an empty database: migrations and the first admin happen exactly once (advisory locks).
    [node1, node2] = await Promise.all([
      startServerProcess({ name: 'node-1', env: env() }),
      startServerProcess({ name: 'node-2', env: env() }),
    ]);

    admin = (await dataAt(node2!, LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).login.token;
    departmentId = (await dataAt(node2!, CreateDepartmentDocument, { input: { name: 'Sales', code: 'sales' } }, admin)).createDepartment.id;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await stopAll([node1, node2]);
  }, 60_000);

  const n1 = () => node1!;
  const n2 = () => node2!;

  /** Creates an agent through node 2 and signs them in through node 1 (one database, one JWT secret). */
  async function agent() {
    const email = `agent-${Math.random().toString(36).slice(2, 10)}@test.local`;
    const password = 'password-123';
    const { createUser } = await dataAt(
      n2(),
      CreateUserDocument,
      { input: { email, password, displayName: email, role: 'AGENT', departmentId } },
      admin,
    );
    const { login } = await dataAt(n1(), LoginDocument, { email, password });
    return { id: createUser.id, email, password, token: login.token };
  }

  /** A live notifications subscription of `token` on `node`, proven registered with warm-ups sent through node 2. */
  async function subscriber(node: ServerProcess, user: { id: string; token: string }) {
    const client = wsClientAt(node, user.token);
    clients.push(client);
    const watch = watchClient(client);
    const sub = subscribe(client, OnNotificationDocument);
    await watch.connected();
    await untilLive(
      sub,
      async (attempt) =>
        (await dataAt(n2(), SendNotificationDocument, { userId: user.id, title: `warm-up ${attempt}`, body: 'b' }, admin)).sendNotification
          .id,
      (data) => data?.notifications?.id,
    );
    return { client, watch, sub };
  }

  it('each process is ready, with PostgreSQL and Redis ok', async () => {
    for (const node of [n1(), n2()]) {
      const res = await fetch(`${node.baseUrl}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ postgres: 'ok', redis: 'ok' });
    }
  });

  it('a subscriber on process 1 receives a notification sent through process 2, stored before it arrives; nobody else does', async () => {
    const alice = await agent();
    const bob = await agent();
    const a = await subscriber(n1(), alice);
    const b = await subscriber(n2(), bob);

    const sent = (await dataAt(n2(), SendNotificationDocument, { userId: alice.id, title: 'From node 2', body: 'Hello across' }, admin))
      .sendNotification;
    const event = (await a.sub.next()).data!.notifications;
    expect(event).toEqual(sent);
    // Already in the database when it arrives, read through the process that pushed it.
    const listed = await dataAt(n1(), NotificationsDocument, { first: 1 }, alice.token);
    expect(listed.notifications.nodes[0]).toEqual(event);

    // Bob, on the other process, got nothing of Alice's: his next event is his own.
    const forBob = (await dataAt(n1(), SendNotificationDocument, { userId: bob.id, title: 'For Bob', body: 'b' }, admin)).sendNotification;
    expect((await b.sub.next()).data?.notifications.id).toBe(forBob.id);
    expect(b.sub.received).toEqual([]);
    expect(a.sub.received).toEqual([]);
  });

  it('a user deactivated through process 2 has their socket on process 1 closed with 4403 and their token refused by both', async () => {
    const victim = await agent();
    const bystander = await agent();
    const v = await subscriber(n1(), victim);
    const b = await subscriber(n1(), bystander);
    const gauge = async () => metricValue(await (await fetch(`${n1().baseUrl}/metrics`)).text(), 'shiftdesk_websocket_connections');
    const before = await gauge();

    await dataAt(n2(), DeactivateUserDocument, { id: victim.id }, admin);

    expect(await v.watch.closed(10_000)).toBe(FORBIDDEN);
    for (const node of [n1(), n2()]) {
      const res = await execAt(node, MeDocument, undefined, victim.token);
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const retry = wsClientAt(n1(), victim.token);
    clients.push(retry);
    const again = await wsExec(retry, MeDocument);
    expect(again.closeCode).toBe(FORBIDDEN);

    expect(b.watch.closes).toEqual([]);
    await eventually(async () => (await gauge()) === before - 1, 5000, 'the gauge on process 1 to count the closed socket down');
  });

  it('junk published on the revocation channel does not stop revocations arriving from the other process', async () => {
    const user = await agent();
    const s = await subscriber(n1(), user);
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    try {
      for (const junk of ['null', 'not json', '42', '{}']) await redis.publish(Topics.SESSION_REVOKED, junk);
    } finally {
      redis.disconnect();
    }
    await dataAt(n2(), DeactivateUserDocument, { id: user.id }, admin);
    expect(await s.watch.closed(10_000)).toBe(FORBIDDEN);
  });

  it('a role changed through process 1 closes the socket on process 2 with 4403', async () => {
    const user = await agent();
    const s = await subscriber(n2(), user);
    const updated = await dataAt(n1(), UpdateUserDocument, { id: user.id, input: { role: 'MANAGER' } }, admin);
    expect(updated.updateUser.role).toBe('MANAGER');
    expect(await s.watch.closed(10_000)).toBe(FORBIDDEN);
    expect((await execAt(n2(), MeDocument, undefined, user.token)).status).toBe(401);
  });

  it('a token whose session both processes have cached is refused by the other process as soon as a deactivation or role change returns', async () => {
    const [deactivated, promoted] = [await agent(), await agent()];
    for (const user of [deactivated, promoted]) {
      for (const node of [n1(), n2()]) expect((await dataAt(node, MeDocument, undefined, user.token)).me.id).toBe(user.id);
    }
    // No waiting for anything: the SESSION_REVOKED event reaches the other process before the next request does.
    await dataAt(n2(), DeactivateUserDocument, { id: deactivated.id }, admin);
    const afterDeactivation = await execAt(n1(), MeDocument, undefined, deactivated.token);
    expect(afterDeactivation.status).toBe(401);
    expect(afterDeactivation.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    await dataAt(n1(), UpdateUserDocument, { id: promoted.id, input: { role: 'MANAGER' } }, admin);
    const afterRoleChange = await execAt(n2(), MeDocument, undefined, promoted.token);
    expect(afterRoleChange.status).toBe(401);
    expect(afterRoleChange.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('SIGTERM drains each process: open sockets are closed and both exit with code 0', async () => {
    // Two processes of its own on the same database: the other tests keep theirs, whatever order they run in.
    const pair = await Promise.all([
      startServerProcess({ name: 'node-3', env: env() }),
      startServerProcess({ name: 'node-4', env: env() }),
    ]);
    try {
      const user = await agent();
      const s = await subscriber(pair[0], user); // a socket still open when the signal comes
      const results = await stopAll(pair);
      expect(results).toEqual([
        { code: 0, signal: null, killed: false },
        { code: 0, signal: null, killed: false },
      ]);
      expect(await s.watch.closed()).toBe(1001); // "going away", sent by the drain
    } finally {
      await stopAll(pair);
    }
  }, 90_000);
});

describe('the Redis pub/sub adapter', () => {
  it('reports a publish Redis refuses instead of leaving the rejection unhandled (which would end the process)', async () => {
    // Stand-ins for ioredis clients: the publisher fails every PUBLISH as ioredis does when Redis is down.
    const deadPublisher = Object.assign(new EventEmitter(), {
      publish: () => Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
    }) as unknown as Redis;
    const subscriber = new EventEmitter() as unknown as Redis;
    const failures: Array<{ topic: string; message: string }> = [];
    const pubsub = createRedisPubSub(deadPublisher, subscriber, {
      onPublishError: (err, topic) => failures.push({ topic, message: err.message }),
    });
    expect(() => pubsub.publish(Topics.NOTIFICATIONS, 'user-1', { id: 'n1' })).not.toThrow();
    await eventually(() => failures.length === 1, 2000, 'the publish failure to be reported');
    expect(failures).toEqual([{ topic: 'NOTIFICATIONS:user-1', message: expect.stringContaining('enableOfflineQueue') }]);
  });
});
