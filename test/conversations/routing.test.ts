import {
  EndConversationDocument,
  HeartbeatDocument,
  LeaveQueueDocument,
  OnInboxDocument,
  OnQueueUpdatesDocument,
  QueueDocument,
  RequestServiceDocument,
  SetPresenceStatusDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { scheduleNow, shiftCoveringNow } from '../support/shifts';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };

/** The next event that matches: position updates may repeat (each queue change refreshes everyone). */
async function nextMatching<T>(
  sub: { next: (ms?: number) => Promise<{ data?: T | null }> },
  ok: (d: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ev = await sub.next(Math.max(1, until - Date.now()));
    if (ev.data && ok(ev.data)) return ev.data;
  }
}

const ask = (app: TestApp, customer: Person, message = '你好，想问一下', topic = '咨询', priority?: 'URGENT' | 'HIGH' | 'NORMAL' | 'LOW') =>
  app.data(RequestServiceDocument, { input: { topic, message, ...(priority ? { priority } : {}) } }, customer.token);

describe('routing and the queue', () => {
  let app: TestApp;
  let admin: string;
  let sales: { id: string };
  let support: { id: string };
  let manager: Person;

  const customer = () => app.createUser({ role: 'CUSTOMER' });
  /** An agent who is online (heartbeat) and AVAILABLE. */
  const onlineAgent = async (departmentId: string, extra: { maxConcurrentChats?: number; skills?: string[] } = {}) => {
    const agent = await app.createUser({ role: 'AGENT', departmentId, ...extra });
    await app.data(HeartbeatDocument, {}, agent.token);
    return agent;
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', QUEUE_AGEING_SECONDS: '3600' } });
    admin = await app.adminToken();
    sales = await app.createDepartment('售前咨询', 'sales');
    support = await app.createDepartment('技术支持', 'technical');
    manager = await app.createUser({ role: 'MANAGER', departmentId: support.id });
  });
  afterAll(() => app.stop());

  it('assigns the least-loaded available agent of the named department at once, with the first message stored', async () => {
    const a = await onlineAgent(support.id);
    const b = await onlineAgent(support.id);
    await onlineAgent(sales.id);
    const live = watchSubscriptions(app.services.pubsub);
    const inbox = subscribe(app.ws(a.token), OnInboxDocument, {});
    const inboxB = subscribe(app.ws(b.token), OnInboxDocument, {});
    await live.until(2);

    const first = (await ask(app, await customer(), 'APP 登录不了', 'technical')).requestService;
    expect(first).toMatchObject({ status: 'ASSIGNED', position: null, priority: 'NORMAL' });
    expect(first.conversation).toMatchObject({ status: 'ACTIVE', departmentId: support.id, lastSeq: 1 });
    const firstAgent = first.conversation!.agentId!;
    expect([a.id, b.id]).toContain(firstAgent);
    const second = (await ask(app, await customer(), '还是登录不了', '技术支持')).requestService;
    expect(second.conversation!.agentId).toBe(firstAgent === a.id ? b.id : a.id); // the less loaded one

    const events = [await (firstAgent === a.id ? inbox : inboxB).next()];
    expect(events[0].data?.inbox).toMatchObject({
      type: 'ASSIGNED',
      conversationId: first.conversation!.id,
      message: { seq: 1, content: 'APP 登录不了' },
    });
  });

  it('stores the first message masked, its PII kinds listed and the original sealed, and announces the masked text', async () => {
    // A department of its own: the other tests' agents (run in any order) must not take it. The agent may
    // first drain requests other tests left waiting for any department: room for them, and events to skip.
    const privacy = await app.createDepartment('账号安全', 'privacy');
    const a = await onlineAgent(privacy.id, { maxConcurrentChats: 50 });
    const live = watchSubscriptions(app.services.pubsub);
    const inbox = subscribe(app.ws(a.token), OnInboxDocument, {});
    await live.until(1);
    const got = (await ask(app, await customer(), '手机 13812345678 登录不了', 'privacy')).requestService;
    expect(got).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: a.id } });
    const [row] = await app.services.orm.em
      .fork()
      .execute<Array<{ content: string; pii_types: string[]; sealed: Buffer | null; sender_role: string; kind: string }>>(
        `SELECT content, pii_types, sealed, sender_role, kind FROM messages WHERE conversation_id = ? AND seq = 1`,
        [got.conversation!.id],
      );
    expect(row).toMatchObject({ content: '手机 138****5678 登录不了', pii_types: ['PHONE'], sender_role: 'CUSTOMER', kind: 'TEXT' });
    expect(row.sealed).not.toBeNull();
    const assigned = await nextMatching(inbox, (d) => d.inbox.conversationId === got.conversation!.id);
    expect(assigned.inbox).toMatchObject({ type: 'ASSIGNED', message: { seq: 1, content: '手机 138****5678 登录不了' } });
  });

  it('gives a customer with an open conversation that one back', async () => {
    const c = await customer();
    const one = (await ask(app, c)).requestService;
    const again = (await ask(app, c, '又来了')).requestService;
    expect(again.conversation!.id).toBe(one.conversation!.id);
    // With no agent online (this test may run first) it waits for any department: leave, or the next test's
    // agent of capacity 1 takes it on coming online.
    if (again.status === 'QUEUED') await app.data(LeaveQueueDocument, {}, c.token);
  });

  it('queues when nobody can take it, shows the position, and assigns the moment capacity appears', async () => {
    const dept = await app.createDepartment('订单问题', 'order');
    const agent = await onlineAgent(dept.id, { maxConcurrentChats: 1 });
    const busy = (await ask(app, await customer(), '订单', 'order')).requestService;
    expect(busy.status).toBe('ASSIGNED');

    const waiting = await customer();
    const queued = (await ask(app, waiting, '订单查询', 'order')).requestService;
    expect(queued).toMatchObject({ status: 'QUEUED', position: 1, conversation: { status: 'QUEUED' } });
    expect(queued.estimatedWaitSeconds).toBe(300); // 1 × 300 s default handling ÷ capacity 1
    const updates = subscribe(app.ws(waiting.token), OnQueueUpdatesDocument, {});
    expect((await updates.next()).data?.queueUpdates).toMatchObject({ status: 'QUEUED', position: 1 });

    const later = await customer();
    const urgent = (await ask(app, later, '我要投诉，订单无法使用', 'order')).requestService;
    expect(urgent).toMatchObject({ status: 'QUEUED', priority: 'URGENT', position: 1 }); // jumps ahead
    await nextMatching(updates, (d) => d.queueUpdates.position === 2); // pushed down by the urgent one
    const line = (await app.data(QueueDocument, { departmentId: dept.id }, admin)).queue;
    expect(line.map((e) => [e.position, e.conversation.customerId])).toEqual([
      [1, later.id],
      [2, waiting.id],
    ]);

    await app.data(EndConversationDocument, { id: busy.conversation!.id }, agent.token);
    await nextMatching(updates, (d) => d.queueUpdates.position === 1); // the urgent one took the slot, this one moved up
    await app.data(LeaveQueueDocument, {}, later.token).catch(() => undefined); // already assigned: not waiting
  });

  it('lets a waiting customer leave the queue', async () => {
    const dept = await app.createDepartment('账户问题', 'account');
    const c = await customer();
    const queued = (await ask(app, c, '账户', 'account')).requestService;
    expect(queued.status).toBe('QUEUED');
    const left = (await app.data(LeaveQueueDocument, {}, c.token)).leaveQueue;
    expect(left).toMatchObject({ status: 'ENDED', endReason: 'LEFT_QUEUE' });
    expect((await app.data(QueueDocument, { departmentId: dept.id }, admin)).queue).toEqual([]);
    expect((await app.exec(LeaveQueueDocument, {}, c.token)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('skips agents who are offline or not AVAILABLE, and drains when one becomes available', async () => {
    const dept = await app.createDepartment('售后服务', 'after_sales');
    const agent = await onlineAgent(dept.id);
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, agent.token);
    const c = await customer();
    const queued = (await ask(app, c, '退货', 'after_sales')).requestService;
    expect(queued.status).toBe('QUEUED');
    const updates = subscribe(app.ws(c.token), OnQueueUpdatesDocument, {});
    await updates.next(); // the current position
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, agent.token);
    const assigned = await nextMatching(updates, (d) => d.queueUpdates.status !== 'QUEUED');
    expect(assigned.queueUpdates).toMatchObject({ status: 'ASSIGNED', agentId: agent.id });
  });

  it('is refused to staff, and the queue to agents and other departments’ managers', async () => {
    const agent = await app.createUser({ role: 'AGENT', departmentId: sales.id });
    expect(
      (await app.exec(RequestServiceDocument, { input: { topic: 'x', message: 'y' } }, agent.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect((await app.exec(QueueDocument, {}, agent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.exec(QueueDocument, { departmentId: sales.id }, manager.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const bad = await app.exec(RequestServiceDocument, { input: { topic: 'x', message: '   ' } }, (await customer()).token);
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('routing with schedules', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it('only gives customers to agents on a shift now', async () => {
    const admin = await app.adminToken();
    const dept = await app.createDepartment('技术支持', 'technical');
    const offShift = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    await app.data(HeartbeatDocument, {}, offShift.token);
    const c1 = await app.createUser({ role: 'CUSTOMER' });
    expect((await ask(app, c1, '你好', 'technical')).requestService.status).toBe('QUEUED');

    const onShift = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    await scheduleNow(app, await shiftCoveringNow(app, 'NOW'), [onShift.id]);
    await app.data(HeartbeatDocument, {}, onShift.token);
    // Coming online drained the queue to the agent on shift.
    await eventually(
      async () => (await app.data(QueueDocument, { departmentId: dept.id }, admin)).queue.length === 0,
      5000,
      'the queue drained',
    );
    const c2 = await app.createUser({ role: 'CUSTOMER' });
    const direct = (await ask(app, c2, '你好', 'technical')).requestService;
    expect(direct).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: onShift.id } });
  });
});

describe('a full queue', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', QUEUE_MAX_LENGTH: '2' } });
  });
  afterAll(() => app.stop());

  it('answers NO_CAPACITY beyond QUEUE_MAX_LENGTH and stores nothing', async () => {
    const admin = await app.adminToken();
    const dept = await app.createDepartment('投诉建议', 'complaints'); // no agents at all
    const results = [];
    for (let i = 0; i < 4; i++)
      results.push((await ask(app, await app.createUser({ role: 'CUSTOMER' }), '建议', 'complaints')).requestService);
    expect(results.map((r) => r.status)).toEqual(['QUEUED', 'QUEUED', 'NO_CAPACITY', 'NO_CAPACITY']);
    for (const r of results.slice(2)) expect(r.conversation).toBeNull();
    expect((await app.data(QueueDocument, { departmentId: dept.id }, admin)).queue).toHaveLength(2);
    const [{ n }] = await app.services.orm.em.fork().execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM conversations');
    expect(n).toBe(2);
  });
});
