import { randomBytes, randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { Client as PgClient } from 'pg';
import {
  ConversationByIdDocument,
  ConversationTransfersDocument,
  DeactivateUserDocument,
  EndConversationDocument,
  HeartbeatDocument,
  LeaveQueueDocument,
  MessagesDocument,
  OnConversationEventsDocument,
  OnInboxDocument,
  OnQueueUpdatesDocument,
  QueueDocument,
  RateConversationDocument,
  RequestServiceDocument,
  SendMessageDocument,
  SetPresenceStatusDocument,
  TransferConversationDocument,
} from '../generated/graphql';
import { IDLE_SWEEP_LOCK, OFFLINE_SWEEP_LOCK, sweepInterval } from '../../src/modules/conversations/conversation-sweeps.service';
import { summaryLine } from '../../src/modules/conversations/hand-over';
import { Topics } from '../../src/platform/realtime/topics';
import { describeWithRedis, drain, eventually, GqlResult, startTestApp, subscribe, TestApp } from '../support/harness';
import { scheduleNow, shiftCoveringNow } from '../support/shifts';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };
type Sub<T> = ReturnType<typeof subscribe<T, unknown>>;

const code = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.code;
const ext = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions ?? {};
/** Moves a conversation's clocks back by `seconds` (its order of events kept): a sweep run now sees that much time gone. */
async function backdate(app: TestApp, ids: string[], seconds: number): Promise<void> {
  await app.services.orm.em.fork().execute(
    `UPDATE conversations SET last_agent_message_at = last_agent_message_at - make_interval(secs => ?),
            last_customer_message_at = last_customer_message_at - make_interval(secs => ?)
      WHERE id = ANY(?::uuid[])`,
    [seconds, seconds, `{${ids.join(',')}}`],
  );
}
const suffix = () => randomBytes(3).toString('hex');

/** Pulls events until one matches, returning it (and failing after `timeoutMs` without one). */
async function until<T>(sub: Sub<T>, match: (data: T) => boolean, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) throw new Error('no matching event');
    const e = await sub.next(left);
    if (e.data && match(e.data)) return e.data;
  }
}

/** The helpers every suite shares, bound to one app. */
function kit(app: () => TestApp) {
  const k = {
    department: () => app().createDepartment(`部门-${suffix()}`, `d_${suffix()}`),
    customer: async () => {
      const c = await app().createUser({ role: 'CUSTOMER' });
      return { ...c, displayName: c.email.split('@')[0] };
    },
    agent: async (departmentId: string, extra: { maxConcurrentChats?: number; displayName?: string } = {}) => {
      const displayName = extra.displayName ?? `客服-${suffix()}`;
      return {
        ...(await app().createUser({ role: 'AGENT', departmentId, displayName, maxConcurrentChats: extra.maxConcurrentChats })),
        displayName,
      };
    },
    /** An agent who is online (heartbeat) and AVAILABLE. */
    onlineAgent: async (departmentId: string, extra: { maxConcurrentChats?: number; displayName?: string } = {}) => {
      const a = await k.agent(departmentId, extra);
      await app().data(HeartbeatDocument, {}, a.token);
      return a;
    },
    ask: async (customer: Person, departmentCode: string, message = '你好，我的订单一直没有发货') =>
      (await app().data(RequestServiceDocument, { input: { topic: departmentCode, message } }, customer.token)).requestService,
    send: (who: Person, conversationId: string, content: string) =>
      app().data(SendMessageDocument, { input: { conversationId, content, clientMessageId: randomUUID() } }, who.token),
    messages: async (who: Person, conversationId: string, afterSeq = 0) =>
      (await app().data(MessagesDocument, { conversationId, afterSeq, first: 200 }, who.token)).messages.messages,
    transfer: (who: Person | string, id: string, toAgentId: string, note?: string) =>
      app().exec(
        TransferConversationDocument,
        { id, toAgentId, ...(note !== undefined ? { note } : {}) },
        typeof who === 'string' ? who : who.token,
      ),
    rate: (who: Person, id: string, score: number, comment?: string) =>
      app().exec(RateConversationDocument, { id, score, ...(comment !== undefined ? { comment } : {}) }, who.token),
    conversation: async (id: string) => (await app().data(ConversationByIdDocument, { id }, await app().adminToken())).conversation,
    transfers: async (id: string) =>
      (await app().data(ConversationTransfersDocument, { id }, await app().adminToken())).conversation.transfers,
    slots: async (...agentIds: string[]) => {
      const rows = await app()
        .services.orm.em.fork()
        .execute<Array<{ agent_id: string; active_chats: number }>>(
          `SELECT agent_id, active_chats FROM agent_states WHERE agent_id = ANY(?::uuid[])`,
          [`{${agentIds.join(',')}}`],
        );
      return agentIds.map((id) => rows.find((r) => r.agent_id === id)?.active_chats ?? 0);
    },
    row: async (id: string) => {
      const [r] = await app()
        .services.orm.em.fork()
        .execute<Array<Record<string, unknown>>>(`SELECT * FROM conversations WHERE id = ?`, [id]);
      return r;
    },
    /** A department with one online agent, and a customer whose new conversation that agent has. */
    chat: async (extra: { maxConcurrentChats?: number } = {}) => {
      const dept = await k.department();
      const agent = await k.onlineAgent(dept.id, extra);
      const customer = await k.customer();
      const r = await k.ask(customer, dept.code);
      expect(r).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: agent.id } });
      return { dept, agent, customer, id: r.conversation!.id };
    },
  };
  return k;
}

