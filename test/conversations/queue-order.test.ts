import { randomUUID } from 'node:crypto';
import {
  HeartbeatDocument,
  LeaveQueueDocument,
  OnQueueUpdatesDocument,
  OnQueueUpdatesSubscription,
  QueueDocument,
  RequestServiceDocument,
  SetPresenceStatusDocument,
} from '../generated/graphql';
import { QueueUpdatePayload, QueueUpdateStatus, sameQueueState } from '../../src/modules/conversations/conversation.events';
import { createMemoryPubSub } from '../../src/platform/realtime/pubsub';
import { startingWith } from '../../src/platform/realtime/starting-with';
import { drain, eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

const AGEING_SECONDS = 60;
type Person = { id: string; token: string };

/**
 * The line as the database orders it: priorities and waiting times are written into the rows at fixed offsets,
 * and the expected order is worked out by hand below (a level up per full AGEING_SECONDS waited, then the
 * longest wait first), not by calling the ageing rule.
 */
describe('the queue’s order (QUEUE_AGEING_SECONDS=60)', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', QUEUE_AGEING_SECONDS: String(AGEING_SECONDS) } });
    live = watchSubscriptions(app.services.pubsub);
  });
  afterAll(() => app.stop());

  /** A department whose only agent is BUSY and offline, and `n` customers waiting in it. */
  async function line(n: number) {
    const suffix = randomUUID().slice(0, 6);
    const dept = await app.createDepartment(`排队 ${suffix}`, `line_${suffix}`);
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 1 });
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, agent.token);
    const customers: Array<Person & { conversationId: string }> = [];
    for (let i = 0; i < n; i++) {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const asked = await app.data(RequestServiceDocument, { input: { topic: dept.code, message: '你好，请问在吗' } }, customer.token);
      expect(asked.requestService.status).toBe('QUEUED');
      customers.push({ ...customer, conversationId: asked.requestService.conversation!.id });
    }
    return { dept, manager, agent, customers };
  }

  /** Sets a waiting conversation's priority and how long ago it joined. */
  const place = (conversationId: string, priority: 'URGENT' | 'HIGH' | 'NORMAL' | 'LOW', waitedSeconds: number) =>
    app.services.orm.em
      .fork()
      .execute(
        `UPDATE conversations SET priority = ?::service_priority, priority_rank = ?, queued_at = now() - ? * interval '1 second' WHERE id = ?`,
        [priority, { URGENT: 0, HIGH: 1, NORMAL: 2, LOW: 3 }[priority], waitedSeconds, conversationId],
      );

  it('lifts a request a level per full interval waited, serves equal levels longest-waiting first, and the next free seat takes the head', async () => {
    const { dept, manager, agent, customers } = await line(5);
    const [a, b, c, d, e] = customers;
    await place(a.conversationId, 'LOW', 200); // 3 levels up: URGENT, waiting longest
    await place(b.conversationId, 'URGENT', 10); // URGENT
    await place(c.conversationId, 'NORMAL', 70); // 1 level up: HIGH
    await place(d.conversationId, 'HIGH', 5); // HIGH, joined after c
    await place(e.conversationId, 'NORMAL', 30); // not a full interval: NORMAL

    const { queue } = await app.data(QueueDocument, { departmentId: dept.id }, manager.token);
    expect(queue.map((q) => [q.conversation.id, q.position, q.effectivePriority])).toEqual([
      [a.conversationId, 1, 'URGENT'],
      [b.conversationId, 2, 'URGENT'],
      [c.conversationId, 3, 'HIGH'],
      [d.conversationId, 4, 'HIGH'],
      [e.conversationId, 5, 'NORMAL'],
    ]);

    // The agent comes online with one seat: the head of the line gets it, nobody else moves.
    await app.data(HeartbeatDocument, {}, agent.token);
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, agent.token);
    const stateOf = async (id: string) =>
      (
        await app.services.orm.em
          .fork()
          .execute<Array<{ status: string; agent_id: string | null }>>('SELECT status, agent_id FROM conversations WHERE id = ?', [id])
      )[0];
    await eventually(async () => (await stateOf(a.conversationId)).status === 'ACTIVE', 5000, 'the head of the line served');
    expect(await stateOf(a.conversationId)).toEqual({ status: 'ACTIVE', agent_id: agent.id });
    const after = await app.data(QueueDocument, { departmentId: dept.id }, manager.token);
    expect(after.queue.map((q) => [q.conversation.id, q.position])).toEqual([
      [b.conversationId, 1],
      [c.conversationId, 2],
      [d.conversationId, 3],
      [e.conversationId, 4],
    ]);
  });

  /**
   * The next update that moves a customer from `standing`. The queue's coalesced refresh (250 ms after the last
   * request joined) may still repeat the old standing after the subscription started: a repeat is allowed, any
   * other position is not.
   */
  async function nextPositionChange(u: ReturnType<typeof subscribe<OnQueueUpdatesSubscription, unknown>>, standing: number) {
    for (;;) {
      const update = (await u.next()).data!.queueUpdates;
      if (update.position !== standing) return update;
    }
  }

  it('moves everyone behind a customer who leaves up one place, and tells each of them; those ahead keep theirs', async () => {
    const { dept, manager, customers } = await line(4);
    await Promise.all(customers.map((c, i) => place(c.conversationId, 'NORMAL', 40 - i * 10)));

    const registered = live.fromNow();
    const updates = customers.map((c) => subscribe(app.ws(c.token), OnQueueUpdatesDocument, {}));
    await registered.until(customers.length);
    // Each first hears where it stands now.
    for (const [i, u] of updates.entries())
      expect((await u.next()).data!.queueUpdates).toMatchObject({ status: 'QUEUED', position: i + 1 });

    const [first, second, third, fourth] = customers;
    const left = await app.data(LeaveQueueDocument, {}, second.token);
    expect(left.leaveQueue.status).not.toBe('QUEUED');

    expect(await nextPositionChange(updates[2], 3)).toMatchObject({ conversationId: third.conversationId, position: 2 });
    expect(await nextPositionChange(updates[3], 4)).toMatchObject({ conversationId: fourth.conversationId, position: 3 });
    const { queue } = await app.data(QueueDocument, { departmentId: dept.id }, manager.token);
    expect(queue.map((q) => [q.conversation.id, q.position])).toEqual([
      [first.conversationId, 1],
      [third.conversationId, 2],
      [fourth.conversationId, 3],
    ]);
    for (const u of updates) u.unsubscribe();
  });

  it('tells a waiting customer each place once: not again when the refresh after their request, or another customer joining behind, changes nothing for them', async () => {
    const { dept, customers } = await line(0);
    const ask = async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const asked = await app.data(RequestServiceDocument, { input: { topic: dept.code, message: '你好' } }, customer.token);
      expect(asked.requestService).toMatchObject({ status: 'QUEUED' });
      return customer;
    };
    expect(customers).toEqual([]);
    const first = await ask();
    // Subscribed at once, inside the 250 ms in which the queue's refresh (position 1 again) is still to come.
    const registered = live.fromNow();
    const updates = subscribe(app.ws(first.token), OnQueueUpdatesDocument, {});
    await registered.until(1);
    await ask(); // behind: the first customer's place does not change
    const seen = (await drain(updates, 1200)).map((u) => [u.queueUpdates.status, u.queueUpdates.position]);
    expect(seen).toEqual([['QUEUED', 1]]);
    updates.unsubscribe();
  });

  it('announces every assignment, also one to the same agent right after a requeue whose place was never sent', async () => {
    const pubsub = createMemoryPubSub();
    const base = { conversationId: randomUUID(), priority: 'NORMAL', estimatedWaitSeconds: null } as const;
    const update = (status: QueueUpdateStatus, position: number | null, agentId: string | null, at: string) =>
      ({ ...base, status, position, agentId, at }) as QueueUpdatePayload;
    const customer = randomUUID();
    const agent = randomUUID();
    const stream = startingWith(async () => null, pubsub, 'QUEUE_CUSTOMER', customer, sameQueueState);
    const first = stream.next();
    await new Promise((r) => setImmediate(r));
    // Assigned; requeued and assigned to the same agent again before the department's refresh ran; then that
    // refresh's place (QUEUED at 1), which the next refresh repeats unchanged.
    for (const u of [
      update(QueueUpdateStatus.ASSIGNED, null, agent, 't1'),
      update(QueueUpdateStatus.ASSIGNED, null, agent, 't2'),
      update(QueueUpdateStatus.QUEUED, 1, null, 't3'),
      update(QueueUpdateStatus.QUEUED, 1, null, 't4'),
      update(QueueUpdateStatus.ENDED, null, null, 't5'),
    ])
      pubsub.publish('QUEUE_CUSTOMER', customer, u);
    const seen = [(await first).value as QueueUpdatePayload];
    for (let i = 0; i < 3; i++) seen.push((await stream.next()).value as QueueUpdatePayload);
    expect(seen.map((u) => [u.status, u.at])).toEqual([
      ['ASSIGNED', 't1'],
      ['ASSIGNED', 't2'],
      ['QUEUED', 't3'],
      ['ENDED', 't5'], // the unchanged place (t4) is not sent again
    ]);
    await stream.return(undefined);
    await pubsub.close();
  });
});
