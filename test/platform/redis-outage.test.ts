import Redis from 'ioredis';
import {
  HeartbeatDocument,
  LoginDocument,
  MessagesDocument,
  NotificationsDocument,
  OnConversationEventsDocument,
  OnNotificationDocument,
  PresenceDocument,
  RegisterCustomerDocument,
  RequestServiceDocument,
  SendMessageDocument,
  SendNotificationDocument,
  SetPresenceStatusDocument,
} from '../generated/graphql';
import { ADMIN_EMAIL, ADMIN_PASSWORD, eventually, GqlResult, startTestApp, subscribe, TestApp } from '../support/harness';
import { freePort } from '../support/ports';
import { RedisPresenceStore } from '../../src/modules/presence/presence.store';
import { untilLive, watchClient } from '../support/ws';
import { hasRedisServer, RedisServer } from '../support/redis-server';

// This suite stops and restarts Redis, so it runs its own redis-server (never the run's shared one).
const describeWithRedisServer = hasRedisServer || process.env.CI === 'true' ? describe : describe.skip;

const OUTAGE_MS = 6000;

/** No INTERNAL_SERVER_ERROR (nor any other error): the operation was served. */
function served<T>(res: GqlResult<T>): T {
  expect(res.errors ?? []).toEqual([]);
  return res.data as T;
}

const readyz = async (app: TestApp) => {
  const res = await fetch(app.url.replace('/graphql', '/readyz'));
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

/**
 * A server on its own redis-server, with an agent, a customer in conversation with them, an agent of
 * another process known online from Redis, and the agent's notifications followed live over graphql-ws
 * (proven live). Each describe block below builds its own, so the blocks hold in any order.
 */
async function setUp() {
  const redis = new RedisServer(await freePort());
  await redis.start();
  const app = await startTestApp({ env: { REDIS_URL: redis.url, ROUTING_REQUIRE_SHIFT: 'false' } });
  const admin = await app.adminToken();
  const dept = await app.createDepartment('Orders', 'order');
  const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 50 });
  await app.data(HeartbeatDocument, {}, agent.token);
  const customer = await app.createUser({ role: 'CUSTOMER' });
  // An agent of another process (of another department, so routing here never picks them): online in Redis,
  // and read once by this process before the outage.
  const sales = await app.createDepartment('Sales', 'sales');
  const remoteAgent = await app.createUser({ role: 'AGENT', departmentId: sales.id });
  const otherProcess = new Redis(redis.url);
  await new RedisPresenceStore(otherProcess).heartbeat(remoteAgent.id, 90_000);
  await otherProcess.quit();
  expect((await app.data(PresenceDocument, { agentIds: [remoteAgent.id] }, admin)).presence[0].online).toBe(true);
  const conversationId = (
    await app.data(RequestServiceDocument, { input: { topic: 'order', message: 'Where is my order?' } }, customer.token)
  ).requestService.conversation!.id;

  const client = app.ws(agent.token);
  const watch = watchClient(client);
  const notificationsSub = subscribe(client, OnNotificationDocument);
  await watch.connected();
  let lastWarmUpId = '';
  await untilLive(
    notificationsSub,
    async (attempt) => {
      lastWarmUpId = (await app.data(SendNotificationDocument, { userId: agent.id, title: `warm-up ${attempt}`, body: 'b' }, admin))
        .sendNotification.id;
      return lastWarmUpId;
    },
    (data) => data?.notifications?.id,
  );
  return { redis, app, admin, agent, customer, remoteAgent, conversationId, notificationsSub, lastWarmUpId };
}
type Fixture = Awaited<ReturnType<typeof setUp>>;

/** Stops Redis and waits until readiness has noticed; answers when it went down. */
async function takeDown({ redis, app }: Fixture): Promise<number> {
  await redis.stop();
  const downSince = Date.now();
  await eventually(async () => (await readyz(app)).body.redis === 'unavailable', 10_000, 'readiness noticing Redis is down');
  return downSince;
}