describe('transferConversation and rateConversation', () => {
  let live: ReturnType<typeof watchSubscriptions>;
  let app: TestApp;
  let admin: string;
  const k = kit(() => app);

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    live = watchSubscriptions(app.services.pubsub);
    admin = await app.adminToken();
  });
  afterAll(() => app.stop());

  it('moves the conversation with a summary of the last 10 messages and the note, records it, and tells the customer and both agents', async () => {
    const { dept, agent: a, customer, id } = await k.chat();
    for (let i = 1; i <= 11; i++) await k.send(i % 2 ? a : customer, id, i === 3 ? `第 ${i} 条\n换行   和空格` : `第 ${i} 条`);
    await k.send(customer, id, 'x'.repeat(300));
    const b = await k.onlineAgent(dept.id, { displayName: '客服乙' });

    const subscribed = live.fromNow();
    const customerEvents = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId: id });
    const inboxA = subscribe(app.ws(a.token), OnInboxDocument, {});
    const inboxB = subscribe(app.ws(b.token), OnInboxDocument, {});
    await subscribed.until(3);

    const moved = await k.transfer(a, id, b.id, '  客户要求退款，请跟进  ');
    expect(moved.errors).toBeUndefined();
    expect(moved.data!.transferConversation).toMatchObject({ id, status: 'ACTIVE', agentId: b.id, lastSeq: 14 });

    // The summary: who to whom, the note, then the last 10 customer/agent messages as [time][role][name] content.
    const all = await k.messages(customer, id);
    expect(all).toHaveLength(14);
    const summary = all[13];
    expect(summary).toMatchObject({ seq: 14, kind: 'SYSTEM', senderId: null, senderRole: null });
    const lines = summary.content.split('\n');
    const aName = a.displayName;
    expect(lines[0]).toBe(`会话已由 ${aName} 转接给 客服乙。`);
    expect(lines[1]).toBe('转接备注：客户要求退款，请跟进');
    expect(lines[2]).toBe('最近 10 条消息：');
    const quoted = all.slice(3, 13);
    const customerName = customer.displayName;
    expect(lines.slice(3)).toEqual(
      quoted.map((m) => {
        const time = DateTime.fromISO(m.createdAt).setZone('Asia/Shanghai').toFormat('yyyy-MM-dd HH:mm:ss');
        const name = m.senderRole === 'CUSTOMER' ? customerName : aName;
        const content = m.seq === 13 ? `${'x'.repeat(200)}…` : m.content.replace(/\s+/g, ' ');
        return `[${time}][${m.senderRole}][${name}] ${content}`;
      }),
    );
    expect(lines[3]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]\[AGENT\]\[.+\] 第 3 条 换行 和空格$/);

    // The history.
    const history = await k.transfers(id);
    expect(history).toEqual([
      expect.objectContaining({
        note: '客户要求退款，请跟进',
        fromAgent: { id: a.id, displayName: aName },
        toAgent: { id: b.id, displayName: '客服乙' },
        by: { id: a.id, displayName: aName },
      }),
    ]);

    // The customer: the status change, then the summary.
    const status = await until(customerEvents, (d) => d.conversationEvents.type === 'STATUS');
    expect(status.conversationEvents.status).toEqual({ change: 'TRANSFERRED', status: 'ACTIVE', agentId: b.id, endReason: null });
    const shown = await until(customerEvents, (d) => d.conversationEvents.type === 'MESSAGE');
    expect(shown.conversationEvents.message).toMatchObject({ seq: 14, kind: 'SYSTEM' });
    // The agents: out for the old one, in (then the summary) for the new one.
    expect((await inboxA.next()).data?.inbox).toMatchObject({ type: 'TRANSFERRED_OUT', conversationId: id });
    expect((await inboxB.next()).data?.inbox).toMatchObject({ type: 'TRANSFERRED_IN', conversationId: id });
    expect((await inboxB.next()).data?.inbox).toMatchObject({ type: 'MESSAGE', conversationId: id, message: { seq: 14 } });

    // The slots moved; the old agent no longer writes, the new one does, and the customer's words reach them.
    expect(await k.slots(a.id, b.id)).toEqual([0, 1]);
    expect(
      code(
        await app.exec(
          SendMessageDocument,
          { input: { conversationId: id, content: 'still here?', clientMessageId: randomUUID() } },
          a.token,
        ),
      ),
    ).toBe('FORBIDDEN');
    await k.send(b, id, '您好，我来跟进退款');
    await k.send(customer, id, '好的谢谢');
    expect((await until(inboxB, (d) => d.inbox.type === 'MESSAGE')).inbox.message).toMatchObject({
      seq: 16,
      content: '好的谢谢',
      senderId: customer.id,
    });
    expect(await drain(inboxA, 300)).toEqual([]);
  });

  it('lets a supervisor in scope transfer, beyond the target’s capacity (the slot still counts); the history lists every move', async () => {
    const { dept, agent: a, customer, id } = await k.chat();
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const full = await k.onlineAgent(dept.id, { maxConcurrentChats: 1 });
    const other = await k.customer();
    expect((await k.ask(other, dept.code)).conversation!.agentId).toBe(full.id); // the less loaded: now full
    expect(await k.slots(full.id)).toEqual([1]);

    const byAgent = await k.transfer(a, id, full.id);
    expect(code(byAgent)).toBe('CONFLICT');
    expect(ext(byAgent).reason).toBe('AGENT_AT_CAPACITY');

    const byManager = await k.transfer(manager, id, full.id, '主管指派');
    expect(byManager.errors).toBeUndefined();
    expect(byManager.data!.transferConversation.agentId).toBe(full.id);
    expect(await k.slots(a.id, full.id)).toEqual([0, 2]);
    const summary = (await k.messages(customer, id)).at(-1)!;
    expect(summary.content.split('\n')[0]).toMatch(/^会话已由 .+ 转接给 .+（操作人：.+）。$/);

    const byAdmin = await k.transfer(admin, id, a.id);
    expect(byAdmin.errors).toBeUndefined();
    expect(await k.slots(a.id, full.id)).toEqual([1, 1]);
    const history = await k.transfers(id);
    expect(history.map((t) => [t.fromAgent?.id, t.toAgent?.id, t.by?.id, t.note])).toEqual([
      [a.id, full.id, manager.id, '主管指派'],
      [full.id, a.id, expect.any(String), null],
    ]);
    expect(new Date(history[0].createdAt).getTime()).toBeLessThanOrEqual(new Date(history[1].createdAt).getTime());
  });

  it('refuses customers, other agents and other departments’ managers, and changes nothing', async () => {
    const { dept, agent: a, customer, id } = await k.chat();
    const b = await k.onlineAgent(dept.id);
    const colleague = await k.onlineAgent(dept.id);
    const otherManager = await app.createUser({ role: 'MANAGER', departmentId: (await k.department()).id });
    const before = { row: await k.row(id), slots: await k.slots(a.id, b.id) };

    expect(code(await k.transfer(customer, id, b.id))).toBe('FORBIDDEN');
    expect(code(await k.transfer(colleague, id, b.id))).toBe('FORBIDDEN');
    expect(code(await k.transfer(otherManager, id, b.id))).toBe('FORBIDDEN');
    expect(code(await app.exec(TransferConversationDocument, { id, toAgentId: b.id }, null))).toBe('UNAUTHENTICATED');
    expect(code(await k.transfer(a, randomUUID(), b.id))).toBe('NOT_FOUND');
    expect(code(await k.transfer(a, 'not-an-id', b.id))).toBe('NOT_FOUND');

    expect(await k.row(id)).toEqual(before.row);
    expect(await k.slots(a.id, b.id)).toEqual(before.slots);
    expect(await k.transfers(id)).toEqual([]);
  });

  it('refuses a customer, a manager, an offline, busy or deactivated agent, oneself, a long note and a conversation that is not active, and changes nothing', async () => {
    const { dept, agent: a, customer, id } = await k.chat();
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const offline = await k.agent(dept.id);
    const busy = await k.onlineAgent(dept.id);
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, busy.token);
    const gone = await k.onlineAgent(dept.id);
    await app.data(DeactivateUserDocument, { id: gone.id }, admin);
    const b = await k.onlineAgent(dept.id);
    const before = { row: await k.row(id), slots: await k.slots(a.id, b.id, busy.id) };

    const field = (res: GqlResult<unknown>) => (ext(res).fields as Array<{ field: string }> | undefined)?.map((f) => f.field);
    const toCustomer = await k.transfer(a, id, customer.id);
    expect([code(toCustomer), field(toCustomer)]).toEqual(['BAD_USER_INPUT', ['toAgentId']]);
    const toManager = await k.transfer(a, id, manager.id);
    expect([code(toManager), field(toManager)]).toEqual(['BAD_USER_INPUT', ['toAgentId']]);
    const toSelf = await k.transfer(a, id, a.id);
    expect([code(toSelf), field(toSelf)]).toEqual(['BAD_USER_INPUT', ['toAgentId']]);
    expect(toSelf.errors![0].message).toMatch(/yourself/);
    const toSame = await k.transfer(manager, id, a.id); // a supervisor naming the current agent
    expect([code(toSame), field(toSame)]).toEqual(['BAD_USER_INPUT', ['toAgentId']]);
    const toNobody = await k.transfer(a, id, randomUUID());
    expect([code(toNobody), field(toNobody)]).toEqual(['BAD_USER_INPUT', ['toAgentId']]);
    const toGarbage = await k.transfer(a, id, 'agent-7');
    expect([code(toGarbage), field(toGarbage)]).toEqual(['BAD_USER_INPUT', ['toAgentId']]);
    const toGone = await k.transfer(a, id, gone.id);
    expect([code(toGone), field(toGone)]).toEqual(['BAD_USER_INPUT', ['toAgentId']]);
    const toOffline = await k.transfer(a, id, offline.id);
    expect([code(toOffline), ext(toOffline).reason]).toEqual(['CONFLICT', 'AGENT_OFFLINE']);
    expect(toOffline.errors![0].message).toMatch(/offline/);
    const toBusy = await k.transfer(manager, id, busy.id); // supervisors override capacity, not presence
    expect([code(toBusy), ext(toBusy).reason]).toEqual(['CONFLICT', 'AGENT_NOT_AVAILABLE']);
    const longNote = await k.transfer(a, id, b.id, 'n'.repeat(501));
    expect([code(longNote), field(longNote)]).toEqual(['BAD_USER_INPUT', ['note']]);

    expect(await k.row(id)).toEqual(before.row);
    expect(await k.slots(a.id, b.id, busy.id)).toEqual(before.slots);
    expect(await k.transfers(id)).toEqual([]);
    expect(await k.messages(customer, id)).toHaveLength(1);

    // Not active: a waiting request, and an ended conversation.
    const waitingDept = await k.department();
    const waitingManager = await app.createUser({ role: 'MANAGER', departmentId: waitingDept.id });
    const waiting = await k.ask(await k.customer(), waitingDept.code);
    expect(waiting.status).toBe('QUEUED');
    expect(code(await k.transfer(waitingManager, waiting.conversation!.id, b.id))).toBe('CONFLICT');
    await app.data(EndConversationDocument, { id }, customer.token);
    const ended = await k.transfer(a, id, b.id);
    expect(code(ended)).toBe('CONFLICT');
    expect(await k.slots(b.id)).toEqual(before.slots.slice(1, 2));
  });

  it('orders messages sent during a transfer around it: each reaches the agent who had the conversation after it was stored', async () => {
    const { dept, agent: a, customer, id } = await k.chat();
    const b = await k.onlineAgent(dept.id);
    const subscribed = live.fromNow();
    const inboxA = subscribe(app.ws(a.token), OnInboxDocument, {});
    const inboxB = subscribe(app.ws(b.token), OnInboxDocument, {});
    await subscribed.until(2);

    const sendOne = (i: number) => k.send(customer, id, `并发消息 ${i}`);
    const first = Array.from({ length: 10 }, (_, i) => sendOne(i));
    await Promise.race(first); // some are stored before the transfer, the rest race it
    const transfer = k.transfer(a, id, b.id, '并发转接');
    const second = Array.from({ length: 10 }, (_, i) => sendOne(10 + i));
    const [moved] = await Promise.all([transfer, ...first, ...second]);
    expect(moved.errors).toBeUndefined();

    const all = await k.messages(customer, id);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1)); // 1 + 20 + the summary, no gap
    const s = all.find((m) => m.kind === 'SYSTEM')!.seq;
    const beforeTransfer = all.filter((m) => m.seq > 1 && m.seq < s).map((m) => m.seq);
    const afterTransfer = all.filter((m) => m.seq > s).map((m) => m.seq);
    expect(beforeTransfer.length).toBeGreaterThan(0);

    const messagesOf = async (inbox: typeof inboxA, n: number) => {
      const seqs: number[] = [];
      while (seqs.length < n) {
        const e = (await inbox.next()).data!.inbox;
        if (e.type === 'MESSAGE') seqs.push(e.message!.seq);
      }
      return seqs.sort((x, y) => x - y);
    };
    expect(await messagesOf(inboxA, beforeTransfer.length)).toEqual(beforeTransfer);
    expect(await messagesOf(inboxB, afterTransfer.length + 1)).toEqual([s, ...afterTransfer]);
    expect((await drain(inboxA, 300)).filter((e) => e.inbox.type === 'MESSAGE')).toEqual([]); // TRANSFERRED_OUT at most
    expect((await drain(inboxB, 100)).filter((e) => e.inbox.type === 'MESSAGE')).toEqual([]);

    // The new agent's conversationEvents from the transfer on: every later message, in order.
    const fromTransfer = subscribe(app.ws(b.token), OnConversationEventsDocument, { conversationId: id, afterSeq: s - 1 });
    const replayed: number[] = [];
    while (replayed.length < afterTransfer.length + 1)
      replayed.push((await until(fromTransfer, (d) => d.conversationEvents.type === 'MESSAGE')).conversationEvents.message!.seq);
    expect(replayed).toEqual([s, ...afterTransfer]);
  });

  it('lets the customer rate once, after the end, a score of 1 to 5', async () => {
    const { agent, customer, id } = await k.chat();
    const before = await k.rate(customer, id, 5);
    expect([code(before), ext(before).reason]).toEqual(['CONFLICT', 'NOT_ENDED']);
    await app.data(EndConversationDocument, { id }, agent.token);

    for (const score of [0, 6, -1]) {
      const bad = await k.rate(customer, id, score);
      expect(code(bad)).toBe('BAD_USER_INPUT');
      expect(ext(bad).fields).toEqual([{ field: 'score', message: expect.any(String) }]);
    }
    const long = await k.rate(customer, id, 4, 'c'.repeat(1001));
    expect(ext(long).fields).toEqual([{ field: 'comment', message: expect.any(String) }]);
    expect(code(await app.exec('mutation { rateConversation(id: "x", score: 4.5) { id } }', {}, customer.token))).toBe('BAD_USER_INPUT');

    const stranger = await k.customer();
    expect(code(await k.rate(stranger, id, 1))).toBe('FORBIDDEN');
    expect(code(await k.rate(agent, id, 1))).toBe('FORBIDDEN');
    expect(code(await app.exec(RateConversationDocument, { id, score: 1 }, admin))).toBe('FORBIDDEN');
    expect(code(await app.exec(RateConversationDocument, { id, score: 1 }, null))).toBe('UNAUTHENTICATED');
    expect(code(await k.rate(stranger, randomUUID(), 1))).toBe('NOT_FOUND');
    expect((await k.row(id)).rating).toBeNull();

    const rated = await k.rate(customer, id, 4, '  解决得很快  ');
    expect(rated.errors).toBeUndefined();
    expect(rated.data!.rateConversation).toMatchObject({ id, rating: 4, ratingComment: '解决得很快', ratedAt: expect.any(String) });
    const again = await k.rate(customer, id, 1, '改主意了');
    expect([code(again), ext(again).reason]).toEqual(['CONFLICT', 'ALREADY_RATED']);
    expect(await k.conversation(id)).toMatchObject({ rating: 4, ratingComment: '解决得很快' });
  });

  it('refuses to rate a request nobody served', async () => {
    const dept = await k.department();
    const customer = await k.customer();
    const waiting = await k.ask(customer, dept.code);
    expect(waiting.status).toBe('QUEUED');
    await app.data(LeaveQueueDocument, {}, customer.token);
    const res = await k.rate(customer, waiting.conversation!.id, 3);
    expect([code(res), ext(res).reason]).toEqual(['CONFLICT', 'NOT_SERVED']);
  });

  it('limits rateConversation to 5 a minute per customer: RATE_LIMITED with a retry-after', async () => {
    const { customer, id } = await k.chat();
    for (let i = 0; i < 5; i++) expect(code(await k.rate(customer, id, 3))).toBe('CONFLICT'); // not ended: counted all the same
    const limited = await k.rate(customer, id, 3);
    expect(code(limited)).toBe('RATE_LIMITED');
    expect(ext(limited).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(ext(limited).retryAfterSeconds).toBeLessThanOrEqual(60);
    // Per customer: someone else is not affected.
    const { customer: other, id: otherId } = await k.chat();
    expect(code(await k.rate(other, otherId, 3))).toBe('CONFLICT');
  });
});

