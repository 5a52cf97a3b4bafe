import { HeartbeatDocument, RequestServiceDocument, SetPresenceStatusDocument } from '../generated/graphql';
import { QueueReason, queueReasonOf } from '../../src/modules/conversations/queue-reason';
import { startTestApp, TestApp } from '../support/harness';
import { scheduleNow, shiftCoveringNow } from '../support/shifts';

describe('queueReasonOf', () => {
  it('names the first step of eligibility that nobody passes', () => {
    expect(queueReasonOf({ matching: 0, onDuty: 0, online: 0 })).toBe(QueueReason.NO_AGENT_WITH_SKILL);
    expect(queueReasonOf({ matching: 3, onDuty: 0, online: 0 })).toBe(QueueReason.NO_AGENT_ON_SHIFT);
    expect(queueReasonOf({ matching: 3, onDuty: 2, online: 0 })).toBe(QueueReason.NO_AGENT_ONLINE);
    expect(queueReasonOf({ matching: 3, onDuty: 2, online: 1 })).toBe(QueueReason.ALL_AGENTS_BUSY);
  });
});

describe('why a customer waits (requestService.queueReason and estimateBasis)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(); // ROUTING_REQUIRE_SHIFT on, as in production
  });
  afterAll(() => app.stop());

  const ask = async (topic: string) =>
    (
      await app.data(
        RequestServiceDocument,
        { input: { topic, message: '请问门票什么时候开售？' } },
        (await app.createUser({ role: 'CUSTOMER' })).token,
      )
    ).requestService;

  it('says which step of eligibility nobody passed, and what the estimate is made of', async () => {
    const dept = await app.createDepartment('票务咨询', 'box_office');

    // Nobody in the department.
    const first = await ask('box_office');
    expect(first).toMatchObject({
      status: 'QUEUED',
      position: 1,
      queueReason: 'NO_AGENT_WITH_SKILL',
      estimatedWaitSeconds: null,
      estimateBasis: { position: 1, averageHandlingSeconds: 300, handlingTimeSource: 'DEFAULT', recentChats: 0, eligibleCapacity: 0 },
    });

    // An agent who is online but has no shift now.
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 1 });
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, agent.token);
    await app.data(HeartbeatDocument, {}, agent.token);
    expect(await ask('box_office')).toMatchObject({ status: 'QUEUED', position: 2, queueReason: 'NO_AGENT_ON_SHIFT' });

    // On a shift now, online and BUSY: everyone who could serve is busy.
    const shift = await shiftCoveringNow(app, 'NOW');
    await scheduleNow(app, shift, [agent.id]);
    expect(await ask('box_office')).toMatchObject({ status: 'QUEUED', position: 3, queueReason: 'ALL_AGENTS_BUSY' });

    // On a shift, but offline: a colleague on the same shift who never signed in.
    const dept2 = await app.createDepartment('票务二线', 'box_office_2');
    const absent = await app.createUser({ role: 'AGENT', departmentId: dept2.id });
    await scheduleNow(app, shift, [absent.id]);
    expect(await ask('box_office_2')).toMatchObject({ status: 'QUEUED', position: 1, queueReason: 'NO_AGENT_ONLINE' });

    // Assigned at once: no reason, no basis.
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, agent.token);
    const dept3 = await app.createDepartment('票务三线', 'box_office_3');
    const ready = await app.createUser({ role: 'AGENT', departmentId: dept3.id });
    await scheduleNow(app, shift, [ready.id]);
    await app.data(HeartbeatDocument, {}, ready.token);
    expect(await ask('box_office_3')).toMatchObject({ status: 'ASSIGNED', queueReason: null, estimateBasis: null });
  });
});
