import { DateTime } from 'luxon';
import { AssignSchedulesDocument, CheckSwapDocument, CreateShiftDocument, RequestSwapDocument } from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };

/**
 * Swap work rules (issue 14, item 7): minimum notice before the shift, and for every agent of a hand-over,
 * swap or chain the rest time and weekly hours after the whole rotation. MAX_WEEKLY_HOURS is 20 here.
 */
describe('swap work rules: notice, rest, weekly hours', () => {
  let app: TestApp;
  let admin: string;
  let departmentId: string;
  const shifts: Record<string, string> = {};
  const MONDAY = '2027-03-01';
  const plus = (days: number) => DateTime.fromISO(MONDAY).plus({ days }).toISODate()!;

  const schedule = async (agent: Person, code: string, date: string) =>
    (await app.data(AssignSchedulesDocument, { input: { shiftId: shifts[code], agentIds: [agent.id], dates: [date] } }, admin))
      .assignSchedules.created[0].id;

  beforeAll(async () => {
    app = await startTestApp({ env: { MAX_WEEKLY_HOURS: '20', SWAP_MIN_NOTICE_HOURS: '24', MIN_REST_HOURS: '11' } });
    admin = await app.adminToken();
    const dept = await app.createDepartment('技术支持', 'technical');
    departmentId = dept.id;
    // SOON starts in about 10 hours from now (in the business time zone), whatever the time of the run.
    const soon = DateTime.now().setZone('Asia/Shanghai').plus({ hours: 10 }).startOf('hour');
    shifts.SOONDATE = soon.toISODate()!;
    for (const [code, start, end] of [
      ['E', '06:00', '14:00'],
      ['L', '14:00', '22:00'],
      ['SOON', soon.toFormat('HH:mm'), soon.plus({ hours: 1 }).toFormat('HH:mm')],
    ]) {
      shifts[code] = (
        await app.data(CreateShiftDocument, { input: { name: code, code, startTime: start, endTime: end } }, admin)
      ).createShift.id;
    }
  });
  afterAll(() => app.stop());

  /** Three agents of the test's own, so the schedules of other tests never count in its rest or weekly hours. */
  const threeAgents = (): Promise<Person[]> => Promise.all([0, 1, 2].map(() => app.createUser({ role: 'AGENT', departmentId })));

  const reasons = async (token: string, steps: Array<{ scheduleId: string; toAgentId: string }>) =>
    (await app.data(CheckSwapDocument, { input: { steps } }, token)).checkSwap.conflicts.map((x) => [x.reason, x.scheduleId, x.toAgentId]);

  it('refuses a swap less than SWAP_MIN_NOTICE_HOURS before the shift, with the reason', async () => {
    const [a, b] = await threeAgents();
    const soon = await schedule(a, 'SOON', shifts.SOONDATE);
    expect(await reasons(a.token, [{ scheduleId: soon, toAgentId: b.id }])).toEqual([['NOT_ENOUGH_NOTICE', soon, b.id]]);
    const res = await app.exec(RequestSwapDocument, { input: { steps: [{ scheduleId: soon, toAgentId: b.id }] } }, a.token);
    expect(res.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect((res.errors?.[0].extensions?.conflicts as Array<{ reason: string }>).map((x) => x.reason)).toEqual(['NOT_ENOUGH_NOTICE']);
  });

  it('refuses a hand-over that leaves the receiver less than MIN_REST_HOURS of rest', async () => {
    const [a, b, c] = await threeAgents();
    const late = await schedule(a, 'L', plus(0)); // Monday 14:00–22:00
    const early = await schedule(b, 'E', plus(1)); // Tuesday 06:00: 8 hours after 22:00
    const check = (await app.data(CheckSwapDocument, { input: { steps: [{ scheduleId: late, toAgentId: b.id }] } }, a.token)).checkSwap;
    expect(check.ok).toBe(false);
    expect(check.conflicts).toEqual([
      expect.objectContaining({ reason: 'REST_TOO_SHORT', scheduleId: late, toAgentId: b.id, conflictingScheduleId: early }),
    ]);
    // c has nothing near it: fine.
    expect((await app.data(CheckSwapDocument, { input: { steps: [{ scheduleId: late, toAgentId: c.id }] } }, a.token)).checkSwap.ok).toBe(
      true,
    );
  });

  it('checks every agent of a chain, not only the first', async () => {
    const [a, b, c] = await threeAgents();
    // A → B → C → A: C receives B's Thursday late shift, and keeps its own Friday early one (8 h of rest).
    const aE = await schedule(a, 'E', plus(10));
    const bL = await schedule(b, 'L', plus(3));
    const cE = await schedule(c, 'E', plus(4));
    const cOther = await schedule(c, 'E', plus(12));
    const steps = [
      { scheduleId: aE, toAgentId: b.id },
      { scheduleId: bL, toAgentId: c.id },
      { scheduleId: cOther, toAgentId: a.id },
    ];
    const check = (await app.data(CheckSwapDocument, { input: { steps } }, admin)).checkSwap;
    expect(check.conflicts).toEqual([
      expect.objectContaining({ reason: 'REST_TOO_SHORT', scheduleId: bL, toAgentId: c.id, conflictingScheduleId: cE }),
    ]);
    const res = await app.exec(RequestSwapDocument, { input: { steps } }, admin);
    expect(res.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('refuses a swap that takes the receiver over MAX_WEEKLY_HOURS in that week', async () => {
    const [, b, c] = await threeAgents();
    await schedule(c, 'L', plus(14)); // Monday
    await schedule(c, 'L', plus(15)); // Tuesday: 16 hours so far
    const wed = await schedule(b, 'L', plus(16));
    const check = (await app.data(CheckSwapDocument, { input: { steps: [{ scheduleId: wed, toAgentId: c.id }] } }, b.token)).checkSwap;
    expect(check.conflicts).toEqual([expect.objectContaining({ reason: 'WEEKLY_HOURS', scheduleId: wed, toAgentId: c.id })]);
    expect(check.conflicts[0].message).toMatch(/24 hours/);
    // The next week starts afresh: a Monday shift of the following week is fine for c.
    const nextMonday = await schedule(b, 'L', plus(21));
    expect(
      (await app.data(CheckSwapDocument, { input: { steps: [{ scheduleId: nextMonday, toAgentId: c.id }] } }, b.token)).checkSwap.ok,
    ).toBe(true);
  });
});
