import { Client as PgClient } from 'pg';
import { DateTime } from 'luxon';
import {
  AdherenceDocument,
  CreateShiftDocument,
  HeartbeatDocument,
  OnPresenceChangedDocument,
  PresenceDocument,
  ScheduleBoardDocument,
  SetPresenceStatusDocument,
} from '../generated/graphql';
import { PresenceHistory } from '../../src/modules/presence/presence-history';
import { startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };
const TZ = 'Asia/Shanghai';
/** The next event of `agentId` with `change` (others skipped); generous for a loaded machine, never a speed check. */
async function nextOf(
  sub: { next(ms?: number): Promise<{ data?: { presenceChanged: { agentId: string; change: string } } | null }> },
  agentId: string,
  change: string,
) {
  const until = Date.now() + 20_000;
  for (;;) {
    const e = await sub.next(Math.max(1, until - Date.now()));
    if (e.data?.presenceChanged.agentId === agentId && e.data.presenceChanged.change === change) return;
  }
}

const at = (date: string, time: string) => DateTime.fromISO(`${date}T${time}`, { zone: TZ }).toJSDate();

describe('presence history and adherence', () => {
  let app: TestApp;
  let db: PgClient;
  let admin: string;
  let dept: { id: string };
  let other: { id: string };
  let manager: Person;
  let otherManager: Person;
  let agent: Person;
  let colleague: Person;
  let shiftId: string;

  const openIntervals = async (agentId: string) =>
    (await db.query('SELECT state FROM presence_intervals WHERE agent_id = $1 AND ended_at IS NULL', [agentId])).rows.map(
      (r) => r.state as string,
    );

  beforeAll(async () => {
    app = await startTestApp({ env: { ADHERENCE_GRACE_MINUTES: '5' } });
    db = new PgClient({ connectionString: app.databaseUrl });
    await db.connect();
    admin = await app.adminToken();
    dept = await app.createDepartment('售后服务', 'after_sales');
    other = await app.createDepartment('投诉建议', 'complaints');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, employeeCode: 'KF001' });
    colleague = await app.createUser({ role: 'AGENT', departmentId: dept.id, employeeCode: 'KF002' });
    shiftId = (
      await app.data(
        CreateShiftDocument,
        { input: { name: '白班', code: 'DAY', startTime: '09:00', endTime: '18:00', departmentId: dept.id } },
        admin,
      )
    ).createShift.id;
  });
  afterAll(async () => {
    await db.end();
    await app.stop();
  });

  it('records every transition as intervals, and the open one is the state the live presence and board show', async () => {
    // An agent of its own: the whole timeline is asserted, so no other test may have moved them.
    const colleague = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    const today = DateTime.now().setZone(TZ).toISODate()!;
    const subscriptions = watchSubscriptions(app.services.pubsub);
    const watch = subscribe(app.ws(manager.token), OnPresenceChangedDocument, {});
    await subscriptions.until(1);
    const socket = app.ws(colleague.token);
    const keepOpen = subscribe(socket, OnPresenceChangedDocument, {});
    await nextOf(watch, colleague.id, 'CONNECTED');
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, colleague.token);
    await nextOf(watch, colleague.id, 'STATUS_CHANGED');

    const timeline = async () =>
      (await app.data(AdherenceDocument, { from: today, to: today }, colleague.token)).adherence[0].days[0].timeline.map((s) => s.state);
    expect(await timeline()).toEqual(['AVAILABLE', 'BUSY']);
    const live = (await app.data(PresenceDocument, { agentIds: [colleague.id] }, manager.token)).presence[0];
    expect(live).toMatchObject({ online: true, status: 'BUSY' });
    const board = (await app.data(ScheduleBoardDocument, { from: today, to: today }, manager.token)).scheduleBoard.rows.find(
      (r) => r.agent.id === colleague.id,
    )!;
    expect(board.presence).toMatchObject({ online: true, status: 'BUSY' });
    expect(await openIntervals(colleague.id)).toEqual(['BUSY']);

    keepOpen.unsubscribe();
    await socket.dispose();
    await nextOf(watch, colleague.id, 'DISCONNECTED');
    expect(await timeline()).toEqual(['AVAILABLE', 'BUSY', 'OFFLINE']);
    expect((await app.data(PresenceDocument, { agentIds: [colleague.id] }, manager.token)).presence[0].online).toBe(false);
    expect(await openIntervals(colleague.id)).toEqual(['OFFLINE']);
  });

  it('ends concurrent status changes with one open interval, the live state, and no overlap', async () => {
    await app.data(HeartbeatDocument, {}, agent.token);
    const statuses = ['AVAILABLE', 'BUSY', 'AWAY'] as const;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => app.exec(SetPresenceStatusDocument, { status: statuses[i % 3] }, agent.token)),
    );
    expect(results.every((r) => !r.errors)).toBe(true);
    const live = (await app.data(PresenceDocument, { agentIds: [agent.id] }, admin)).presence[0];
    expect(live.online).toBe(true);
    expect(await openIntervals(agent.id)).toEqual([live.status]);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM presence_intervals a JOIN presence_intervals b
         ON a.agent_id = b.agent_id AND a.id < b.id AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)
       WHERE a.agent_id = $1`,
      [agent.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('keeps one open interval when several writers (processes) record at once', async () => {
    const colleague = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    const history = new PresenceHistory(() => app.services.orm.em.fork(), app.services.logger);
    const states = ['AVAILABLE', 'BUSY', 'OFFLINE', 'AWAY'] as const;
    let latest: (typeof states)[number] = 'AVAILABLE';
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        history.record(
          colleague.id,
          async () => {
            latest = states[i % 4];
            return latest;
          },
          new Date(),
        ),
      ),
    );
    // The last writer read the state last: that is what stays open.
    expect(await openIntervals(colleague.id)).toEqual([latest]);
  });

  describe('adherence against schedules', () => {
    const day1 = '2026-11-02';
    const day2 = '2026-11-03';
    let target: Person;

    beforeAll(async () => {
      target = await app.createUser({ role: 'AGENT', departmentId: dept.id, employeeCode: 'KF003' });
      for (const date of [day1, day2]) {
        await db.query(
          `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)`,
          [target.id, shiftId, date, at(date, '09:00'), at(date, '18:00')],
        );
      }
      // Day 1: online 12 min late, BUSY from noon, gone at 17:30, back for an hour in the evening. Day 2: never.
      const rows: Array<[string, Date, Date | null]> = [
        ['AVAILABLE', at(day1, '09:12'), at(day1, '12:00')],
        ['BUSY', at(day1, '12:00'), at(day1, '17:30')],
        ['OFFLINE', at(day1, '17:30'), at(day1, '19:00')],
        ['AVAILABLE', at(day1, '19:00'), at(day1, '20:00')],
        ['OFFLINE', at(day1, '20:00'), null],
      ];
      for (const [state, from, to] of rows) {
        await db.query('INSERT INTO presence_intervals (agent_id, state, started_at, ended_at) VALUES ($1, $2, $3, $4)', [
          target.id,
          state,
          from,
          to,
        ]);
      }
    });

    it('reports scheduled time, online in and outside it, late starts, early leaves, absences and a day timeline', async () => {
      const [a] = (await app.data(AdherenceDocument, { from: day1, to: day2, agentId: target.id }, manager.token)).adherence;
      expect(a).toMatchObject({
        agentId: target.id,
        agent: { id: target.id },
        scheduledSeconds: 18 * 3600,
        onlineInScheduleSeconds: 8 * 3600 + 18 * 60,
        onlineOutsideScheduleSeconds: 3600,
        lateStarts: 1,
        earlyLeaves: 1,
        absences: 1,
      });
      expect(a.adherence).toBeCloseTo((8 * 3600 + 18 * 60) / (18 * 3600), 3);
      const [d1, d2] = a.days;
      expect(d1).toMatchObject({
        date: day1,
        scheduledSeconds: 9 * 3600,
        onlineInScheduleSeconds: 8 * 3600 + 18 * 60,
        onlineOutsideScheduleSeconds: 3600,
      });
      expect(d1.shifts[0]).toMatchObject({
        onlineSeconds: 8 * 3600 + 18 * 60,
        firstOnlineAt: at(day1, '09:12').toISOString(),
        lastOnlineAt: at(day1, '17:30').toISOString(),
        lateStart: true,
        earlyLeave: true,
        absent: false,
      });
      expect(
        d1.timeline.map((s) => [
          s.state,
          DateTime.fromISO(s.startsAt).setZone(TZ).toFormat('HH:mm'),
          DateTime.fromISO(s.endsAt).setZone(TZ).toFormat('HH:mm'),
        ]),
      ).toEqual([
        ['AVAILABLE', '09:12', '12:00'],
        ['BUSY', '12:00', '17:30'],
        ['OFFLINE', '17:30', '19:00'],
        ['AVAILABLE', '19:00', '20:00'],
        ['OFFLINE', '20:00', '00:00'],
      ]);
      expect(d2).toMatchObject({ date: day2, scheduledSeconds: 9 * 3600, onlineInScheduleSeconds: 0 });
      expect(d2.shifts[0]).toMatchObject({ absent: true, lateStart: false, earlyLeave: false, firstOnlineAt: null });
    });

    it('counts a start within the grace as on time', async () => {
      const onTime = await app.createUser({ role: 'AGENT', departmentId: dept.id });
      await db.query(
        `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)`,
        [onTime.id, shiftId, day1, at(day1, '09:00'), at(day1, '18:00')],
      );
      await db.query('INSERT INTO presence_intervals (agent_id, state, started_at, ended_at) VALUES ($1, $2, $3, $4), ($1, $5, $4, NULL)', [
        onTime.id,
        'AVAILABLE',
        at(day1, '09:04'),
        at(day1, '17:57'),
        'OFFLINE',
      ]);
      const [a] = (await app.data(AdherenceDocument, { from: day1, to: day1, agentId: onTime.id }, admin)).adherence;
      expect(a).toMatchObject({ lateStarts: 0, earlyLeaves: 0, absences: 0, onlineOutsideScheduleSeconds: 0 });
    });

    it('lists the whole department for its manager and for admins', async () => {
      const mine = (await app.data(AdherenceDocument, { from: day1, to: day2 }, manager.token)).adherence.map((a) => a.agentId);
      expect(mine).toEqual(expect.arrayContaining([agent.id, colleague.id, target.id]));
      const byAdmin = (await app.data(AdherenceDocument, { from: day1, to: day2, departmentId: dept.id }, admin)).adherence.map(
        (a) => a.agentId,
      );
      expect(byAdmin.sort()).toEqual(mine.sort());
    });

    it('lets an agent see their own adherence only', async () => {
      const own = (await app.data(AdherenceDocument, { from: day1, to: day2 }, target.token)).adherence;
      expect(own.map((a) => a.agentId)).toEqual([target.id]);
      expect((await app.exec(AdherenceDocument, { from: day1, to: day2, agentId: target.id }, target.token)).errors).toBeUndefined();
      for (const vars of [{ agentId: colleague.id }, { departmentId: dept.id }]) {
        const res = await app.exec(AdherenceDocument, { from: day1, to: day2, ...vars }, target.token);
        expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
    });

    it('refuses other departments, customers and strangers', async () => {
      expect(
        (await app.exec(AdherenceDocument, { from: day1, to: day2, agentId: target.id }, otherManager.token)).errors?.[0].extensions?.code,
      ).toBe('FORBIDDEN');
      expect(
        (await app.exec(AdherenceDocument, { from: day1, to: day2, departmentId: dept.id }, otherManager.token)).errors?.[0].extensions
          ?.code,
      ).toBe('FORBIDDEN');
      const customer = await app.createUser({ role: 'CUSTOMER' });
      expect((await app.exec(AdherenceDocument, { from: day1, to: day2 }, customer.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect((await app.exec(AdherenceDocument, { from: day1, to: day2 }, null)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it.each([
      [{ from: '2026-13-01', to: '2026-11-02' }, 'from'],
      [{ from: '2026-11-02', to: 'tomorrow' }, 'to'],
      [{ from: '2026-11-03', to: '2026-11-02' }, 'to'],
      [{ from: '2026-10-01', to: '2026-11-02' }, 'to'],
    ])('refuses bad dates %j with BAD_USER_INPUT naming %s', async (vars, field) => {
      const res = await app.exec(AdherenceDocument, { ...vars, departmentId: dept.id }, admin);
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0].extensions?.fields[0].field).toBe(field);
    });

    it('says which agent or department is unknown, and that one of them is needed', async () => {
      expect((await app.exec(AdherenceDocument, { from: day1, to: day2, agentId: manager.id }, admin)).errors?.[0].extensions?.code).toBe(
        'NOT_FOUND',
      );
      expect(
        (await app.exec(AdherenceDocument, { from: day1, to: day2, departmentId: '00000000-0000-4000-8000-000000000000' }, admin))
          .errors?.[0].extensions?.code,
      ).toBe('NOT_FOUND');
      expect((await app.exec(AdherenceDocument, { from: day1, to: day2 }, admin)).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(
        (await app.exec(AdherenceDocument, { from: day1, to: day2, agentId: target.id, departmentId: dept.id }, admin)).errors?.[0]
          .extensions?.code,
      ).toBe('BAD_USER_INPUT');
    });
  });
});