describeWithRedisServer('when Redis goes down and comes back', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    // Through it all, no promise was left rejected and unhandled.
    expect(unhandled).toEqual([]);
  });

  describe('while it is down', () => {
    let fx: Fixture;
    let app: TestApp, admin: string, agent: Fixture['agent'], customer: Fixture['customer'], remoteAgent: Fixture['remoteAgent'];
    let conversationId: string;
    beforeAll(async () => {
      fx = await setUp();
      ({ app, admin, agent, customer, remoteAgent, conversationId } = fx);
      await takeDown(fx);
    }, 60_000);
    afterAll(async () => {
      await fx?.app.stop();
      await fx?.redis.stop();
    }, 30_000);

    it('GET /readyz stays 200 (PostgreSQL serves) and says Redis is unavailable and what falls back', async () => {
      const { status, body } = await readyz(app);
      expect(status).toBe(200);
      expect(body).toEqual({ postgres: 'ok', redis: 'unavailable', degraded: expect.stringMatching(/rate limits.*presence/) });
    });

    it('signs in and registers customers', async () => {
      expect(served(await app.exec(LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).login.token).toBeTruthy();
      const email = `outage-${Date.now()}@test.local`;
      const registered = served(
        await app.exec(RegisterCustomerDocument, { input: { email, password: 'password-123', displayName: 'Outage' } }),
      );
      expect(registered.registerCustomer.user.email).toBe(email);
    });

    it('carries the chat both ways (sendMessage stores every message)', async () => {
      const a = served(
        await app.exec(
          SendMessageDocument,
          { input: { conversationId, content: 'Still there?', clientMessageId: 'outage-c-1' } },
          customer.token,
        ),
      );
      const b = served(
        await app.exec(
          SendMessageDocument,
          { input: { conversationId, content: 'Yes, checking', clientMessageId: 'outage-a-1' } },
          agent.token,
        ),
      );
      expect(b.sendMessage.seq).toBe(a.sendMessage.seq + 1);
      const stored = served(
        await app.exec(MessagesDocument, { conversationId, afterSeq: a.sendMessage.seq - 1, first: 10 }, customer.token),
      );
      expect(stored.messages.messages.map((m) => m.clientMessageId)).toEqual(['outage-c-1', 'outage-a-1']);
    });

    it('routes a new customer to the agent it knew was online (presence answers from this process)', async () => {
      served(await app.exec(HeartbeatDocument, {}, agent.token));
      served(await app.exec(SetPresenceStatusDocument, { status: 'AVAILABLE' }, agent.token));
      const presence = served(await app.exec(PresenceDocument, { agentIds: [agent.id] }, admin));
      expect(presence.presence[0]).toMatchObject({ agentId: agent.id, online: true, status: 'AVAILABLE' });
      const newcomer = await app.createUser({ role: 'CUSTOMER' });
      const res = served(await app.exec(RequestServiceDocument, { input: { topic: 'order', message: 'Refund please' } }, newcomer.token));
      expect(res.requestService.conversation?.agentId).toBe(agent.id);
    });

    it('keeps what Redis last said of agents this process has not seen (they do not all turn offline)', async () => {
      const presence = served(await app.exec(PresenceDocument, { agentIds: [remoteAgent.id] }, admin));
      expect(presence.presence[0]).toMatchObject({ agentId: remoteAgent.id, online: true });
    });

    it('still limits sign-in failures, counting in this process, with RATE_LIMITED rather than an internal error', async () => {
      const victim = await app.createUser({ role: 'CUSTOMER' });
      const codes: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await app.exec(LoginDocument, { email: victim.email, password: 'wrong-password' });
        codes.push(String(res.errors?.[0]?.extensions?.code));
      }
      expect(codes).not.toContain('INTERNAL_SERVER_ERROR');
      expect(codes[codes.length - 1]).toBe('RATE_LIMITED');
    });

    it('accepts a new WebSocket of an agent (presence of the connection recorded in this process)', async () => {
      const client = app.ws(agent.token);
      const watch = watchClient(client);
      const sub = subscribe(client, OnNotificationDocument);
      await watch.connected();
      sub.unsubscribe();
    });

    it('replays a conversation from PostgreSQL to a subscription started meanwhile', async () => {
      for (const [who, id] of [
        [customer, 'replay-c-1'],
        [agent, 'replay-a-1'],
      ] as const) {
        served(await app.exec(SendMessageDocument, { input: { conversationId, content: id, clientMessageId: id } }, who.token));
      }
      const sub = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId, afterSeq: 0 });
      const seen: Array<string | null | undefined> = [];
      while (!seen.includes('replay-a-1')) seen.push((await sub.next(5000)).data?.conversationEvents.message?.clientMessageId);
      expect(seen).toContain('replay-c-1');
      sub.unsubscribe();
    });

    it('stores notifications sent meanwhile', async () => {
      const sent: string[] = [];
      for (let i = 1; i <= 3; i++) {
        const res = served(await app.exec(SendNotificationDocument, { userId: agent.id, title: `during outage ${i}`, body: 'b' }, admin));
        sent.push(res.sendNotification.id);
      }
      const listed = served(await app.exec(NotificationsDocument, { first: 50 }, agent.token)).notifications.nodes.map((n) => n.id);
      expect(listed).toEqual(expect.arrayContaining(sent));
    });
  });

  describe('once it is back', () => {
    let fx: Fixture;
    let app: TestApp, admin: string, agent: Fixture['agent'], customer: Fixture['customer'];
    let conversationId: string, lastWarmUpId: string;
    let notificationsSub: Fixture['notificationsSub'];
    const sentDuringOutage: string[] = [];
    beforeAll(async () => {
      fx = await setUp();
      ({ app, admin, agent, customer, conversationId, notificationsSub, lastWarmUpId } = fx);
      const downSince = await takeDown(fx);
      // Notifications stored while it is down, for the live subscriber and for a later reconnect.
      for (let i = 1; i <= 3; i++) {
        const res = served(await app.exec(SendNotificationDocument, { userId: agent.id, title: `during outage ${i}`, body: 'b' }, admin));
        sentDuringOutage.push(res.sendNotification.id);
      }
      // An outage of several seconds, as operators see them: ioredis is then well into its reconnect back-off.
      await new Promise((r) => setTimeout(r, Math.max(0, downSince + OUTAGE_MS - Date.now())));
      await fx.redis.start();
      await eventually(async () => (await readyz(app)).body.redis === 'ok', 15_000, 'readiness seeing Redis again');
    }, 90_000);
    afterAll(async () => {
      await fx?.app.stop();
      await fx?.redis.stop();
    }, 30_000);

    it('GET /readyz answers as before the outage', async () => {
      expect(await readyz(app)).toEqual({ status: 200, body: { postgres: 'ok', redis: 'ok' } });
    });

    // One test, since both read the same live subscription in turn (tests run in a random order).
    it('the live subscriber receives the three notifications sent during the outage, once each and in order, then live ones again', async () => {
      const got: string[] = [];
      for (let i = 0; i < 3; i++) got.push((await notificationsSub.next(15_000)).data!.notifications.id);
      expect(got).toEqual(sentDuringOutage);

      const sent = served(await app.exec(SendNotificationDocument, { userId: agent.id, title: 'after the outage', body: 'b' }, admin))
        .sendNotification.id;
      // Nothing was delivered twice: the next event is the new one.
      expect((await notificationsSub.next(10_000)).data!.notifications.id).toBe(sent);
      sentDuringOutage.push(sent);
    });

    it('a client that reconnects with afterId gets every notification after it, then live ones', async () => {
      const client = app.ws(agent.token);
      const sub = subscribe(client, OnNotificationDocument, { afterId: lastWarmUpId });
      const replayed: string[] = [];
      for (let i = 0; i < sentDuringOutage.length; i++) replayed.push((await sub.next(10_000)).data!.notifications.id);
      expect(replayed).toEqual(sentDuringOutage);
      sub.unsubscribe();
    });

    it('afterId naming no notification of the viewer is BAD_USER_INPUT', async () => {
      for (const afterId of ['not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
        const sub = subscribe(app.ws(agent.token), OnNotificationDocument, { afterId });
        const event = await sub.next(10_000).catch(() => null);
        const errors = (sub.error as Array<{ extensions?: { code?: string } }> | null) ?? event?.errors ?? [];
        expect(errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    });

    it('rate limits and presence count in Redis again', async () => {
      served(await app.exec(HeartbeatDocument, {}, agent.token));
      served(
        await app.exec(SendMessageDocument, { input: { conversationId, content: 'Back', clientMessageId: 'after-c-1' } }, customer.token),
      );
      const keys = await app.services.redis!.keys('*');
      expect(keys).toEqual(expect.arrayContaining([`presence:hb:${agent.id}`, expect.stringMatching(/^rl:send-message/)]));
    });
  });

  describe('when it hangs (SIGSTOP: connections open, no answers)', () => {
    let fx: Fixture;
    let app: TestApp, agent: Fixture['agent'], customer: Fixture['customer'], conversationId: string;
    beforeAll(async () => {
      fx = await setUp();
      ({ app, agent, customer, conversationId } = fx);
      fx.redis.signal('SIGSTOP');
    }, 60_000);
    afterAll(async () => {
      fx?.redis.signal('SIGCONT');
      await fx?.app.stop();
      await fx?.redis.stop();
    }, 30_000);

    it('operations are served once Redis commands time out (REDIS_COMMAND_TIMEOUT_MS), and /readyz says so', async () => {
      served(
        await app.exec(SendMessageDocument, { input: { conversationId, content: 'Frozen?', clientMessageId: 'hung-c-1' } }, customer.token),
      );
      served(await app.exec(HeartbeatDocument, {}, agent.token));
      expect(served(await app.exec(LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).login.token).toBeTruthy();
      const { status, body } = await readyz(app);
      expect(status).toBe(200);
      expect(body.redis).toBe('unavailable');
    });
  });
});
