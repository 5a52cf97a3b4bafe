import type { Client as WsClient } from 'graphql-ws';
import {
  CreateDepartmentDocument,
  CreateUserDocument,
  HeartbeatDocument,
  LoginDocument,
  OnPresenceChangedDocument,
  OnPresenceChangedSubscription,
  PresenceDocument,
} from '../generated/graphql';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestDatabase, describeWithRedis, eventually, subscribe } from '../support/harness';
import { dataAt, serverProcessEnv, ServerProcess, startServerProcess, stopAll, wsClientAt } from '../support/processes';

type Change = OnPresenceChangedSubscription['presenceChanged'];

/** Presence lives in Redis: every process sees the same agents online, and each expiry is announced once. */
describeWithRedis('presence across a cluster of server processes', () => {
  let node1: ServerProcess | undefined;
  let node2: ServerProcess | undefined;
  let env: () => Record<string, string>;
  let admin: string;
  let departmentId: string;
  const clients: WsClient[] = [];
  const events: Change[] = [];

  const agent = async (at: ServerProcess) => {
    const email = `p-${Math.random().toString(36).slice(2, 10)}@test.local`;
    const { createUser } = await dataAt(
      at,
      CreateUserDocument,
      { input: { email, password: 'password-123', displayName: email, role: 'AGENT', departmentId } },
      admin,
    );
    return { id: createUser.id, token: (await dataAt(at, LoginDocument, { email, password: 'password-123' })).login.token };
  };
  const eventsFor = (id: string, change: string) => events.filter((e) => e.agentId === id && e.change === change);

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    env = () =>
      serverProcessEnv(databaseUrl, {
        REDIS_URL: process.env.TEST_REDIS_URL!,
        PRESENCE_HEARTBEAT_TTL_SECONDS: '3',
        PRESENCE_SWEEP_SECONDS: '1',
      });
    [node1, node2] = await Promise.all([
      startServerProcess({ name: 'node-1', env: env() }),
      startServerProcess({ name: 'node-2', env: env() }),
    ]);
    admin = (await dataAt(node2!, LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).login.token;
    departmentId = (await dataAt(node2!, CreateDepartmentDocument, { input: { name: '售后服务', code: 'after_sales' } }, admin))
      .createDepartment.id;
    // One admin watches every department through node 2 for the whole suite.
    const watcher = wsClientAt(node2!, admin);
    clients.push(watcher);
    const sub = subscribe(watcher, OnPresenceChangedDocument, {});
    void (async () => {
      for (;;) {
        const ev = await sub.next(600_000).catch(() => null);
        if (!ev) return;
        if (ev.data) events.push(ev.data.presenceChanged);
      }
    })();
    // Live once it hears of someone: a new agent comes online through node 2 per attempt until the watcher hears it.
    const heard = async () => {
      const probe = await agent(node2!);
      await dataAt(node2!, HeartbeatDocument, {}, probe.token);
      return eventually(() => events.some((e) => e.agentId === probe.id), 500, 'the probe').then(
        () => true,
        () => false,
      );
    };
    for (let attempt = 1; !(await heard()); attempt++) if (attempt === 20) throw new Error('the presence watcher never went live');
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await stopAll([node1, node2]);
  }, 60_000);

  it('sees an agent connected to process 1 online from process 2', async () => {
    const a = await agent(node1!);
    const socket = wsClientAt(node1!, a.token);
    clients.push(socket);
    subscribe(socket, OnPresenceChangedDocument, {});
    await eventually(
      async () => (await dataAt(node2!, PresenceDocument, { agentIds: [a.id] }, admin)).presence[0].online,
      5000,
      'online on node 2',
    );
    await eventually(() => eventsFor(a.id, 'CONNECTED').length === 1, 5000, 'CONNECTED event');
  });

  it('announces a heartbeat expiry exactly once although both processes sweep', async () => {
    const b = await agent(node1!);
    await dataAt(node1!, HeartbeatDocument, {}, b.token);
    await eventually(() => eventsFor(b.id, 'EXPIRED').length === 1, 8000, 'EXPIRED event');
    // Later sweeps, shown by the expiry of a heartbeat made after it through each process, announce it no more.
    const later = [await agent(node1!), await agent(node2!)];
    await Promise.all(later.map((l, i) => dataAt([node1!, node2!][i], HeartbeatDocument, {}, l.token)));
    await eventually(() => later.every((l) => eventsFor(l.id, 'EXPIRED').length === 1), 10_000, 'the later expiries');
    expect(eventsFor(b.id, 'EXPIRED')).toHaveLength(1);
    expect((await dataAt(node1!, PresenceDocument, { agentIds: [b.id] }, admin)).presence[0].online).toBe(false);
  });

  it('lets the connections of a killed process lapse, and the survivor notices', async () => {
    // A third process of its own to kill: the other tests go on using the first two.
    const doomed = await startServerProcess({ name: 'node-3', env: env() });
    try {
      const c = await agent(doomed);
      const socket = wsClientAt(doomed, c.token);
      clients.push(socket);
      subscribe(socket, OnPresenceChangedDocument, {});
      await eventually(() => eventsFor(c.id, 'CONNECTED').length === 1, 5000, 'CONNECTED event');
      await doomed.stop({ signal: 'SIGKILL' });
      // No DISCONNECTED can come from a dead process: the lease runs out and node 2's sweep says EXPIRED.
      await eventually(() => eventsFor(c.id, 'EXPIRED').length === 1, 10_000, 'EXPIRED after SIGKILL');
      expect(eventsFor(c.id, 'DISCONNECTED')).toHaveLength(0);
      expect((await dataAt(node2!, PresenceDocument, { agentIds: [c.id] }, admin)).presence[0].online).toBe(false);
    } finally {
      await doomed.stop({ signal: 'SIGKILL' }); // a no-op after the kill above; the cleanup if the test failed before it
    }
  }, 90_000);
});
