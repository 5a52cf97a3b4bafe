import {
  ApproveSwapDocument,
  AssignSchedulesDocument,
  CancelSwapDocument,
  CheckSwapDocument,
  CreateShiftDocument,
  NotificationsDocument,
  RejectSwapDocument,
  RequestSwapDocument,
  ScheduleByIdDocument,
  SwapCandidatesDocument,
  SwapRequestByIdDocument,
  SwapRequestsDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };

describe('shift swaps, hand-overs and chains', () => {
  let app: TestApp;
  let admin: string;
  let dept: { id: string };
  let otherDept: { id: string };
  let manager: Person;
  let otherManager: Person;
  let a: Person;
  let b: Person;
  let c: Person;
  let d: Person;
  let outsider: Person;
  const shifts: Record<string, string> = {};

  const schedule = async (agent: Person, code: string, date: string) =>
    (await app.data(AssignSchedulesDocument, { input: { shiftId: shifts[code], agentIds: [agent.id], dates: [date] } }, admin))
      .assignSchedules.created[0].id;
  const statusOf = async (id: string, date: string) =>
    (await app.data(ScheduleByIdDocument, { filter: { from: date, to: date } }, admin)).schedules.find((s) => s.id === id)!;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    dept = await app.createDepartment('技术支持', 'technical');
    otherDept = await app.createDepartment('售前咨询', 'sales');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: otherDept.id });
    [a, b, c, outsider] = await Promise.all([0, 1, 2, 3].map(() => app.createUser({ role: 'AGENT', departmentId: dept.id })));
    d = await app.createUser({ role: 'AGENT', departmentId: otherDept.id });
    for (const [code, start, end] of [
      ['E', '09:00', '17:00'],
      ['L', '13:00', '21:00'],
    ]) {
      shifts[code] = (
        await app.data(CreateShiftDocument, { input: { name: code, code, startTime: start, endTime: end } }, admin)
      ).createShift.id;
    }
  });
  afterAll(() => app.stop());

  it('lists candidates who work that date in the same department', async () => {
    const aE = await schedule(a, 'E', '2027-10-01');
    await schedule(b, 'L', '2027-10-01');
    await schedule(d, 'L', '2027-10-01');
    const cands = (await app.data(SwapCandidatesDocument, { scheduleId: aE }, a.token)).swapCandidates;
    expect(cands.map((x) => x.agent.id)).toEqual([b.id]);
    expect(cands[0]).toMatchObject({ hasPendingSwap: false, schedules: [expect.objectContaining({ date: '2027-10-01' })] });
    expect((await app.exec(SwapCandidatesDocument, { scheduleId: aE }, b.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('checks without writing: a plain swap fits; a hand-over that doubles up the receiver overlaps', async () => {
    // Agents of their own: the check must leave no swap request behind, whatever ran before.
    const [p, q] = await Promise.all([0, 1].map(() => app.createUser({ role: 'AGENT', departmentId: dept.id })));
    const pE = await schedule(p, 'E', '2027-10-03');
    const qL = await schedule(q, 'L', '2027-10-03');
    const swap = await app.data(
      CheckSwapDocument,
      {
        input: {
          steps: [
            { scheduleId: pE, toAgentId: q.id },
            { scheduleId: qL, toAgentId: p.id },
          ],
        },
      },
      p.token,
    );
    expect(swap.checkSwap).toEqual({ ok: true, conflicts: [] });
    const handOver = await app.data(CheckSwapDocument, { input: { steps: [{ scheduleId: pE, toAgentId: q.id }] } }, p.token);
    expect(handOver.checkSwap.ok).toBe(false);
    expect(handOver.checkSwap.conflicts).toEqual([
      expect.objectContaining({ scheduleId: pE, reason: 'OVERLAP', conflictingScheduleId: qL }),
    ]);
    const theirs = (await app.data(SwapRequestsDocument, {}, admin)).swapRequests.nodes.filter((r) =>
      r.participantIds.some((id) => id === p.id || id === q.id),
    );
    expect(theirs).toEqual([]);
  });

  it('refuses malformed steps with a clear error', async () => {
    const aE = await schedule(a, 'E', '2027-10-04');
    const twice = await app.exec(
      CheckSwapDocument,
      {
        input: {
          steps: [
            { scheduleId: aE, toAgentId: b.id },
            { scheduleId: aE, toAgentId: c.id },
          ],
        },
      },
      a.token,
    );
    expect(twice.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const toSelf = await app.exec(RequestSwapDocument, { input: { steps: [{ scheduleId: aE, toAgentId: a.id }] } }, a.token);
    expect(toSelf.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const eleven = await app.exec(
      CheckSwapDocument,
      { input: { steps: Array.from({ length: 11 }, () => ({ scheduleId: aE, toAgentId: b.id })) } },
      a.token,
    );
    expect(eleven.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await app.exec(
      CheckSwapDocument,
      { input: { steps: [{ scheduleId: '00000000-0000-4000-8000-000000000000', toAgentId: b.id }] } },
      a.token,
    );
    expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const toCustomer = await app.exec(CheckSwapDocument, { input: { steps: [{ scheduleId: aE, toAgentId: customer.id }] } }, a.token);
    expect(toCustomer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('applies a chain A→B→C→A at once on approval, linking old and new schedules, with an audit trail', async () => {
    const aE = await schedule(a, 'E', '2027-10-10');
    const bL = await schedule(b, 'L', '2027-10-10');
    const cE = await schedule(c, 'E', '2027-10-11');
    const steps = [
      { scheduleId: aE, toAgentId: b.id },
      { scheduleId: bL, toAgentId: c.id },
      { scheduleId: cE, toAgentId: a.id },
    ];
    expect((await app.exec(RequestSwapDocument, { input: { steps } }, outsider.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const req = (await app.data(RequestSwapDocument, { input: { steps, reason: '家里有事' } }, a.token)).requestSwap;
    expect(req).toMatchObject({ status: 'PENDING', requesterId: a.id });
    expect(new Set(req.participantIds)).toEqual(new Set([a.id, b.id, c.id]));
    expect((await app.data(NotificationsDocument, { first: 1 }, manager.token)).notifications.nodes[0].kind).toBe('SWAP_REQUESTED');

    // A schedule can be in one pending swap only.
    const second = await app.exec(RequestSwapDocument, { input: { steps: [{ scheduleId: aE, toAgentId: c.id }] } }, manager.token);
    expect(second.errors?.[0].extensions?.code).toBe('CONFLICT');
    const cands = (await app.data(SwapCandidatesDocument, { scheduleId: aE }, a.token)).swapCandidates;
    expect(cands.find((x) => x.agent.id === b.id)?.hasPendingSwap).toBe(true);

    expect((await app.exec(ApproveSwapDocument, { id: req.id }, otherManager.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.exec(ApproveSwapDocument, { id: req.id }, b.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const approved = (await app.data(ApproveSwapDocument, { id: req.id, comment: '同意' }, manager.token)).approveSwap;
    expect(approved.status).toBe('APPROVED');
    expect(approved.steps.map((s) => [s.newSchedule?.agentId, s.newSchedule?.replacingId, s.newSchedule?.status])).toEqual([
      [b.id, aE, 'NORMAL'],
      [c.id, bL, 'NORMAL'],
      [a.id, cE, 'NORMAL'],
    ]);
    const old = await statusOf(aE, '2027-10-10');
    expect(old).toMatchObject({ status: 'SWAPPED_OUT', replacedBy: { agentId: b.id } });
    expect((await app.exec(ApproveSwapDocument, { id: req.id }, manager.token)).errors?.[0].extensions?.code).toBe('CONFLICT');

    const trail = (await app.data(SwapRequestByIdDocument, { id: req.id }, c.token)).swapRequest.auditTrail;
    expect(trail.map((e) => [e.action, e.actorId, e.actorRole])).toEqual([
      ['swap.request', a.id, 'AGENT'],
      ['swap.approve', manager.id, 'MANAGER'],
    ]);
    const [note] = (await app.data(NotificationsDocument, { first: 1 }, c.token)).notifications.nodes;
    expect(note).toMatchObject({ kind: 'SWAP_DECIDED', title: 'Shift swap approved' }); // staff read English by default
  });

  it('re-checks on approval and changes nothing when a step no longer fits', async () => {
    const aE = await schedule(a, 'E', '2027-10-20');
    const req = (await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId: aE, toAgentId: c.id }] } }, a.token)).requestSwap;
    await schedule(c, 'L', '2027-10-20'); // c now works 13–21 that day: taking 09–17 would overlap
    const res = await app.exec(ApproveSwapDocument, { id: req.id }, manager.token);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', conflicts: [expect.objectContaining({ reason: 'OVERLAP' })] });
    expect((await statusOf(aE, '2027-10-20')).status).toBe('NORMAL');
    expect((await app.data(SwapRequestByIdDocument, { id: req.id }, admin)).swapRequest.status).toBe('PENDING');
    expect((await app.data(CancelSwapDocument, { id: req.id }, a.token)).cancelSwap.status).toBe('CANCELLED');
  });

  it('lets the requester cancel and a manager reject; a rejected swap cannot be approved', async () => {
    const bL = await schedule(b, 'L', '2027-10-25');
    const req = (await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId: bL, toAgentId: c.id }] } }, b.token)).requestSwap;
    expect((await app.exec(CancelSwapDocument, { id: req.id }, c.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.data(RejectSwapDocument, { id: req.id, comment: '人手不足' }, manager.token)).rejectSwap.status).toBe('REJECTED');
    expect((await app.exec(ApproveSwapDocument, { id: req.id }, admin)).errors?.[0].extensions?.code).toBe('CONFLICT');
    // The schedule is free for a new request again.
    const again = await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId: bL, toAgentId: a.id }] } }, b.token);
    expect(again.requestSwap.status).toBe('PENDING');
  });

  it('lets only one of many concurrent requests claim a schedule (a partial unique index decides)', async () => {
    const aE = await schedule(a, 'E', '2027-11-01');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        app.exec(RequestSwapDocument, { input: { steps: [{ scheduleId: aE, toAgentId: i % 2 ? b.id : c.id }] } }, manager.token),
      ),
    );
    expect(results.filter((r) => r.data?.requestSwap).length).toBe(1);
    expect(results.filter((r) => r.errors?.[0].extensions?.code === 'CONFLICT').length).toBe(9);
  });

  it('shows agents only the swaps they take part in', async () => {
    // A swap of c's own, whatever ran before: c hands a schedule over to b.
    const cE = await schedule(c, 'E', '2027-12-07');
    const handOver = (await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId: cE, toAgentId: b.id }] } }, c.token))
      .requestSwap;
    const mine = (await app.data(SwapRequestsDocument, {}, outsider.token)).swapRequests.nodes;
    expect(mine).toEqual([]);
    const cs = (await app.data(SwapRequestsDocument, {}, c.token)).swapRequests.nodes;
    expect(cs.map((s) => s.id)).toContain(handOver.id);
    expect(cs.every((s) => s.participantIds.includes(c.id))).toBe(true);
    expect((await app.data(SwapRequestsDocument, {}, otherManager.token)).swapRequests.nodes).toEqual([]);
  });
});