describe('after a transfer', () => {
  let live: ReturnType<typeof watchSubscriptions>;
  let app: TestApp;
  const k = kit(() => app);
  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    live = watchSubscriptions(app.services.pubsub);
  });
  afterAll(() => app.stop());

  it('ends the previous agent’s conversationEvents with the transfer; the customer’s goes on', async () => {
    const { dept, agent: a, customer, id } = await k.chat();
    const b = await k.onlineAgent(dept.id);
    const subscribed = live.fromNow();
    const asA = subscribe(app.ws(a.token), OnConversationEventsDocument, { conversationId: id });
    const asCustomer = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId: id });
    await subscribed.until(2);
    expect((await k.transfer(a, id, b.id)).errors).toBeUndefined();
    await k.send(customer, id, '转接之后的消息');
    await asA.done; // completed by the server after the TRANSFERRED status event
    const seenByA = asA.received.map((e) => e.data?.conversationEvents);
    expect(seenByA.some((e) => e?.type === 'STATUS' && e.status?.change === 'TRANSFERRED')).toBe(true);
    expect(seenByA.some((e) => e?.message?.content === '转接之后的消息')).toBe(false);
    const late = await until(asCustomer, (d) => d.conversationEvents.message?.content === '转接之后的消息');
    expect(late.conversationEvents.type).toBe('MESSAGE');
  });
});

