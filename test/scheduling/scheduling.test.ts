import {
  ArchiveShiftDocument,
  AssignSchedulesCountDocument,
  AssignSchedulesDocument,
  CreateShiftDocument,
  RemoveSchedulesDocument,
  SchedulesDocument,
  ShiftsDocument,
  UpdateShiftDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };

describe('shifts and scheduling', () => {
  let app: TestApp;
  let admin: string;
  let sales: { id: string };
  let support: { id: string };
  let salesManager: Person;
  let supportManager: Person;
  let agents: Person[]; // sales agents: 0 has skill 退款, 1..3 none
  let supportAgent: Person;
  let early: { id: string };
  let night: { id: string };

  const shift = async (code: string, startTime: string, endTime: string, extra: Record<string, unknown> = {}) =>
    (await app.data(CreateShiftDocument, { input: { name: code, code, startTime, endTime, ...extra } }, admin)).createShift;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    sales = await app.createDepartment('售前咨询', 'sales');
    support = await app.createDepartment('技术支持', 'technical');
    salesManager = await app.createUser({ role: 'MANAGER', departmentId: sales.id });
    supportManager = await app.createUser({ role: 'MANAGER', departmentId: support.id });
    agents = [];
    for (let i = 0; i < 4; i++)
      agents.push(await app.createUser({ role: 'AGENT', departmentId: sales.id, skills: i === 0 ? ['退款'] : [] }));
    supportAgent = await app.createUser({ role: 'AGENT', departmentId: support.id });
    early = await shift('EARLY', '06:00', '14:00');
    night = await shift('NIGHT', '22:00', '06:00');
  });
  afterAll(() => app.stop());

  describe('shifts', () => {
    it('are created by admins with HH:mm times; an end not after the start ends the next day', async () => {
      const s = await shift('LATE', '14:00', '22:00', { color: '#ff8800', requiredSkills: ['退款', ' 退款 '] });
      expect(s).toMatchObject({
        startTime: '14:00',
        endTime: '22:00',
        overnight: false,
        durationMinutes: 480,
        color: '#FF8800',
        requiredSkills: ['退款'],
      });
      const n = (await app.data(ShiftsDocument, {}, admin)).shifts.find((x) => x.code === 'NIGHT');
      expect(n).toMatchObject({ overnight: true, durationMinutes: 480 });
    });

    it('refuse times like 25:00 and taken codes, writing nothing', async () => {
      const bad = await app.exec(CreateShiftDocument, { input: { name: 'x', code: 'BAD', startTime: '09:00', endTime: '25:00' } }, admin);
      expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(bad.errors?.[0].extensions?.fields).toEqual([expect.objectContaining({ field: 'endTime' })]);
      const taken = await app.exec(
        CreateShiftDocument,
        { input: { name: 'x', code: 'EARLY', startTime: '09:00', endTime: '10:00' } },
        admin,
      );
      expect(taken.errors?.[0].extensions?.code).toBe('CONFLICT');
      const codes = (await app.data(ShiftsDocument, { includeArchived: true }, admin)).shifts.map((s) => s.code);
      expect(codes).not.toContain('BAD');
    });

    it('are written by admins only', async () => {
      for (const token of [salesManager.token, agents[0].token]) {
        const res = await app.exec(
          CreateShiftDocument,
          { input: { name: 'x', code: 'NOPE', startTime: '09:00', endTime: '10:00' } },
          token,
        );
        expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
        const arch = await app.exec(ArchiveShiftDocument, { id: early.id }, token);
        expect(arch.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
    });

    it('are listed per department (plus shared ones), archived ones only on request', async () => {
      const own = await shift('SUP', '09:00', '18:00', { departmentId: support.id });
      const gone = await shift('OLD', '09:00', '18:00');
      await app.data(ArchiveShiftDocument, { id: gone.id }, admin);
      const seenBySales = (await app.data(ShiftsDocument, {}, agents[1].token)).shifts.map((s) => s.code);
      expect(seenBySales).toEqual(expect.arrayContaining(['EARLY', 'NIGHT']));
      expect(seenBySales).not.toContain('SUP');
      expect(seenBySales).not.toContain('OLD');
      const seenBySupport = (await app.data(ShiftsDocument, { includeArchived: true }, supportAgent.token)).shifts.map((s) => s.code);
      expect(seenBySupport).toEqual(expect.arrayContaining(['SUP', 'OLD', 'EARLY']));
      const other = await app.exec(ShiftsDocument, { departmentId: support.id }, agents[1].token);
      expect(other.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(own.departmentId).toBe(support.id);
      const customer = await app.createUser({ role: 'CUSTOMER' });
      expect((await app.exec(ShiftsDocument, {}, customer.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });
  });

  describe('assignSchedules', () => {
    it('places schedules at the shift times of the business date (Asia/Shanghai)', async () => {
      const res = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: night.id, agentIds: [agents[1].id], dates: ['2027-01-04'] } },
        admin,
      );
      expect(res.assignSchedules.conflicts).toEqual([]);
      expect(res.assignSchedules.created).toEqual([
        expect.objectContaining({
          agentId: agents[1].id,
          date: '2027-01-04',
          startsAt: '2027-01-04T14:00:00.000Z',
          endsAt: '2027-01-04T22:00:00.000Z',
          status: 'NORMAL',
        }),
      ]);
      const stored = await app.data(SchedulesDocument, { filter: { from: '2027-01-04', to: '2027-01-04', agentId: agents[1].id } }, admin);
      expect(stored.schedules).toEqual([
        expect.objectContaining({
          id: res.assignSchedules.created[0].id,
          date: '2027-01-04',
          startsAt: '2027-01-04T14:00:00.000Z',
          shift: { code: 'NIGHT' },
        }),
      ]);
    });

    // Agents that tests make for themselves live in a department of their own: the boards below count sales' agents.
    let spare: { id: string };
    beforeAll(async () => {
      spare = await app.createDepartment('夜班组', 'night_team');
    });

    /** An agent of the test's own, on the NIGHT shift of 2027-01-04 (22:00 → 06:00 the next day). */
    const nightWorker = async () => {
      const worker = await app.createUser({ role: 'AGENT', departmentId: spare.id });
      await app.data(AssignSchedulesDocument, { input: { shiftId: night.id, agentIds: [worker.id], dates: ['2027-01-04'] } }, admin);
      return worker;
    };

    it('is guarded by an exclusion constraint in PostgreSQL itself', async () => {
      const worker = await nightWorker();
      const em = app.services.orm.em.fork();
      const insert = (id: string) =>
        em.execute(
          `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at) VALUES (?, ?, ?, '2027-01-04', '2027-01-04T20:00Z', '2027-01-04T23:00Z')`,
          [id, worker.id, early.id],
        );
      await expect(insert('10000000-0000-4000-8000-000000000001')).rejects.toMatchObject({
        code: '23P01',
        constraint: 'schedules_no_overlap',
      });
    });

    it('finds a real overlap: the overnight shift against the next morning, and writes nothing (ALL_OR_NOTHING)', async () => {
      // night 2027-01-04 22:00 → 01-05 06:00 touches but does not overlap EARLY 01-05 06:00; a 05:00 start does.
      const worker = await nightWorker();
      const free = await app.createUser({ role: 'AGENT', departmentId: spare.id });
      const touching = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: early.id, agentIds: [worker.id], dates: ['2027-01-05'] } },
        admin,
      );
      expect(touching.assignSchedules.createdCount).toBe(1);
      // Undone, so the only schedule a dawn start can overlap is the night before.
      await app.data(RemoveSchedulesDocument, { ids: [touching.assignSchedules.created[0].id] }, admin);
      const dawn = await shift('DAWN', '05:00', '09:00');
      const res = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: dawn.id, agentIds: [worker.id, free.id], dates: ['2027-01-05'] } },
        admin,
      );
      expect(res.assignSchedules.createdCount).toBe(0);
      expect(res.assignSchedules.created).toEqual([]);
      expect(res.assignSchedules.conflicts).toEqual([
        expect.objectContaining({
          agentId: worker.id,
          date: '2027-01-05',
          reason: 'OVERLAP',
          existingSchedule: expect.objectContaining({ date: '2027-01-04', shiftId: night.id }),
        }),
      ]);
      const written = await app.data(SchedulesDocument, { filter: { from: '2027-01-05', to: '2027-01-05', agentId: free.id } }, admin);
      expect(written.schedules).toEqual([]);
    });

    it('writes the rest with SKIP_CONFLICTS; two short shifts on one day that do not overlap are fine', async () => {
      const morning = await shift('AM4', '08:00', '12:00');
      const afternoon = await shift('PM4', '13:00', '17:00');
      const a = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: morning.id, agentIds: [agents[2].id, agents[3].id], dates: ['2027-02-01'] } },
        admin,
      );
      expect(a.assignSchedules.createdCount).toBe(2);
      const b = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: afternoon.id, agentIds: [agents[2].id], dates: ['2027-02-01'] } },
        admin,
      );
      expect(b.assignSchedules.createdCount).toBe(1);
      const long = await shift('MID', '11:00', '14:00');
      const c = await app.data(
        AssignSchedulesDocument,
        {
          input: { shiftId: long.id, agentIds: [agents[1].id, agents[2].id, agents[3].id], dates: ['2027-02-01'], mode: 'SKIP_CONFLICTS' },
        },
        admin,
      );
      expect(c.assignSchedules.created.map((s) => s.agentId)).toEqual([agents[1].id]);
      expect(c.assignSchedules.conflicts.map((x) => [x.agentId, x.reason]).sort()).toEqual(
        [
          [agents[2].id, 'OVERLAP'],
          [agents[3].id, 'OVERLAP'],
        ].sort(),
      );
    });

    it('names inactive agents, missing skills and agents out of a manager’s scope', async () => {
      const refund = await shift('REFUND', '09:00', '18:00', { requiredSkills: ['退款'], departmentId: sales.id });
      const leaver = await app.createUser({ role: 'AGENT', departmentId: sales.id, skills: ['退款'] });
      await app.data(`mutation { deactivateUser(id: "${leaver.id}") { id } }`, undefined, admin);
      const res = await app.data(
        AssignSchedulesCountDocument,
        {
          input: {
            shiftId: refund.id,
            agentIds: [agents[0].id, agents[1].id, leaver.id, supportAgent.id],
            dates: ['2027-03-01'],
            mode: 'SKIP_CONFLICTS',
          },
        },
        salesManager.token,
      );
      expect(res.assignSchedules.createdCount).toBe(1);
      const reasons = Object.fromEntries(res.assignSchedules.conflicts.map((c) => [c.agentId, c.reason]));
      expect(reasons).toEqual({ [agents[1].id]: 'MISSING_SKILL', [leaver.id]: 'INACTIVE_AGENT', [supportAgent.id]: 'OUT_OF_SCOPE' });
    });

    it('refuses bad input with a clear error and writes nothing', async () => {
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ shiftId: '00000000-0000-4000-8000-000000000000', agentIds: [agents[1].id], dates: ['2027-04-01'] }, 'NOT_FOUND', ''],
        [{ shiftId: early.id, agentIds: ['00000000-0000-4000-8000-000000000000'], dates: ['2027-04-01'] }, 'BAD_USER_INPUT', 'agentIds'],
        [{ shiftId: early.id, agentIds: [agents[1].id], dates: ['2026-02-30'] }, 'BAD_USER_INPUT', 'dates'],
        [{ shiftId: early.id, agentIds: [], dates: ['2027-04-01'] }, 'BAD_USER_INPUT', 'agentIds'],
        [
          { shiftId: early.id, agentIds: [agents[1].id], dates: Array.from({ length: 10_001 }, () => '2027-04-01') },
          'BAD_USER_INPUT',
          'dates',
        ],
      ];
      for (const [input, code, field] of cases) {
        const res = await app.exec(AssignSchedulesDocument, { input: input as never }, admin);
        expect(res.errors?.[0].extensions?.code).toBe(code);
        if (field) expect(JSON.stringify(res.errors?.[0].extensions?.fields)).toContain(field);
      }
      const none = await app.data(SchedulesDocument, { filter: { from: '2027-04-01', to: '2027-04-01' } }, admin);
      expect(none.schedules).toEqual([]);
    });

    it('is refused to agents and customers', async () => {
      const res = await app.exec(
        AssignSchedulesDocument,
        { input: { shiftId: early.id, agentIds: [agents[1].id], dates: ['2027-05-01'] } },
        agents[1].token,
      );
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });

    it('never double-books under 24 concurrent overlapping calls (the exclusion constraint decides)', async () => {
      const overlapping = [];
      for (let i = 0; i < 24; i++) {
        const start = `${String(8 + Math.floor((i * 10) / 60)).padStart(2, '0')}:${String((i * 10) % 60).padStart(2, '0')}`;
        overlapping.push(await shift(`RACE${i}`, start, '20:00'));
      }
      const who = [agents[1].id, agents[2].id, agents[3].id];
      const results = await Promise.all(
        overlapping.map((s, i) =>
          app.exec(
            AssignSchedulesCountDocument,
            { input: { shiftId: s.id, agentIds: who, dates: ['2027-06-01'], mode: i % 2 ? 'SKIP_CONFLICTS' : 'ALL_OR_NOTHING' } },
            admin,
          ),
        ),
      );
      for (const r of results) expect(r.errors).toBeUndefined();
      const created = results.reduce((n, r) => n + (r.data?.assignSchedules.createdCount ?? 0), 0);
      expect(created).toBe(3); // one schedule per agent, whoever won

      const [{ overlaps }] = await app.services.orm.em.fork().execute(
        `SELECT count(*)::int AS overlaps FROM schedules a JOIN schedules b
           ON a.agent_id = b.agent_id AND a.id < b.id AND a.period && b.period
          WHERE a.status <> 'SWAPPED_OUT' AND b.status <> 'SWAPPED_OUT'`,
      );
      expect(overlaps).toBe(0);
      const day = await app.data(SchedulesDocument, { filter: { from: '2027-06-01', to: '2027-06-01' } }, admin);
      expect(day.schedules.map((s) => s.agentId).sort()).toEqual([...who].sort());
    });
  });

  describe('schedules, removeSchedules and updateShift', () => {
    it('lets agents read only their own, managers their department', async () => {
      // Schedules of its own for two sales agents in January (other tests may have added more, in any order).
      const s = await shift('SCOPE', '09:00', '17:00');
      await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: s.id, agentIds: [agents[1].id, agents[2].id], dates: ['2027-01-20'] } },
        admin,
      );
      const mine = await app.data(SchedulesDocument, { filter: { from: '2027-01-01', to: '2027-01-31' } }, agents[1].token);
      expect(mine.schedules.length).toBeGreaterThan(0);
      expect(new Set(mine.schedules.map((s) => s.agentId))).toEqual(new Set([agents[1].id]));
      const other = await app.exec(
        SchedulesDocument,
        { filter: { from: '2027-01-01', to: '2027-01-31', agentId: agents[2].id } },
        agents[1].token,
      );
      expect(other.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const foreign = await app.exec(
        SchedulesDocument,
        { filter: { from: '2027-01-01', to: '2027-01-31', departmentId: sales.id } },
        supportManager.token,
      );
      expect(foreign.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const theirs = await app.data(SchedulesDocument, { filter: { from: '2027-01-01', to: '2027-01-31' } }, supportManager.token);
      expect(theirs.schedules).toEqual([]);
      const badRange = await app.exec(SchedulesDocument, { filter: { from: '2027-02-01', to: '2027-01-01' } }, admin);
      expect(badRange.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('keeps existing schedules where they are when a shift’s times change', async () => {
      const s = await shift('MOVE', '09:00', '17:00');
      const made = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: s.id, agentIds: [agents[3].id], dates: ['2027-07-01'] } },
        admin,
      );
      await app.data(UpdateShiftDocument, { id: s.id, input: { startTime: '10:00', endTime: '19:00' } }, admin);
      const after = await app.data(SchedulesDocument, { filter: { from: '2027-07-01', to: '2027-07-01', agentId: agents[3].id } }, admin);
      expect(after.schedules[0].startsAt).toBe(made.assignSchedules.created[0].startsAt);
      const next = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: s.id, agentIds: [agents[3].id], dates: ['2027-07-02'] } },
        admin,
      );
      expect(next.assignSchedules.created[0].startsAt).toBe('2027-07-02T02:00:00.000Z');
    });

    it('removes schedules in scope only', async () => {
      const s = await shift('RM', '09:00', '17:00');
      const made = await app.data(
        AssignSchedulesDocument,
        { input: { shiftId: s.id, agentIds: [agents[2].id], dates: ['2027-08-01'] } },
        admin,
      );
      const id = made.assignSchedules.created[0].id;
      const denied = await app.exec(RemoveSchedulesDocument, { ids: [id] }, supportManager.token);
      expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(await app.data(RemoveSchedulesDocument, { ids: [id] }, salesManager.token)).toEqual({ removeSchedules: [id] });
      const gone = await app.exec(RemoveSchedulesDocument, { ids: [id] }, admin);
      expect(gone.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });
  });

  describe('scheduleBoard', () => {
    // Every stored field of Schedule and User, so the board is compared with what the other reads return.
    const SCHEDULE_FIELDS = 'id agentId shiftId date startsAt endsAt status replacedById replacingId createdAt shift { code }';
    const USER_FIELDS = 'id email displayName employeeCode role departmentId skills maxConcurrentChats active createdAt updatedAt';
    const BOARD = `query ($from: String!, $to: String!, $departmentId: ID) {
      scheduleBoard(from: $from, to: $to, departmentId: $departmentId) {
        from to rows { agent { ${USER_FIELDS} } days { date schedules { ${SCHEDULE_FIELDS} } } }
      }
    }`;
    type Cell = { id: string; agentId: string; shift: { code: string } } & Record<string, unknown>;
    type Board = {
      from: string;
      to: string;
      rows: Array<{
        agent: { id: string; displayName: string } & Record<string, unknown>;
        days: Array<{ date: string; schedules: Cell[] }>;
      }>;
    };
    const from = '2032-03-01';
    const to = '2032-03-03';
    let first: Person; // employee code B001
    let second: Person; // B002: two schedules on the first day
    let gone: Person; // B000, deactivated after being scheduled

    const board = async (token: string, departmentId?: string) =>
      (await app.data<{ scheduleBoard: Board }, unknown>(BOARD, { from, to, departmentId }, token)).scheduleBoard;
    const agentIds = (b: Board) => b.rows.map((r) => r.agent.id);

    beforeAll(async () => {
      second = await app.createUser({ role: 'AGENT', departmentId: sales.id, employeeCode: 'B002', skills: ['退款'] });
      first = await app.createUser({ role: 'AGENT', departmentId: sales.id, employeeCode: 'B001' });
      gone = await app.createUser({ role: 'AGENT', departmentId: sales.id, employeeCode: 'B000' });
      const assign = (shiftId: string, agentIds: string[], dates: string[]) =>
        app.data(AssignSchedulesDocument, { input: { shiftId, agentIds, dates } }, admin);
      // NIGHT first: the order in a cell must come from the start times, not from insertion.
      await assign(night.id, [second.id], [from]);
      await assign(early.id, [first.id, second.id, gone.id, supportAgent.id], [from, '2032-03-02']);
      await app.data(`mutation { deactivateUser(id: "${gone.id}") { id } }`, undefined, admin);
    });

    it('shows a manager their department’s active agents, by employee code then name, each with every day', async () => {
      const b = await board(salesManager.token);
      expect(b).toMatchObject({ from, to });
      expect(agentIds(b).slice(0, 2)).toEqual([first.id, second.id]);
      const uncoded = b.rows.slice(2).map((r) => r.agent);
      expect(new Set(uncoded.map((a) => a.id))).toEqual(new Set(agents.map((a) => a.id)));
      expect(uncoded.map((a) => a.displayName)).toEqual(uncoded.map((a) => a.displayName).sort());
      for (const row of b.rows) expect(row.days.map((d) => d.date)).toEqual(['2032-03-01', '2032-03-02', '2032-03-03']);
      const [day1, day2, day3] = b.rows[1].days;
      expect(day1.schedules.map((s) => s.shift.code)).toEqual(['EARLY', 'NIGHT']);
      expect(day2.schedules.map((s) => s.shift.code)).toEqual(['EARLY']);
      expect(day3.schedules).toEqual([]);
      const scheduled = b.rows.flatMap((r) => r.days.flatMap((d) => d.schedules.map((s) => s.agentId)));
      expect(new Set(scheduled)).toEqual(new Set([first.id, second.id]));
    });

    it('keeps agents to their own department, and admins to the one they name', async () => {
      expect(agentIds(await board(second.token))).toEqual(agentIds(await board(salesManager.token)));
      expect(agentIds(await board(admin, support.id))).toEqual([supportAgent.id]);
      const all = agentIds(await board(admin));
      expect(all).toEqual(expect.arrayContaining([first.id, second.id, supportAgent.id]));
      expect(all).not.toContain(gone.id);
      for (const token of [second.token, salesManager.token]) {
        const res = await app.exec(BOARD, { from, to, departmentId: support.id }, token);
        expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
    });

    it('shows each schedule and agent as the other reads do, createdAt included', async () => {
      const onBoard = (await board(admin, sales.id)).rows.flatMap((r) => r.days.flatMap((d) => d.schedules));
      const listed = (
        await app.data<{ schedules: Cell[] }, unknown>(
          `query ($filter: ScheduleFilter!) { schedules(filter: $filter) { ${SCHEDULE_FIELDS} } }`,
          { filter: { from, to, departmentId: sales.id } },
          admin,
        )
      ).schedules.filter((s) => s.agentId !== gone.id);
      expect(onBoard).toHaveLength(5);
      expect(new Map(onBoard.map((s) => [s.id, s]))).toEqual(new Map(listed.map((s) => [s.id, s])));
      expect(Date.parse(onBoard[0].createdAt as string)).toBeGreaterThan(Date.parse('2020-01-01'));
      const me = (await app.data<{ me: Record<string, unknown> }, unknown>(`{ me { ${USER_FIELDS} } }`, undefined, second.token)).me;
      expect((await board(salesManager.token)).rows[1].agent).toEqual(me);
    });
  });
});
