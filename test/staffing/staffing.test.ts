import { DateTime } from 'luxon';
import {
  AddForecastOverrideDocument,
  ApplyScheduleProposalDocument,
  AssignSchedulesDocument,
  AuditLogDocument,
  CreateShiftDocument,
  ForecastContactsDocument,
  ForecastOverridesDocument,
  ProposeScheduleDocument,
  RemoveForecastOverrideDocument,
  ScheduleProposalDocument,
  SchedulesDocument,
  StaffingPlanDocument,
} from '../generated/graphql';
import { averageWaitSeconds, requiredServers, serviceLevel } from '../../src/modules/staffing/erlang';
import { startTestApp, TestApp } from '../support/harness';

const ZONE = 'Asia/Shanghai';
type Person = { id: string; token: string };

/** Days from today in the business time zone, as YYYY-MM-DD. */
const day = (offset: number) => DateTime.now().setZone(ZONE).startOf('day').plus({ days: offset }).toISODate()!;

describe('staffing: forecast, plan, proposals', () => {
  let app: TestApp;
  let admin: string;
  let dept: { id: string };
  let otherDept: { id: string };
  let bareDept: { id: string };
  let manager: Person;
  let otherManager: Person;
  let agentUser: Person;
  let customer: Person;
  const agents: Person[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    dept = await app.createDepartment('在线客服', 'online');
    otherDept = await app.createDepartment('售前咨询', 'sales');
    bareDept = await app.createDepartment('新部门', 'fresh');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: otherDept.id });
    for (let i = 0; i < 8; i++) agents.push(await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 3 }));
    agentUser = agents[0];
    customer = await app.createUser({ role: 'CUSTOMER' });
    await app.createUser({ role: 'AGENT', departmentId: bareDept.id });
    for (const [code, start, end] of [
      ['EARLY', '08:00', '16:00'],
      ['LATE', '13:00', '21:00'],
    ]) {
      await app.data(CreateShiftDocument, { input: { name: code, code, startTime: start, endTime: end, departmentId: dept.id } }, admin);
    }
    // 4 weeks of history: every 30 minutes from 08:00 to 20:00, 6 chats on weekdays and 2 at weekends, each held
    // 600 s from assignment to end.
    const em = app.services.orm.em.fork();
    await em.execute(
      `INSERT INTO conversations (id, customer_id, department_id, topic, status, priority, priority_rank, created_at, queued_at, assigned_at, ended_at, end_reason)
       SELECT gen_random_uuid(), ?, ?, 'history', 'ENDED', 'NORMAL', 2, t, t, t + interval '10 seconds', t + interval '610 seconds', 'AGENT'
         FROM generate_series((?::date - 28)::timestamp, (?::date - 1)::timestamp + interval '23 hours 30 minutes', interval '30 minutes') AS slot,
              LATERAL (SELECT (slot AT TIME ZONE '${ZONE}') + (n * interval '1 minute') AS t
                         FROM generate_series(1, CASE WHEN extract(isodow FROM slot) >= 6 THEN 2 ELSE 6 END) AS n) AS chats
        WHERE slot::time >= '08:00' AND slot::time < '20:00'`,
      [customer.id, dept.id, day(0), day(0)],
    );
  });
  afterAll(() => app.stop());

  const codeOf = (res: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => res.errors?.[0]?.extensions?.code;
  const fieldsOf = (res: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
    (res.errors?.[0]?.extensions?.fields as Array<{ field: string }> | undefined)?.map((f) => f.field);
  /** The first weekday (Monday–Friday) from tomorrow on. */
  const nextWeekday = () => [1, 2, 3, 4, 5, 6, 7].map(day).find((d) => DateTime.fromISO(d).weekday <= 5)!;
  const at = (date: string, time: string) => DateTime.fromISO(`${date}T${time}`, { zone: ZONE }).toJSDate().getTime();

  it('forecasts the weekday and weekend pattern and the handling time from history', async () => {
    const from = day(1);
    const to = day(7);
    const f = (await app.data(ForecastContactsDocument, { departmentId: dept.id, from, to }, manager.token)).forecastContacts;
    expect(f.intervalMinutes).toBe(30);
    expect(f.historyDays).toBe(28); // the department's history is 4 weeks old, of the 8 it could use
    expect(f.intervals).toHaveLength(7 * 48);
    for (const iv of f.intervals) {
      const local = DateTime.fromISO(iv.startsAt, { zone: ZONE });
      const daytime = local.hour >= 8 && local.hour < 20;
      const expected = !daytime ? 0 : local.weekday >= 6 ? 2 : 6;
      // The profile is smoothed over neighbouring slots, so the first and last slot of the day lean towards 0.
      if (local.hour === 8 && local.minute === 0) continue;
      if (local.hour === 19 && local.minute === 30) continue;
      if (local.hour === 7 && local.minute === 30) continue;
      if (local.hour === 20 && local.minute === 0) continue;
      expect(Math.abs(iv.conversations - expected)).toBeLessThanOrEqual(0.6);
      if (daytime) expect(iv.handlingSeconds).toBe(600);
      expect(iv.overrideFactor).toBe(1);
    }
    // 15-minute intervals divide a day too.
    const q = (await app.data(ForecastContactsDocument, { departmentId: dept.id, from, to: from, intervalMinutes: 15 }, admin))
      .forecastContacts;
    expect(q.intervals).toHaveLength(96);
  });

  it('refuses a range over 90 days and an interval that does not divide a day, changing nothing', async () => {
    const long = await app.exec(ForecastContactsDocument, { departmentId: dept.id, from: day(1), to: day(91) }, manager.token);
    expect(codeOf(long)).toBe('BAD_USER_INPUT');
    expect(fieldsOf(long)).toEqual(['to']);
    for (const intervalMinutes of [7, 45 + 5, 0, -30, 2880]) {
      const bad = await app.exec(
        ForecastContactsDocument,
        { departmentId: dept.id, from: day(1), to: day(2), intervalMinutes },
        manager.token,
      );
      expect(codeOf(bad)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(bad)).toEqual(['intervalMinutes']);
    }
    const plan = await app.exec(StaffingPlanDocument, { departmentId: dept.id, from: day(1), to: day(100) }, manager.token);
    expect(codeOf(plan)).toBe('BAD_USER_INPUT');
  });

  it('stores and audits overrides, which multiply the forecast', async () => {
    const date = day(2);
    const from = new Date(at(date, '10:00')).toISOString();
    const to = new Date(at(date, '12:00')).toISOString();
    const o = (
      await app.data(AddForecastOverrideDocument, { departmentId: dept.id, from, to, factor: 3, reason: '双十一 on-sale' }, manager.token)
    ).addForecastOverride;
    expect(o.factor).toBe(3);
    const f = (await app.data(ForecastContactsDocument, { departmentId: dept.id, from: date, to: date }, manager.token)).forecastContacts;
    const inWindow = f.intervals.filter(
      (iv) => Date.parse(iv.startsAt) >= at(date, '10:00') && Date.parse(iv.startsAt) < at(date, '12:00'),
    );
    expect(inWindow).toHaveLength(4);
    const weekday = DateTime.fromISO(date).weekday <= 5;
    for (const iv of inWindow) {
      expect(iv.overrideFactor).toBe(3);
      expect(Math.abs(iv.conversations - 3 * (weekday ? 6 : 2))).toBeLessThanOrEqual(1.5);
    }
    expect(f.intervals.filter((iv) => iv.overrideFactor !== 1)).toHaveLength(4);
    const listed = (await app.data(ForecastOverridesDocument, { departmentId: dept.id }, manager.token)).forecastOverrides;
    expect(listed.map((l) => l.id)).toEqual([o.id]);
    const audit = (await app.data(AuditLogDocument, { filter: { action: 'forecast.override' } }, admin)).auditLog.nodes;
    expect(audit).toHaveLength(1);
    expect(audit[0].comment).toBe('双十一 on-sale');

    for (const [factor, reason, field] of [
      [0, 'x', 'factor'],
      [101, 'x', 'factor'],
      [2, '  ', 'reason'],
    ] as const) {
      const bad = await app.exec(AddForecastOverrideDocument, { departmentId: dept.id, from, to, factor, reason }, manager.token);
      expect(codeOf(bad)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(bad)).toEqual([field]);
    }
    const backwards = await app.exec(
      AddForecastOverrideDocument,
      { departmentId: dept.id, from: to, to: from, factor: 2, reason: 'x' },
      manager.token,
    );
    expect(fieldsOf(backwards)).toEqual(['to']);
    expect((await app.data(ForecastOverridesDocument, { departmentId: dept.id }, manager.token)).forecastOverrides).toHaveLength(1);

    expect((await app.data(RemoveForecastOverrideDocument, { id: o.id }, manager.token)).removeForecastOverride).toBe(o.id);
    expect((await app.data(ForecastOverridesDocument, { departmentId: dept.id }, manager.token)).forecastOverrides).toHaveLength(0);
  });

  it('plans agents with Erlang C and compares them with the schedules', async () => {
    const date = nextWeekday();
    const earlyId = (
      await app.data(
        CreateShiftDocument,
        { input: { name: 'Plan', code: 'PLAN', startTime: '09:00', endTime: '12:00', departmentId: otherDept.id } },
        admin,
      )
    ).createShift.id;
    expect(earlyId).toBeTruthy();
    const shifts = await app.exec('query ($d: ID) { shifts(departmentId: $d) { id code } }', { d: dept.id }, admin);
    const early = (shifts.data as { shifts: Array<{ id: string; code: string }> }).shifts.find((s) => s.code === 'EARLY')!;
    await app.data(AssignSchedulesDocument, { input: { shiftId: early.id, agentIds: [agents[6].id, agents[7].id], dates: [date] } }, admin);

    const plan = (await app.data(StaffingPlanDocument, { departmentId: dept.id, from: date, to: date }, manager.token)).staffingPlan;
    expect(plan.serviceLevelTarget).toBe(0.8);
    expect(plan.serviceLevelSeconds).toBe(20);
    expect(plan.chatsPerAgent).toBe(3);
    const ten = plan.intervals.find((iv) => Date.parse(iv.startsAt) === at(date, '10:00'))!;
    // 6 chats per 30 minutes held 600 s: A = 6/1800 × 600 = 2 erlangs of chat seats.
    const load = (ten.forecastConversations / 1800) * ten.handlingSeconds;
    const seats = requiredServers(load, 600, { level: 0.8, seconds: 20, maxOccupancy: 0.85 });
    expect(ten.agentsRequired).toBe(Math.ceil(seats / 3 / 0.7));
    expect(ten.agentsScheduled).toBe(2);
    expect(ten.gap).toBe(2 - ten.agentsRequired);
    // 2 agents × 0.7 × 3 chats = 4 seats.
    expect(ten.expectedServiceLevel).toBeCloseTo(serviceLevel(4, load, 600, 20), 3);
    expect(ten.expectedWaitSeconds).toBeCloseTo(averageWaitSeconds(4, load, 600), 0);
    const night = plan.intervals.find((iv) => Date.parse(iv.startsAt) === at(date, '03:00'))!;
    expect(night.agentsRequired).toBe(0);
    expect(night.expectedServiceLevel).toBe(1);

    const stricter = (
      await app.data(
        StaffingPlanDocument,
        { departmentId: dept.id, from: date, to: date, serviceLevelTarget: 0.95, serviceLevelSeconds: 10 },
        manager.token,
      )
    ).staffingPlan;
    expect(stricter.intervals.find((iv) => iv.startsAt === ten.startsAt)!.agentsRequired).toBeGreaterThanOrEqual(ten.agentsRequired);

    for (const [vars, field] of [
      [{ serviceLevelTarget: 1.2 }, 'serviceLevelTarget'],
      [{ serviceLevelTarget: 120 }, 'serviceLevelTarget'],
      [{ serviceLevelSeconds: 0 }, 'serviceLevelSeconds'],
    ] as const) {
      const bad = await app.exec(StaffingPlanDocument, { departmentId: dept.id, from: date, to: date, ...vars }, manager.token);
      expect(codeOf(bad)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(bad)).toEqual([field]);
    }
  });

  it('refuses agents, customers and other departments’ managers', async () => {
    const date = day(3);
    for (const token of [agentUser.token, customer.token, otherManager.token]) {
      expect(codeOf(await app.exec(ForecastContactsDocument, { departmentId: dept.id, from: date, to: date }, token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(StaffingPlanDocument, { departmentId: dept.id, from: date, to: date }, token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(ProposeScheduleDocument, { departmentId: dept.id, from: date, to: date }, token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(ForecastOverridesDocument, { departmentId: dept.id }, token))).toBe('FORBIDDEN');
      const add = await app.exec(
        AddForecastOverrideDocument,
        {
          departmentId: dept.id,
          from: new Date().toISOString(),
          to: new Date(Date.now() + 3600_000).toISOString(),
          factor: 2,
          reason: 'x',
        },
        token,
      );
      expect(codeOf(add)).toBe('FORBIDDEN');
    }
    const proposal = (await app.data(ProposeScheduleDocument, { departmentId: dept.id, from: day(40), to: day(40) }, manager.token))
      .proposeSchedule;
    for (const token of [agentUser.token, customer.token, otherManager.token]) {
      expect(codeOf(await app.exec(ScheduleProposalDocument, { id: proposal.id }, token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(ApplyScheduleProposalDocument, { id: proposal.id }, token))).toBe('FORBIDDEN');
    }
    expect((await app.data(ScheduleProposalDocument, { id: proposal.id }, manager.token)).scheduleProposal.status).toBe('PROPOSED');
  });

  it('gives a clear reason for a department without shift types instead of an empty proposal', async () => {
    const res = await app.exec(ProposeScheduleDocument, { departmentId: bareDept.id, from: day(1), to: day(7) }, admin);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toMatch(/no shift types/);
  });

  it('proposes a week under the hard rules, applies it once through assignSchedules, and refuses it twice', async () => {
    const from = day(10);
    const to = day(16);
    const proposal = (await app.data(ProposeScheduleDocument, { departmentId: dept.id, from, to }, manager.token)).proposeSchedule;
    expect(proposal.status).toBe('PROPOSED');
    expect(proposal.solverStatus).toBe('OPTIMAL');
    expect(proposal.assignments.length).toBeGreaterThan(0);
    expect(proposal.coverage).toBeGreaterThan(0);
    expect(proposal.coveredAgentIntervals).toBeLessThanOrEqual(proposal.requiredAgentIntervals);
    // No shift covers the evening after 21:00 or the night: only those, if anything, may miss for that reason.
    for (const u of proposal.unmet) {
      expect(['NO_SHIFT_COVERS', 'NOT_ENOUGH_AGENTS', 'WORK_RULES']).toContain(u.reason);
      expect(u.covered).toBeLessThan(u.required);
    }
    const byAgent = new Map<string, typeof proposal.assignments>();
    for (const a of proposal.assignments) byAgent.set(a.agentId, [...(byAgent.get(a.agentId) ?? []), a]);
    for (const [agentId, list] of byAgent) {
      expect(agents.map((a) => a.id)).toContain(agentId);
      expect(new Set(list.map((a) => a.date)).size).toBe(list.length); // one shift a day
      expect(list.length).toBeLessThanOrEqual(6);
      // LATE (13–21) then EARLY (08–16) the next day leaves 11 h: allowed; nothing shorter exists here.
    }
    const applied = (await app.data(ApplyScheduleProposalDocument, { id: proposal.id }, manager.token)).applyScheduleProposal;
    expect(applied.createdCount).toBe(proposal.assignments.length);
    expect(applied.proposal.status).toBe('APPLIED');
    const stored = (await app.data(SchedulesDocument, { filter: { from, to, departmentId: dept.id } }, manager.token)).schedules;
    expect(stored).toHaveLength(proposal.assignments.length);
    const audit = (await app.data(AuditLogDocument, { filter: { action: 'schedule_proposal.apply', targetId: proposal.id } }, admin))
      .auditLog.nodes;
    expect(audit).toHaveLength(1);

    const twice = await app.exec(ApplyScheduleProposalDocument, { id: proposal.id }, manager.token);
    expect(codeOf(twice)).toBe('CONFLICT');
    expect((await app.data(SchedulesDocument, { filter: { from, to, departmentId: dept.id } }, manager.token)).schedules).toHaveLength(
      stored.length,
    );

    // A new proposal for the same week keeps what exists and adds only what is still missing.
    const again = (await app.data(ProposeScheduleDocument, { departmentId: dept.id, from, to }, manager.token)).proposeSchedule;
    expect(again.coveredAgentIntervals).toBeGreaterThanOrEqual(proposal.coveredAgentIntervals);
    expect(again.removedScheduleIds).toEqual([]);

    // Allowed to replace them, it plans the week afresh: applying removes the old schedules and writes the new.
    const fresh = (
      await app.data(ProposeScheduleDocument, { departmentId: dept.id, from, to, options: { replaceExisting: true } }, manager.token)
    ).proposeSchedule;
    expect([...fresh.removedScheduleIds].sort()).toEqual(stored.map((s) => s.id).sort());
    const replaced = (await app.data(ApplyScheduleProposalDocument, { id: fresh.id }, manager.token)).applyScheduleProposal;
    expect(replaced.createdCount).toBe(fresh.assignments.length);
    const now = (await app.data(SchedulesDocument, { filter: { from, to, departmentId: dept.id } }, manager.token)).schedules;
    expect(now).toHaveLength(fresh.assignments.length);
    expect(now.some((s) => stored.some((o) => o.id === s.id))).toBe(false);
  });

  it('refuses a proposal whose schedules changed since it was made, writing nothing', async () => {
    const from = day(20);
    const to = day(22);
    const proposal = (await app.data(ProposeScheduleDocument, { departmentId: dept.id, from, to }, manager.token)).proposeSchedule;
    expect(proposal.assignments.length).toBeGreaterThan(0);
    const shifts = await app.exec('query ($d: ID) { shifts(departmentId: $d) { id code } }', { d: dept.id }, admin);
    const late = (shifts.data as { shifts: Array<{ id: string; code: string }> }).shifts.find((s) => s.code === 'LATE')!;
    await app.data(AssignSchedulesDocument, { input: { shiftId: late.id, agentIds: [agents[5].id], dates: [day(21)] } }, manager.token);
    const res = await app.exec(ApplyScheduleProposalDocument, { id: proposal.id }, manager.token);
    expect(codeOf(res)).toBe('CONFLICT');
    expect(res.errors![0].message).toMatch(/changed/);
    expect((await app.data(SchedulesDocument, { filter: { from, to, departmentId: dept.id } }, manager.token)).schedules).toHaveLength(1);
    expect((await app.data(ScheduleProposalDocument, { id: proposal.id }, manager.token)).scheduleProposal.status).toBe('PROPOSED');
  });

  it('applies a proposal once when several managers apply it at the same moment', async () => {
    const from = day(30);
    const to = day(31);
    const proposal = (await app.data(ProposeScheduleDocument, { departmentId: dept.id, from, to }, manager.token)).proposeSchedule;
    const results = await Promise.all(
      [manager.token, admin, manager.token, admin].map((t) => app.exec(ApplyScheduleProposalDocument, { id: proposal.id }, t)),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === 'CONFLICT')).toHaveLength(3);
    expect((await app.data(SchedulesDocument, { filter: { from, to, departmentId: dept.id } }, manager.token)).schedules).toHaveLength(
      proposal.assignments.length,
    );
  });
});