describe('transfers with schedules', () => {
  let app: TestApp;
  const k = kit(() => app);
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it('refuses a target who is not on duty (no shift now), with nothing changed, and accepts them once on a shift', async () => {
    const dept = await k.department();
    const shift = await shiftCoveringNow(app, `N${suffix()}`);
    const onShift = await k.agent(dept.id);
    await scheduleNow(app, shift, [onShift.id]);
    await app.data(HeartbeatDocument, {}, onShift.token);
    const customer = await k.customer();
    const { conversation } = await k.ask(customer, dept.code);
    expect(conversation!.agentId).toBe(onShift.id);

    const offShift = await k.onlineAgent(dept.id);
    const refused = await k.transfer(onShift, conversation!.id, offShift.id);
    expect([code(refused), ext(refused).reason]).toEqual(['CONFLICT', 'AGENT_OFF_DUTY']);
    expect((await k.conversation(conversation!.id)).agentId).toBe(onShift.id);
    expect(await k.slots(onShift.id, offShift.id)).toEqual([1, 0]);

    await scheduleNow(app, shift, [offShift.id]);
    expect((await k.transfer(onShift, conversation!.id, offShift.id)).errors).toBeUndefined();
  });
});

const FAST = {
  ROUTING_REQUIRE_SHIFT: 'false',
  IDLE_WARNING_SECONDS: '1',
  IDLE_CLOSE_SECONDS: '2',
  AGENT_OFFLINE_GRACE_SECONDS: '2',
  PRESENCE_HEARTBEAT_TTL_SECONDS: '2',
  PRESENCE_SWEEP_SECONDS: '1',
  RATE_RATE_CONVERSATION_PER_MINUTE: '2',
};

