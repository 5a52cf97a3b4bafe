import {
  ApproveLeaveDocument,
  AssignSchedulesDocument,
  CancelLeaveDocument,
  CreateShiftDocument,
  LeaveRequestByIdDocument,
  LeaveRequestsDocument,
  NotificationsDocument,
  RejectLeaveDocument,
  RequestLeaveDocument,
  SchedulesDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082',
  'hex',
);

async function upload(app: TestApp, token: string | null, body: Buffer, name: string, type: string) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(body)], { type }), name);
  const res = await fetch(app.url.replace('/graphql', '/uploads'), {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: form,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('leave requests', () => {
  let app: TestApp;
  let admin: string;
  let dept: { id: string };
  let other: { id: string };
  let manager: Person;
  let otherManager: Person;
  let shiftId: string;

  /** An agent of the department, scheduled on the early shift on each of `dates`: every test makes its own. */
  const scheduledAgent = async (dates: string[], displayName?: string): Promise<Person> => {
    const person = await app.createUser({ role: 'AGENT', departmentId: dept.id, displayName });
    if (dates.length) await app.data(AssignSchedulesDocument, { input: { shiftId, agentIds: [person.id], dates } }, admin);
    return person;
  };
  /** A pending leave of `person` from 2027-05-10 afternoon to 2027-05-11 morning (one day). */
  const askSickLeave = async (person: Person) =>
    (
      await app.data(
        RequestLeaveDocument,
        { input: { startDate: '2027-05-10', startHalf: 'PM', endDate: '2027-05-11', endHalf: 'AM', type: 'SICK', reason: '发烧' } },
        person.token,
      )
    ).requestLeave;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    dept = await app.createDepartment('订单问题', 'order');
    other = await app.createDepartment('账户问题', 'account');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    shiftId = (await app.data(CreateShiftDocument, { input: { name: '早班', code: 'E', startTime: '09:00', endTime: '18:00' } }, admin))
      .createShift.id;
  });
  afterAll(() => app.stop());

  it('are asked with half days, show their length and the schedules they touch, and notify the approver', async () => {
    const agent = await scheduledAgent(['2027-05-10', '2027-05-11', '2027-05-12'], '张三');
    const colleague = await scheduledAgent([]);
    const file = await upload(app, agent.token, PNG, '病假单.png', 'image/png');
    expect(file.status).toBe(201);
    expect(file.body).toMatchObject({ name: '病假单.png', size: PNG.length, contentType: 'image/png', url: `/uploads/${file.body.id}` });

    const req = (
      await app.data(
        RequestLeaveDocument,
        {
          input: {
            startDate: '2027-05-10',
            startHalf: 'PM',
            endDate: '2027-05-11',
            endHalf: 'AM',
            type: 'SICK',
            reason: '发烧',
            attachmentIds: [file.body.id],
          },
        },
        agent.token,
      )
    ).requestLeave;
    expect(req).toMatchObject({
      status: 'PENDING',
      days: 1,
      departmentId: dept.id,
      startsAt: '2027-05-10T04:00:00.000Z',
      endsAt: '2027-05-11T04:00:00.000Z',
    });
    expect(req.affectedSchedules.map((s) => s.date)).toEqual(['2027-05-10', '2027-05-11']);
    expect(req.attachments).toEqual([expect.objectContaining({ id: file.body.id })]);

    const inbox = (await app.data(NotificationsDocument, { first: 5 }, manager.token)).notifications.nodes;
    expect(inbox[0]).toMatchObject({ kind: 'LEAVE_REQUESTED' });
    expect(inbox[0].title).toContain('张三');

    // The manager who decides may read the attachment; another department's may not.
    const base = app.url.replace('/graphql', '');
    const asManager = await fetch(`${base}${file.body.url}`, { headers: { authorization: `Bearer ${manager.token}` } });
    expect(asManager.status).toBe(200);
    expect(Buffer.from(await asManager.arrayBuffer()).equals(PNG)).toBe(true);
    for (const token of [otherManager.token, colleague.token]) {
      expect((await fetch(`${base}${file.body.url}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    }
    expect((await fetch(`${base}${file.body.url}`)).status).toBe(401);
  });

  it('refuses uploads that are not images or PDF, or too big', async () => {
    const agent = await scheduledAgent([]);
    expect((await upload(app, agent.token, Buffer.from('hello'), 'a.txt', 'text/plain')).status).toBe(415);
    expect((await upload(app, agent.token, Buffer.from('not really a png at all'), 'fake.png', 'image/png')).status).toBe(415);
    const big = Buffer.alloc(10 * 1024 * 1024 + 10, 0);
    Buffer.from('%PDF-1.7\n').copy(big);
    const res = await upload(app, agent.token, big, 'big.pdf', 'application/pdf');
    expect(res.status).toBe(413);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await upload(app, null, PNG, 'a.png', 'image/png')).status).toBe(401);
  });

  it('refuse bad periods, overlaps with one’s own live leave, and others’ files, writing nothing', async () => {
    const agent = await scheduledAgent(['2027-05-10', '2027-05-11', '2027-05-12']);
    const colleague = await scheduledAgent([]);
    await askSickLeave(agent);
    const ask = (input: Record<string, unknown>, token = agent.token) =>
      app.exec(RequestLeaveDocument, { input: { type: 'PERSONAL', ...input } as never }, token);
    const backwards = await ask({ startDate: '2027-05-11', endDate: '2027-05-10' });
    expect(backwards.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'endDate', message: 'must not be before the start' }],
    });
    expect(
      (await ask({ startDate: '2027-05-11', startHalf: 'PM', endDate: '2027-05-11', endHalf: 'AM' })).errors?.[0].extensions?.code,
    ).toBe('BAD_USER_INPUT');
    expect((await ask({ startDate: '2026-02-30', endDate: '2026-03-01' })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const overlap = await ask({ startDate: '2027-05-11', startHalf: 'AM', endDate: '2027-05-12' });
    expect(overlap.errors?.[0].extensions?.code).toBe('CONFLICT');
    const theirs = await upload(app, colleague.token, PNG, 'x.png', 'image/png');
    const stolen = await ask({ startDate: '2027-06-01', endDate: '2027-06-01', attachmentIds: [theirs.body.id] });
    expect(stolen.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const mine = await app.data(LeaveRequestsDocument, {}, agent.token);
    expect(mine.leaveRequests.nodes).toHaveLength(1);
  });

  it('are approved by the department’s manager only, once, marking the schedules ON_LEAVE, with an audit trail', async () => {
    const agent = await scheduledAgent(['2027-05-10', '2027-05-11', '2027-05-12']);
    const colleague = await scheduledAgent([]);
    const req = await askSickLeave(agent);
    expect((await app.exec(ApproveLeaveDocument, { id: req.id }, otherManager.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.exec(ApproveLeaveDocument, { id: req.id }, colleague.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');

    const approved = (await app.data(ApproveLeaveDocument, { id: req.id, comment: '好好休息' }, manager.token)).approveLeave;
    expect(approved).toMatchObject({ status: 'APPROVED', decidedById: manager.id, decisionComment: '好好休息' });
    expect(approved.affectedSchedules.map((s) => s.status)).toEqual(['ON_LEAVE', 'ON_LEAVE']);
    const again = await app.exec(ApproveLeaveDocument, { id: req.id }, manager.token);
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
    const reject = await app.exec(RejectLeaveDocument, { id: req.id }, admin);
    expect(reject.errors?.[0].extensions?.code).toBe('CONFLICT');

    const detail = (await app.data(LeaveRequestByIdDocument, { id: req.id }, agent.token)).leaveRequest;
    expect(detail.auditTrail.map((e) => [e.action, e.actorId, e.actorRole, e.comment])).toEqual([
      ['leave.request', agent.id, 'AGENT', '发烧'],
      ['leave.approve', manager.id, 'MANAGER', '好好休息'],
    ]);
    const told = (await app.data(NotificationsDocument, { first: 1 }, agent.token)).notifications.nodes[0];
    // staff read English unless they chose zh-CN (setMyLocale) or ask for it (Accept-Language): docs/i18n.md
    expect(told).toMatchObject({ kind: 'LEAVE_DECIDED', title: 'Leave approved' });

    // Scheduling the agent during approved leave is an ON_LEAVE conflict.
    const blocked = await app.data(
      AssignSchedulesDocument,
      { input: { shiftId, agentIds: [agent.id], dates: ['2027-05-09'], mode: 'SKIP_CONFLICTS' } },
      admin,
    );
    expect(blocked.assignSchedules.createdCount).toBe(1);
    const late = (await app.data(CreateShiftDocument, { input: { name: '晚班', code: 'L', startTime: '19:00', endTime: '23:00' } }, admin))
      .createShift;
    const onLeave = await app.data(
      AssignSchedulesDocument,
      { input: { shiftId: late.id, agentIds: [agent.id], dates: ['2027-05-10'] } },
      admin,
    );
    expect(onLeave.assignSchedules.conflicts).toEqual([expect.objectContaining({ reason: 'ON_LEAVE', date: '2027-05-10' })]);
  });

  it('are never decided by the requester, and rejected ones cannot be approved', async () => {
    const own = (
      await app.data(RequestLeaveDocument, { input: { startDate: '2027-07-01', endDate: '2027-07-02', type: 'ANNUAL' } }, manager.token)
    ).requestLeave;
    expect((await app.exec(ApproveLeaveDocument, { id: own.id }, manager.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const rejected = (await app.data(RejectLeaveDocument, { id: own.id, comment: '旺季' }, admin)).rejectLeave;
    expect(rejected.status).toBe('REJECTED');
    expect((await app.exec(ApproveLeaveDocument, { id: own.id }, admin)).errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('are cancelled by the requester while pending; once approved only an admin cancels, restoring the schedules', async () => {
    const agent = await scheduledAgent(['2027-05-10', '2027-05-11']);
    const colleague = await scheduledAgent([]);
    const asked = await askSickLeave(agent);
    expect(
      (await app.data(ApproveLeaveDocument, { id: asked.id }, manager.token)).approveLeave.affectedSchedules.map((s) => s.status),
    ).toEqual(['ON_LEAVE', 'ON_LEAVE']);
    const pending = (
      await app.data(RequestLeaveDocument, { input: { startDate: '2027-08-01', endDate: '2027-08-01', type: 'PERSONAL' } }, colleague.token)
    ).requestLeave;
    expect((await app.exec(CancelLeaveDocument, { id: pending.id }, agent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.data(CancelLeaveDocument, { id: pending.id }, colleague.token)).cancelLeave.status).toBe('CANCELLED');

    const [approved] = (await app.data(LeaveRequestsDocument, { filter: { status: 'APPROVED', requesterId: agent.id } }, admin))
      .leaveRequests.nodes;
    expect((await app.exec(CancelLeaveDocument, { id: approved.id }, agent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.exec(CancelLeaveDocument, { id: approved.id }, manager.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const cancelled = (await app.data(CancelLeaveDocument, { id: approved.id, comment: '提前返岗' }, admin)).cancelLeave;
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.affectedSchedules.map((s) => s.status)).toEqual(['NORMAL', 'NORMAL']);
    const days = await app.data(SchedulesDocument, { filter: { from: '2027-05-10', to: '2027-05-11', agentId: agent.id } }, admin);
    expect(days.schedules.every((s) => s.status === 'NORMAL')).toBe(true);
  });

  it('never lets concurrent requests overlap (the exclusion constraint decides)', async () => {
    const racer = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        app.exec(
          RequestLeaveDocument,
          { input: { startDate: '2027-09-01', endDate: `2027-09-${String(2 + (i % 5)).padStart(2, '0')}`, type: 'ANNUAL' } },
          racer.token,
        ),
      ),
    );
    expect(results.filter((r) => r.data?.requestLeave).length).toBe(1);
    expect(results.filter((r) => r.errors?.[0].extensions?.code === 'CONFLICT').length).toBe(11);
    expect((await app.data(LeaveRequestsDocument, {}, racer.token)).leaveRequests.nodes).toHaveLength(1);
  });

  it('are listed in scope: agents their own, managers their department', async () => {
    const [agent, colleague] = [await scheduledAgent([]), await scheduledAgent([])];
    for (const [person, date] of [
      [agent, '2027-11-01'],
      [colleague, '2027-11-02'],
      [colleague, '2027-11-03'],
    ] as const) {
      await app.data(RequestLeaveDocument, { input: { startDate: date, endDate: date, type: 'PERSONAL' } }, person.token);
    }
    const mine = (await app.data(LeaveRequestsDocument, {}, colleague.token)).leaveRequests.nodes;
    expect(new Set(mine.map((l) => l.requesterId))).toEqual(new Set([colleague.id]));
    expect(
      (await app.exec(LeaveRequestsDocument, { filter: { requesterId: agent.id } }, colleague.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    const dep = (await app.data(LeaveRequestsDocument, {}, manager.token)).leaveRequests.nodes;
    expect(dep.filter((l) => [agent.id, colleague.id].includes(l.requesterId))).toHaveLength(3);
    expect(dep.every((l) => l.departmentId === dept.id)).toBe(true);
    expect((await app.data(LeaveRequestsDocument, {}, otherManager.token)).leaveRequests.nodes).toEqual([]);
    expect((await app.exec(LeaveRequestByIdDocument, { id: dep[0].id }, otherManager.token)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    const customer = await app.createUser({ role: 'CUSTOMER' });
    expect((await app.exec(LeaveRequestsDocument, {}, customer.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
