import { DateTime } from 'luxon';
import {
  AssignSchedulesDocument,
  CreateShiftDocument,
  HeartbeatDocument,
  OnPresenceChangedDocument,
  OnPresenceChangedSubscription,
  PresenceDocument,
  ScheduleBoardDocument,
  SetPresenceStatusDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };
type Change = OnPresenceChangedSubscription['presenceChanged'];

/** Waits for the next event of `agentId`, skipping other agents' events. */
async function nextFor(
  sub: ReturnType<typeof subscribe<OnPresenceChangedSubscription, unknown>>,
  agentId: string,
  timeoutMs = 5000,
): Promise<Change> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ev = await sub.next(Math.max(1, until - Date.now()));
    if (ev.errors) throw new Error(JSON.stringify(ev.errors));
    if (ev.data!.presenceChanged.agentId === agentId) return ev.data!.presenceChanged;
  }
}

describe('presence and the schedule board', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;
  let admin: string;
  let dept: { id: string };
  let other: { id: string };
  let manager: Person;
  let otherManager: Person;
  let a: Person;
  let b: Person;
  let c: Person;
  let d: Person;
  let stranger: Person;

  beforeAll(async () => {
    app = await startTestApp({ env: { PRESENCE_HEARTBEAT_TTL_SECONDS: '2', PRESENCE_SWEEP_SECONDS: '1' } });
    live = watchSubscriptions(app.services.pubsub);
    admin = await app.adminToken();
    dept = await app.createDepartment('售后服务', 'after_sales');
    other = await app.createDepartment('投诉建议', 'complaints');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    [a, b, c, d] = await Promise.all(
      [1, 2, 3, 4].map((i) => app.createUser({ role: 'AGENT', departmentId: dept.id, employeeCode: `KF10${i}` })),
    );
    stranger = await app.createUser({ role: 'AGENT', departmentId: other.id });
  });
  afterAll(() => app.stop());

  it('follows a WebSocket: connect, status change, disconnect — pushed to the department', async () => {
    // A department, manager and agent of its own: the board test connects and disconnects `a`, and that event may
    // still be on its way when this test starts (the order is random).
    const team = await app.createDepartment('实时客服', `live_${Date.now()}`);
    const lead = await app.createUser({ role: 'MANAGER', departmentId: team.id });
    const agent = await app.createUser({ role: 'AGENT', departmentId: team.id });
    const registered = live.fromNow();
    const watch = subscribe(app.ws(lead.token), OnPresenceChangedDocument, {});
    await registered.until(1);
    const agentSocket = app.ws(agent.token);
    const keepOpen = subscribe(agentSocket, OnPresenceChangedDocument, {});

    expect(await nextFor(watch, agent.id)).toMatchObject({ change: 'CONNECTED', online: true, status: 'AVAILABLE', departmentId: team.id });
    expect((await app.data(PresenceDocument, { agentIds: [agent.id] }, lead.token)).presence[0]).toMatchObject({ online: true });

    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, agent.token);
    expect(await nextFor(watch, agent.id)).toMatchObject({ change: 'STATUS_CHANGED', online: true, status: 'BUSY' });

    keepOpen.unsubscribe();
    await agentSocket.dispose();
    expect(await nextFor(watch, agent.id)).toMatchObject({ change: 'DISCONNECTED', online: false });
    expect((await app.data(PresenceDocument, { agentIds: [agent.id] }, admin)).presence[0]).toMatchObject({
      online: false,
      status: 'BUSY',
    });
  });

  it('setPresenceStatus flapping 100 times a second is RATE_LIMITED after RATE_SET_PRESENCE_PER_MINUTE (30), per agent', async () => {
    // A department of its own: the board and department tests count their agents.
    const own = await app.createDepartment('演出咨询', 'show_info');
    const [flapper, colleague] = await Promise.all([1, 2].map(() => app.createUser({ role: 'AGENT', departmentId: own.id })));
    const results = [];
    for (let i = 0; i < 100; i++) {
      results.push(app.exec(SetPresenceStatusDocument, { status: i % 2 ? 'BUSY' : 'AVAILABLE' }, flapper.token));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 100)); // the pace under test: 100 calls in a second
    }
    const answers = await Promise.all(results);
    expect(answers.filter((r) => !r.errors).length).toBe(30);
    const refused = answers.filter((r) => r.errors);
    expect(refused).toHaveLength(70);
    for (const r of refused) {
      expect(r.errors![0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
      const retry = r.errors![0].extensions!.retryAfterSeconds as number;
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(60);
    }
    // Another agent's changes are their own.
    expect((await app.exec(SetPresenceStatusDocument, { status: 'AVAILABLE' }, colleague.token)).errors).toBeUndefined();
  });

  it('keeps a heartbeat-only agent online for the TTL, then notices the expiry', async () => {
    // An agent of its own (of the other department, so the board test's rows stay as they are).
    const beating = await app.createUser({ role: 'AGENT', departmentId: other.id });
    const registered = live.fromNow();
    const watch = subscribe(app.ws(admin), OnPresenceChangedDocument, {});
    await registered.until(1);
    const beat = await app.data(HeartbeatDocument, {}, beating.token);
    expect(beat.heartbeat).toMatchObject({ agentId: beating.id, online: true });
    expect(await nextFor(watch, beating.id)).toMatchObject({ change: 'HEARTBEAT', online: true });
    const expired = await nextFor(watch, beating.id, 6000);
    expect(expired).toMatchObject({ change: 'EXPIRED', online: false });
  });

  it('shows each department only its own presence', async () => {
    const denied = await app.exec(PresenceDocument, { agentIds: [a.id] }, otherManager.token);
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const sub = subscribe(app.ws(stranger.token), OnPresenceChangedDocument, { departmentId: dept.id });
    const ev = await sub.next();
    expect(ev.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const customer = await app.createUser({ role: 'CUSTOMER' });
    expect((await app.exec(HeartbeatDocument, {}, customer.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.exec(SetPresenceStatusDocument, { status: 'AWAY' }, admin)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('computes live states on the board in the business time zone', async () => {
    const now = DateTime.now().setZone('Asia/Shanghai');
    const start = now.minus({ hours: 1 });
    const end = now.plus({ hours: 2 });
    const shift = (
      await app.data(
        CreateShiftDocument,
        { input: { name: 'Now', code: 'NOW', startTime: start.toFormat('HH:mm'), endTime: end.toFormat('HH:mm') } },
        admin,
      )
    ).createShift;
    const today = start.toISODate()!;
    await app.data(AssignSchedulesDocument, { input: { shiftId: shift.id, agentIds: [a.id, b.id], dates: [today] } }, admin);

    const aSocket = app.ws(a.token); // a: on shift, online
    subscribe(aSocket, OnPresenceChangedDocument, {});
    const cSocket = app.ws(c.token); // c: online, no shift
    subscribe(cSocket, OnPresenceChangedDocument, {});
    await eventually(
      async () => (await app.data(PresenceDocument, { agentIds: [a.id, c.id] }, admin)).presence.every((p) => p.online),
      5000,
      'a and c online',
    );

    const from = now.minus({ days: 1 }).toISODate()!;
    const to = now.plus({ days: 5 }).toISODate()!;
    const board = (await app.data(ScheduleBoardDocument, { from, to }, manager.token)).scheduleBoard;
    const state = Object.fromEntries(board.rows.map((r) => [r.agent.id, r.liveState]));
    expect(state).toEqual({ [a.id]: 'ON_DUTY_ONLINE', [b.id]: 'ABSENT', [c.id]: 'ONLINE_OFF_SHIFT', [d.id]: 'OFFLINE' });
    const aRow = board.rows.find((r) => r.agent.id === a.id)!;
    expect(aRow.days).toHaveLength(7);
    expect(aRow.days.find((x) => x.date === today)!.schedules).toEqual([
      expect.objectContaining({ shift: { code: 'NOW' }, status: 'NORMAL' }),
    ]);

    const forbidden = await app.exec(ScheduleBoardDocument, { from, to, departmentId: dept.id }, stranger.token);
    expect(forbidden.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const tooLong = await app.exec(ScheduleBoardDocument, { from: '2027-01-01', to: '2027-03-01' }, admin);
    expect(tooLong.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const all = (await app.data(ScheduleBoardDocument, { from, to }, admin)).scheduleBoard;
    expect(all.rows.map((r) => r.agent.id)).toEqual(expect.arrayContaining([a.id, stranger.id]));
    await aSocket.dispose();
    await cSocket.dispose();
  });
});