describe('idle conversations and agents who go offline', () => {
  let live: ReturnType<typeof watchSubscriptions>;
  let app: TestApp;
  const k = kit(() => app);
  beforeAll(async () => {
    app = await startTestApp({ env: FAST });
    live = watchSubscriptions(app.services.pubsub);
  });
  afterAll(() => app.stop());

  /** An agent kept online by an open WebSocket (heartbeats lapse after 2 s here); returns their inbox. */
  const connectedAgent = async (departmentId: string) => {
    const agent = await k.agent(departmentId);
    const client = app.ws(agent.token);
    const inbox = subscribe(client, OnInboxDocument, {});
    await eventually(async () => (await app.services.presence.read([agent.id]))[0].online, 3000, 'the agent online');
    return { ...agent, inbox, client };
  };

  it('sweeps about four times per watched period, between every 250 ms and every 10 s', () => {
    expect(sweepInterval(1)).toBe(250);
    expect(sweepInterval(60)).toBe(10_000);
    expect(sweepInterval(120)).toBe(10_000);
    expect(sweepInterval(20)).toBe(5000);
  });

  it('warns a customer who has not answered the agent for IDLE_WARNING_SECONDS, then ends the conversation with IDLE', async () => {
    const dept = await k.department();
    const agent = await connectedAgent(dept.id);
    const customer = await k.customer();
    const { conversation } = await k.ask(customer, dept.code);
    const id = conversation!.id;
    expect(conversation!.agentId).toBe(agent.id);
    const subscribed = live.fromNow();
    const events = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId: id });
    await subscribed.until(1);
    const said = await k.send(agent, id, '请问还有什么可以帮您？');
    const saidAt = new Date(said.sendMessage.createdAt).getTime();

    const warning = await until(events, (d) => d.conversationEvents.type === 'STATUS', 4000);
    expect(warning.conversationEvents.status).toEqual({ change: 'IDLE_WARNING', status: 'ACTIVE', agentId: agent.id, endReason: null });
    expect(Date.now() - saidAt).toBeGreaterThanOrEqual(900);
    const text = await until(events, (d) => d.conversationEvents.type === 'MESSAGE' && d.conversationEvents.message!.kind === 'SYSTEM');
    expect(text.conversationEvents.message!.content).toBe('您已经有一段时间没有回复了，会话将在 1 秒后自动结束。');

    const ended = await until(events, (d) => d.conversationEvents.status?.change === 'ENDED', 4000);
    expect(ended.conversationEvents.status).toMatchObject({ status: 'ENDED', endReason: 'IDLE' });
    expect(Date.now() - saidAt).toBeGreaterThanOrEqual(1900);
    expect(await k.conversation(id)).toMatchObject({ status: 'ENDED', endReason: 'IDLE' });
    expect(await k.slots(agent.id)).toEqual([0]);
    const kinds = (await k.messages(customer, id)).map((m) => [m.kind, m.senderRole]);
    expect(kinds).toEqual([
      ['TEXT', 'CUSTOMER'],
      ['TEXT', 'AGENT'],
      ['SYSTEM', null],
      ['SYSTEM', null],
    ]);
    expect((await until(agent.inbox, (d) => d.inbox.type === 'ENDED')).inbox.conversationId).toBe(id);
  });

  it('does not warn while the agent owes the answer, and a customer who answers the warning keeps the conversation', async () => {
    const dept = await k.department();
    const agent = await connectedAgent(dept.id);
    const quiet = await k.customer();
    const quietChat = (await k.ask(quiet, dept.code)).conversation!.id; // the customer wrote last

    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    const subscribed = live.fromNow();
    const events = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId: id });
    await subscribed.until(1);
    await k.send(agent, id, '在吗？');
    await until(events, (d) => d.conversationEvents.status?.change === 'IDLE_WARNING', 4000);
    await k.send(customer, id, '在的');
    expect((await k.row(id)).idle_warned_at).toBeNull();

    // Long past both timeouts, a sweep leaves alone the conversation where the agent owes the answer.
    await backdate(app, [id, quietChat], 60);
    await app.services.conversationSweeps.idleSweep();
    expect(await k.conversation(id)).toMatchObject({ status: 'ACTIVE' });
    expect(await k.conversation(quietChat)).toMatchObject({ status: 'ACTIVE' });
    expect((await k.messages(quiet, quietChat)).map((m) => m.kind)).toEqual(['TEXT']);
    // The agent writes again: a new silence, a new warning.
    await k.send(agent, id, '还有其他问题吗？');
    await until(events, (d) => d.conversationEvents.status?.change === 'IDLE_WARNING', 4000);
    await until(events, (d) => d.conversationEvents.status?.change === 'ENDED', 4000);
  });

  it('runs each sweep in one process at a time: a sweep that cannot take the advisory lock does nothing', async () => {
    const pg = new PgClient({ connectionString: app.databaseUrl });
    await pg.connect();
    try {
      // The sweeps take their locks only when something qualifies: an idle conversation…
      const idleDept = await k.department();
      const idleAgent = await connectedAgent(idleDept.id);
      const idleCustomer = await k.customer();
      const idleId = (await k.ask(idleCustomer, idleDept.code)).conversation!.id;
      await pg.query('SELECT pg_advisory_lock($1)', [IDLE_SWEEP_LOCK]);
      await k.send(idleAgent, idleId, '您好？');
      await backdate(app, [idleId], 60); // due for a warning now
      expect(await app.services.conversationSweeps.idleSweep()).toMatchObject({ ran: false, warned: 0 });
      expect((await k.row(idleId)).idle_warned_at).toBeNull(); // nor did the sweeps running in the background
      await pg.query('SELECT pg_advisory_unlock($1)', [IDLE_SWEEP_LOCK]);
      await eventually(async () => (await k.row(idleId)).idle_warned_at !== null, 3000, 'the warning');

      // …and an agent offline past the grace period.
      const dept = await k.department();
      const agent = await k.onlineAgent(dept.id);
      const customer = await k.customer();
      const id = (await k.ask(customer, dept.code)).conversation!.id;
      await pg.query('SELECT pg_advisory_lock($1)', [OFFLINE_SWEEP_LOCK]);
      await eventually(async () => ((await offlineFor(app, agent.id)) ?? 0) > 2.5, 8000, 'the agent offline past the grace');
      expect(await app.services.conversationSweeps.offlineSweep()).toMatchObject({ ran: false });
      expect((await k.conversation(id)).agentId).toBe(agent.id);
      await pg.query('SELECT pg_advisory_unlock($1)', [OFFLINE_SWEEP_LOCK]);
      await eventually(async () => (await k.conversation(id)).status === 'QUEUED', 5000, 'the conversation requeued');
    } finally {
      await pg.end();
    }
  });

  it('gives an offline agent’s conversations to another eligible agent after the grace period, telling the customer and both agents', async () => {
    const dept = await k.department();
    const other = await connectedAgent(dept.id);
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, other.token);
    const beforeHeartbeat = Date.now();
    const leaving = await k.onlineAgent(dept.id); // by heartbeat: offline 2 s after it
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    expect((await k.conversation(id)).agentId).toBe(leaving.id);
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, other.token);
    const events = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId: id });
    const leavingInbox = await app.services.pubsub.listen(Topics.INBOX, leaving.id);

    const moved = await until(events, (d) => d.conversationEvents.type === 'STATUS', 9000);
    expect(moved.conversationEvents.status).toEqual({ change: 'TRANSFERRED', status: 'ACTIVE', agentId: other.id, endReason: null });
    expect(Date.now() - beforeHeartbeat).toBeGreaterThanOrEqual(2000 + 2000 - 100); // the heartbeat's 2 s, then the 2 s grace
    const told = await until(events, (d) => d.conversationEvents.type === 'MESSAGE');
    expect(told.conversationEvents.message!.content.split('\n')[0]).toMatch(/^您的客服暂时离线，已为您转接至 .+，请稍候。$/);
    expect((await leavingInbox.next()).value).toMatchObject({ type: 'TRANSFERRED_OUT', conversationId: id });
    await leavingInbox.return?.();
    expect((await until(other.inbox, (d) => d.inbox.type === 'TRANSFERRED_IN')).inbox.conversationId).toBe(id);
    expect(await k.slots(leaving.id, other.id)).toEqual([0, 1]);
    const [t] = await k.transfers(id);
    expect(t).toMatchObject({
      fromAgent: { id: leaving.id },
      toAgent: { id: other.id },
      by: null,
      note: expect.stringMatching(/离线超过 2 秒/),
    });
  });

  it('puts them back at the front of the queue when no one else can take them, and serves them first when capacity appears', async () => {
    const dept = await k.department();
    const agent = await connectedAgent(dept.id);
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, agent.token);
    const first = await k.customer();
    const firstId = (await k.ask(first, dept.code)).conversation!.id;
    expect((await k.conversation(firstId)).agentId).toBe(agent.id);
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, agent.token);
    const later = await k.customer();
    expect((await k.ask(later, dept.code, '我要投诉')).status).toBe('QUEUED'); // URGENT by its words

    const subscribed = live.fromNow();
    const events = subscribe(app.ws(first.token), OnConversationEventsDocument, { conversationId: firstId });
    const updates = subscribe(app.ws(first.token), OnQueueUpdatesDocument, {});
    const inbox = await app.services.pubsub.listen(Topics.INBOX, agent.id);
    await subscribed.until(3);
    await agent.client.dispose(); // DISCONNECTED

    const requeued = await until(events, (d) => d.conversationEvents.type === 'STATUS', 8000);
    expect(requeued.conversationEvents.status).toEqual({ change: 'REQUEUED', status: 'QUEUED', agentId: null, endReason: null });
    const told = await until(events, (d) => d.conversationEvents.type === 'MESSAGE');
    expect(told.conversationEvents.message).toMatchObject({ kind: 'SYSTEM', content: expect.stringMatching(/重新排队/) });
    expect((await until(updates, (d) => d.queueUpdates.status === 'QUEUED')).queueUpdates).toMatchObject({
      conversationId: firstId,
      position: 1,
    });
    let e = await inbox.next();
    while ((e.value as { type: string }).type !== 'REQUEUED') e = await inbox.next();
    expect(e.value).toMatchObject({ type: 'REQUEUED', conversationId: firstId });
    await inbox.return?.();

    expect(await k.conversation(firstId)).toMatchObject({ status: 'QUEUED', agentId: null });
    expect(await k.slots(agent.id)).toEqual([0]);
    const line = (await app.data(QueueDocument, { departmentId: dept.id }, await app.adminToken())).queue;
    expect(line.map((q) => [q.position, q.conversation.id])).toEqual([
      [1, firstId],
      [2, expect.any(String)],
    ]);
    const [t] = await k.transfers(firstId);
    expect(t).toMatchObject({ fromAgent: { id: agent.id }, toAgent: null, by: null });

    // Back online: the requeued conversation is served before the urgent one that came later.
    await app.data(HeartbeatDocument, {}, agent.token);
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, agent.token);
    expect((await until(updates, (d) => d.queueUpdates.status === 'ASSIGNED', 8000)).queueUpdates.agentId).toBe(agent.id);
  });

  it('leaves the conversations of an agent who is back within the grace period', async () => {
    const dept = await k.department();
    const agent = await k.onlineAgent(dept.id);
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    await eventually(async () => (await offlineFor(app, agent.id)) !== null, 6000, 'offline_since set');
    await app.data(HeartbeatDocument, {}, agent.token);
    await eventually(async () => (await offlineFor(app, agent.id)) === null, 3000, 'offline_since cleared');
    await app.services.conversationSweeps.offlineSweep();
    expect(await k.conversation(id)).toMatchObject({ status: 'ACTIVE', agentId: agent.id });
    expect(await k.transfers(id)).toEqual([]);
  });

  it('takes RATE_RATE_CONVERSATION_PER_MINUTE from the configuration', async () => {
    const dept = await k.department();
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    expect(code(await k.rate(customer, id, 5))).toBe('CONFLICT');
    expect(code(await k.rate(customer, id, 5))).toBe('CONFLICT');
    expect(code(await k.rate(customer, id, 5))).toBe('RATE_LIMITED');
  });
});

