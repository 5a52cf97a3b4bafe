import { Client as PgClient } from 'pg';
import { DateTime } from 'luxon';
import {
  AdherenceDocument,
  HeartbeatDocument,
  OnPresenceChangedDocument,
  PresenceDocument,
  SetPresenceStatusDocument,
} from '../generated/graphql';
import { createTestDatabase, describeWithRedis, startTestApp, subscribe, TestApp } from '../support/harness';
import { untilLive } from '../support/ws';

/** Two processes (servers sharing Redis and PostgreSQL) write one agent's presence history. */
describeWithRedis('presence history across a cluster', () => {
  let one: TestApp;
  let two: TestApp;
  let db: PgClient;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    one = await startTestApp({ redis: true, databaseUrl });
    two = await startTestApp({ redis: true, databaseUrl });
    db = new PgClient({ connectionString: databaseUrl });
    await db.connect();
  }, 90_000);
  afterAll(async () => {
    await db.end();
    await Promise.all([one.stop(), two.stop()]);
  });

  it('keeps one open interval matching the shared live state, whichever process each change reaches', async () => {
    const dept = await one.createDepartment('售后服务', 'after_sales');
    const manager = await one.createUser({ role: 'MANAGER', departmentId: dept.id });
    const agent = await one.createUser({ role: 'AGENT', departmentId: dept.id });
    const watch = subscribe(two.ws(manager.token), OnPresenceChangedDocument, {});
    // Live once a warm-up colleague's coming online (through the other process) reaches it.
    await untilLive(
      watch,
      async () => {
        const colleague = await one.createUser({ role: 'AGENT', departmentId: dept.id });
        await one.data(HeartbeatDocument, {}, colleague.token);
        return colleague.id;
      },
      (data) => data?.presenceChanged.agentId,
    );
    const socket = one.ws(agent.token);
    const keepOpen = subscribe(socket, OnPresenceChangedDocument, {});
    await watch.next();

    const statuses = ['BUSY', 'AWAY', 'AVAILABLE'] as const;
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? one : two).data(SetPresenceStatusDocument, { status: statuses[i % 3] }, agent.token)),
    );
    await two.data(HeartbeatDocument, {}, agent.token);
    const open = async () =>
      (await db.query('SELECT state FROM presence_intervals WHERE agent_id = $1 AND ended_at IS NULL', [agent.id])).rows.map(
        (r) => r.state,
      );
    const live = (await two.data(PresenceDocument, { agentIds: [agent.id] }, manager.token)).presence[0];
    expect(live.online).toBe(true);
    expect(await open()).toEqual([live.status]);

    keepOpen.unsubscribe();
    await socket.dispose();
    // The heartbeat (90 s) keeps the agent online after the socket closes; the history says the same.
    expect((await one.data(PresenceDocument, { agentIds: [agent.id] }, manager.token)).presence[0].online).toBe(true);
    expect(await open()).toEqual([live.status]);

    const today = DateTime.now().setZone('Asia/Shanghai').toISODate()!;
    const timeline = (await two.data(AdherenceDocument, { from: today, to: today, agentId: agent.id }, manager.token)).adherence[0].days[0]
      .timeline;
    expect(timeline[timeline.length - 1].state).toBe(live.status);
    for (let i = 1; i < timeline.length; i++) expect(timeline[i].startsAt).toBe(timeline[i - 1].endsAt);
  });
});
