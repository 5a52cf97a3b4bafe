import { HeartbeatDocument, QueueDocument, RequestServiceDocument } from '../generated/graphql';
import { queueWaitSeconds } from '../../src/modules/staffing/erlang';
import { startTestApp, TestApp } from '../support/harness';

/**
 * Issue 14, item 4: the waiting customer's estimatedWaitSeconds comes from the staffing model with live figures:
 * position × AHT ÷ (available seats − URGENT arrivals per second × AHT). AHT is the default 300 s here (no ended
 * chats yet).
 */
describe('the queue estimate uses the staffing model with live figures', () => {
  let app: TestApp;
  let admin: string;

  const customer = () => app.createUser({ role: 'CUSTOMER' });
  const ask = async (topic: string, message: string) =>
    (await app.data(RequestServiceDocument, { input: { topic, message } }, (await customer()).token)).requestService;
  const onlineAgent = async (departmentId: string, maxConcurrentChats: number) => {
    const agent = await app.createUser({ role: 'AGENT', departmentId, maxConcurrentChats });
    await app.data(HeartbeatDocument, {}, agent.token);
    return agent;
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', QUEUE_AGEING_SECONDS: '3600' } });
    admin = await app.adminToken();
  });
  afterAll(() => app.stop());

  it('divides the line among the available seats', async () => {
    const dept = await app.createDepartment('账单', 'billing');
    await onlineAgent(dept.id, 2);
    expect((await ask('billing', '账单问题')).status).toBe('ASSIGNED');
    expect((await ask('billing', '账单问题')).status).toBe('ASSIGNED');
    const queued = await ask('billing', '账单问题');
    expect(queued).toMatchObject({ status: 'QUEUED', position: 1 });
    expect(queued.estimatedWaitSeconds).toBe(queueWaitSeconds(1, 2, 300)); // 1 × 300 ÷ 2 = 150
    expect(queued.estimatedWaitSeconds).toBe(150);
  });

  it('counts the seats urgent arrivals take ahead of those waiting, and the manager’s queue shows the same figure', async () => {
    const dept = await app.createDepartment('物流', 'logistics');
    await onlineAgent(dept.id, 1);
    const urgent = await ask('logistics', '我要投诉，包裹无法使用');
    expect(urgent).toMatchObject({ status: 'ASSIGNED', priority: 'URGENT' });
    const queued = await ask('logistics', '物流查询');
    expect(queued).toMatchObject({ status: 'QUEUED', position: 1, priority: 'NORMAL' });
    // One URGENT request in the last 30 minutes: λ = 1/1800 per second, holding a seat 300 s (⅙ of a seat):
    // 1 × 300 ÷ (1 − 1/6) = 360.
    expect(queued.estimatedWaitSeconds).toBe(360);
    expect(queued.estimatedWaitSeconds).toBe(queueWaitSeconds(1, 1, 300, 1 / 1800));
    const line = (await app.data(QueueDocument, { departmentId: dept.id }, admin)).queue;
    expect(line.map((e) => e.estimatedWaitSeconds)).toEqual([360]);
  });

  it('is null, not a made-up number, when no seat is available', async () => {
    await app.createDepartment('无人', 'empty');
    const queued = await ask('empty', '有人吗');
    expect(queued.status).toBe('QUEUED');
    expect(queued.estimatedWaitSeconds).toBeNull();
  });
});