/** Seconds since the agent's offline_since, or null when they are not marked offline. */
async function offlineFor(app: TestApp, agentId: string): Promise<number | null> {
  const [row] = await app.services.orm.em
    .fork()
    .execute<Array<{ s: number | null }>>(
      `SELECT extract(epoch from now() - offline_since)::float AS s FROM agent_states WHERE agent_id = ?`,
      [agentId],
    );
  return row?.s ?? null;
}

describeWithRedis('lifecycle in a cluster (two processes, one database, one Redis)', () => {
  let one: TestApp;
  let two: TestApp;
  const k = kit(() => one);
  beforeAll(async () => {
    one = await startTestApp({ redis: true, env: FAST });
    two = await startTestApp({ redis: true, env: FAST, databaseUrl: one.databaseUrl });
  });
  afterAll(async () => {
    await two?.stop();
    await one?.stop();
  });

  it('warns and closes an idle conversation exactly once though both processes sweep', async () => {
    const dept = await k.department();
    const agent = await k.agent(dept.id);
    subscribe(two.ws(agent.token), OnInboxDocument, {}); // online through process two
    await eventually(async () => (await one.services.presence.read([agent.id]))[0].online, 3000, 'the agent online');
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    await k.send(agent, id, '请问还有什么问题吗？');
    await eventually(async () => (await k.conversation(id)).status === 'ENDED', 6000, 'the idle close');
    // A sweep of either process that began before the close holds the sweep lock until it commits: once we
    // get the lock, whatever they were going to write is written.
    const pg = new PgClient({ connectionString: one.databaseUrl });
    await pg.connect();
    try {
      await pg.query('SELECT pg_advisory_lock($1)', [IDLE_SWEEP_LOCK]);
      await pg.query('SELECT pg_advisory_unlock($1)', [IDLE_SWEEP_LOCK]);
    } finally {
      await pg.end();
    }
    const system = (await k.messages(customer, id)).filter((m) => m.kind === 'SYSTEM');
    expect(system.map((m) => m.content)).toEqual([
      '您已经有一段时间没有回复了，会话将在 1 秒后自动结束。',
      expect.stringMatching(/自动结束/),
    ]);
    expect(await k.conversation(id)).toMatchObject({ endReason: 'IDLE' });
  });

  it('counts rateConversation in Redis across processes', async () => {
    const dept = await k.department();
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    expect(code(await one.exec(RateConversationDocument, { id, score: 5 }, customer.token))).toBe('CONFLICT');
    expect(code(await two.exec(RateConversationDocument, { id, score: 5 }, customer.token))).toBe('CONFLICT');
    expect(code(await one.exec(RateConversationDocument, { id, score: 5 }, customer.token))).toBe('RATE_LIMITED');
  });
});

describe('the summary line', () => {
  it('is [time][role][name] content, in the business time zone, on one line, cut at 200 characters', () => {
    const at = new Date('2026-11-22T06:03:21.456Z');
    expect(summaryLine({ createdAt: at, senderRole: 'CUSTOMER' as never, content: '你好\n  请问' }, '张三', 'Asia/Shanghai')).toBe(
      '[2026-11-22 14:03:21][CUSTOMER][张三] 你好 请问',
    );
    expect(summaryLine({ createdAt: at, senderRole: null, content: '系统' }, '系统', 'UTC')).toBe(
      '[2026-11-22 06:03:21][SYSTEM][系统] 系统',
    );
    const long = summaryLine({ createdAt: at, senderRole: 'AGENT' as never, content: '字'.repeat(201) }, 'A', 'Asia/Shanghai');
    expect(long.endsWith(`${'字'.repeat(200)}…`)).toBe(true);
  });
});
