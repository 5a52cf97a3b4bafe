import { randomBytes, randomUUID } from 'node:crypto';
import {
  AuditLogDocument,
  ConversationByIdDocument,
  ConversationTransfersDocument,
  HeartbeatDocument,
  MessagesDocument,
  NotificationsDocument,
  OnConversationEventsDocument,
  OnQueueUpdatesDocument,
  QueueDocument,
  RequestServiceDocument,
  SendMessageDocument,
  SetPresenceStatusDocument,
  TransferConversationDocument,
} from '../generated/graphql';
import { Topics } from '../../src/platform/realtime/topics';
import { describeWithRedis, drain, eventually, GqlResult, startTestApp, subscribe, TestApp } from '../support/harness';
import { scheduleNow, shiftCoveringNow } from '../support/shifts';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };

const code = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.code;
const ext = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions ?? {};
const suffix = () => randomBytes(3).toString('hex');
const later = (seconds: number) => new Date(Date.now() + seconds * 1000);

/** Everything an internal pub/sub listener delivers within `ms`. */
async function drainTopic(it: AsyncIterator<unknown>, ms: number): Promise<Array<{ type: string; conversationId?: string }>> {
  const out: Array<{ type: string; conversationId?: string }> = [];
  const end = Date.now() + ms;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([it.next(), new Promise<null>((r) => (timer = setTimeout(() => r(null), left)))]);
    clearTimeout(timer); // a timer left running would keep the jest worker alive after the suite
    if (!next || next.done) break;
    const e = next.value as { type: string; conversationId?: string };
    if (e.type !== 'MESSAGE') out.push(e); // the moves, not the chat itself
  }
  await it.return?.();
  return out;
}

function kit(app: () => TestApp) {
  let shift: { shiftId: string; date: string } | null = null;
  const k = {
    department: () => app().createDepartment(`部门-${suffix()}`, `d_${suffix()}`),
    customer: () => app().createUser({ role: 'CUSTOMER' }),
    /** One shift for the whole suite, from an hour ago to three hours from now (business time zone). */
    shift: async () => (shift ??= await shiftCoveringNow(app(), `N${suffix()}`)),
    /** An agent on the shift now, online and AVAILABLE. */
    agentOnShift: async (departmentId: string, extra: { maxConcurrentChats?: number } = {}) => {
      const displayName = `客服-${suffix()}`;
      const a = { ...(await app().createUser({ role: 'AGENT', departmentId, displayName, ...extra })), displayName };
      await scheduleNow(app(), await k.shift(), [a.id]);
      await app().data(HeartbeatDocument, {}, a.token);
      return a;
    },
    /** The agent's shift ends `inSeconds` from now (0: it just ended). */
    endShift: (agentId: string, inSeconds = 0) =>
      app()
        .services.orm.em.fork()
        .execute(`UPDATE schedules SET ends_at = now() + make_interval(secs => ?) WHERE agent_id = ?`, [inSeconds, agentId]),
    ask: async (customer: Person, departmentCode: string, message = '你好，我的订单一直没有发货') =>
      (await app().data(RequestServiceDocument, { input: { topic: departmentCode, message } }, customer.token)).requestService,
    send: (who: Person, conversationId: string, content: string) =>
      app().data(SendMessageDocument, { input: { conversationId, content, clientMessageId: randomUUID() } }, who.token),
    messages: async (who: Person, conversationId: string) =>
      (await app().data(MessagesDocument, { conversationId, afterSeq: 0, first: 200 }, who.token)).messages.messages,
    conversation: async (id: string) => (await app().data(ConversationByIdDocument, { id }, await app().adminToken())).conversation,
    transfers: async (id: string) =>
      (await app().data(ConversationTransfersDocument, { id }, await app().adminToken())).conversation.transfers,
    notifications: async (who: Person) => (await app().data(NotificationsDocument, { first: 50 }, who.token)).notifications.nodes,
    audit: async (targetId: string) =>
      (await app().data(AuditLogDocument, { filter: { targetId }, first: 50 }, await app().adminToken())).auditLog.nodes,
    slots: async (...agentIds: string[]) => {
      const rows = await app()
        .services.orm.em.fork()
        .execute<Array<{ agent_id: string; active_chats: number }>>(
          `SELECT agent_id, active_chats FROM agent_states WHERE agent_id = ANY(?::uuid[])`,
          [`{${agentIds.join(',')}}`],
        );
      return agentIds.map((id) => rows.find((r) => r.agent_id === id)?.active_chats ?? 0);
    },
    /** The seat invariant: every agent's count equals their ACTIVE conversations. */
    seatsDrift: async () => {
      const rows = await app()
        .services.orm.em.fork()
        .execute(
          `SELECT a.agent_id FROM agent_states a
            WHERE a.active_chats <> (SELECT count(*) FROM conversations c WHERE c.agent_id = a.agent_id AND c.status = 'ACTIVE')`,
        );
      return rows.length;
    },
  };
  return k;
}

describe('shift-end handover (SHIFT_END_GRACE_SECONDS, default 600)', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;
  const k = kit(() => app);
  beforeAll(async () => {
    app = await startTestApp();
    live = watchSubscriptions(app.services.pubsub);
  });
  afterAll(() => app.stop());

  it('stops new conversations at the end of a shift, and after the grace hands the open ones to a colleague with the summary, once, telling customer and agents, audited', async () => {
    const dept = await k.department();
    const leaving = await k.agentOnShift(dept.id);
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    expect((await k.conversation(id)).agentId).toBe(leaving.id);
    expect((await k.send(leaving, id, '您好，请提供订单号')).sendMessage).toBeTruthy();
    expect((await k.send(customer, id, '订单号 12345')).sendMessage).toBeTruthy();

    await k.endShift(leaving.id);
    // Off shift: online, AVAILABLE and with free seats, the agent gets no new customer.
    const newcomer = await k.customer();
    const asked = await k.ask(newcomer, dept.code);
    expect(asked).toMatchObject({ status: 'QUEUED', queueReason: 'NO_AGENT_ON_SHIFT' });

    const colleague = await k.agentOnShift(dept.id, { maxConcurrentChats: 5 });
    await app.services.queueDrain.offerCapacity(colleague.id); // the newcomer goes to the colleague
    expect((await k.conversation(asked.conversation!.id)).agentId).toBe(colleague.id);

    // Within the grace nothing moves.
    await app.services.shiftHandover.sweep(later(590)); // 10 s short of the grace
    expect(await k.conversation(id)).toMatchObject({ status: 'ACTIVE', agentId: leaving.id });

    const registered = live.fromNow();
    const events = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId: id });
    await registered.until(1);
    const leavingInbox = await app.services.pubsub.listen(Topics.INBOX, leaving.id);
    const colleagueInbox = await app.services.pubsub.listen(Topics.INBOX, colleague.id);

    // Two processes' runs at once: one hands over, the other finds nothing to do.
    const runs = await Promise.all([app.services.shiftHandover.sweep(later(605)), app.services.shiftHandover.sweep(later(605))]);
    expect(runs.reduce((n, r) => n + r.moved, 0)).toBe(1);
    expect(await app.services.shiftHandover.sweep(later(700))).toMatchObject({ moved: 0, requeued: 0 });

    expect(await k.conversation(id)).toMatchObject({ status: 'ACTIVE', agentId: colleague.id });
    expect(await k.slots(leaving.id, colleague.id)).toEqual([0, 2]);
    expect(await k.seatsDrift()).toBe(0);

    const seen = (await drain(events, 800)).map((d) => d.conversationEvents);
    const statuses = seen.filter((e) => e.type === 'STATUS');
    expect(statuses.map((e) => e.status)).toEqual([{ change: 'TRANSFERRED', status: 'ACTIVE', agentId: colleague.id, endReason: null }]);
    const told = seen.filter((e) => e.type === 'MESSAGE').map((e) => e.message!.content);
    expect(told).toHaveLength(1);
    const lines = told[0].split('\n');
    expect(lines[0]).toBe(`您的客服已下班，已为您转接至 ${colleague.displayName}，请稍候。`);
    expect(lines.some((l) => /\[AGENT\]\[.+\] 您好，请提供订单号$/.test(l))).toBe(true);
    expect(lines.some((l) => /\[CUSTOMER\]\[.+\] 订单号 12345$/.test(l))).toBe(true);
    expect((await drainTopic(leavingInbox, 300)).filter((e) => e.conversationId === id).map((e) => e.type)).toEqual(['TRANSFERRED_OUT']);
    expect((await drainTopic(colleagueInbox, 300)).filter((e) => e.conversationId === id).map((e) => e.type)).toEqual(['TRANSFERRED_IN']);

    const [t] = await k.transfers(id);
    expect(t).toMatchObject({
      fromAgent: { id: leaving.id },
      toAgent: { id: colleague.id },
      by: null,
      note: expect.stringMatching(/班次已结束超过 600 秒/),
    });
    expect((await k.notifications(leaving)).filter((n) => n.kind === 'SHIFT_HANDOVER')).toEqual([
      expect.objectContaining({ body: expect.stringMatching(/1 conversation\(s\) handed to colleagues, 0 put back in the queue/) }),
    ]);
    expect((await k.audit(id)).map((a) => [a.action, a.actorId])).toEqual([['conversation.shift_handover', null]]);
    // The new agent answers in the same conversation.
    expect((await k.send(colleague, id, '我来继续为您处理')).sendMessage).toBeTruthy();
  });

  it('puts the conversation back at the front of the queue when no colleague can take it, and the off-shift agent does not get it back', async () => {
    const dept = await k.department();
    const leaving = await k.agentOnShift(dept.id, { maxConcurrentChats: 1 });
    const first = await k.customer();
    const firstId = (await k.ask(first, dept.code)).conversation!.id;
    const second = await k.customer();
    expect((await k.ask(second, dept.code)).status).toBe('QUEUED'); // the only agent is at capacity
    await k.endShift(leaving.id);
    const registered = live.fromNow();
    const updates = subscribe(app.ws(first.token), OnQueueUpdatesDocument, {});
    const events = subscribe(app.ws(first.token), OnConversationEventsDocument, { conversationId: firstId });
    await registered.until(2);

    await app.services.shiftHandover.sweep(later(601));
    expect(await k.conversation(firstId)).toMatchObject({ status: 'QUEUED', agentId: null });
    // Announced once per channel: one REQUEUED status, one system message, one place in the line.
    const seen = (await drain(events, 800)).map((d) => d.conversationEvents);
    expect(seen.filter((e) => e.type === 'STATUS').map((e) => e.status!.change)).toEqual(['REQUEUED']);
    expect(seen.filter((e) => e.type === 'MESSAGE')).toHaveLength(1);
    expect((await drain(updates, 300)).map((d) => [d.queueUpdates.status, d.queueUpdates.position])).toEqual([['QUEUED', 1]]);
    expect(await k.slots(leaving.id)).toEqual([0]);
    const line = (await app.data(QueueDocument, { departmentId: dept.id }, await app.adminToken())).queue;
    expect(line.map((q) => [q.position, q.conversation.id])).toEqual([
      [1, firstId],
      [2, expect.any(String)],
    ]);
    const texts = (await k.messages(first, firstId)).map((m) => m.content);
    expect(texts[texts.length - 1]).toMatch(/^您的客服已下班，会话已重新排队/);
    expect((await k.transfers(firstId))[0]).toMatchObject({ fromAgent: { id: leaving.id }, toAgent: null, by: null });
    expect((await k.notifications(leaving)).find((n) => n.kind === 'SHIFT_HANDOVER')!.body).toMatch(
      /0 conversation\(s\) handed to colleagues, 1 put back in the queue/,
    );
    expect((await k.audit(firstId)).map((a) => a.action)).toEqual(['conversation.shift_handover']);

    // The freed seat is offered to the queue, but the agent is off shift: both keep waiting.
    await app.services.queueDrain.offerCapacity(leaving.id);
    await app.services.queueDrain.sweep();
    expect((await k.conversation(firstId)).status).toBe('QUEUED');
    expect(await k.seatsDrift()).toBe(0);
  });

  it('waits out the grace from the shift’s end, and a following shift keeps the conversations', async () => {
    const dept = await k.department();
    const agent = await k.agentOnShift(dept.id);
    const colleague = await k.agentOnShift(dept.id);
    const customer = await k.customer();
    // Two idle agents: whichever routing chose holds it, the other is the colleague.
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    const holder = (await k.conversation(id)).agentId === agent.id ? agent : colleague;
    const other = holder === agent ? colleague : agent;

    await k.endShift(holder.id, 300); // ends in 5 minutes
    await app.services.shiftHandover.sweep(later(850)); // 550 s after the end
    expect((await k.conversation(id)).agentId).toBe(holder.id);

    // A following shift that has begun by then keeps them (it starts at the end of the first one).
    await app.services.orm.em.fork().execute(
      `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at)
         SELECT gen_random_uuid(), agent_id, shift_id, date, ends_at, ends_at + interval '8 hours' FROM schedules WHERE agent_id = ?`,
      [holder.id],
    );
    await app.services.shiftHandover.sweep(later(1000));
    expect((await k.conversation(id)).agentId).toBe(holder.id);

    await app.services.orm.em.fork().execute(`DELETE FROM schedules WHERE agent_id = ? AND starts_at > now()`, [holder.id]);
    expect((await app.services.shiftHandover.sweep(later(905))).moved).toBe(1);
    expect((await k.conversation(id)).agentId).toBe(other.id);
  });

  it('leaves alone an agent with no shift that ended (their schedule removed): nothing to hand over at', async () => {
    const dept = await k.department();
    const agent = await k.agentOnShift(dept.id);
    const colleague = await k.agentOnShift(dept.id, { maxConcurrentChats: 5 });
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    const holder = (await k.conversation(id)).agentId;
    expect([agent.id, colleague.id]).toContain(holder);
    await app.services.orm.em.fork().execute(`DELETE FROM schedules WHERE agent_id = ?`, [holder]);
    await app.services.shiftHandover.sweep(later(605));
    expect(await k.conversation(id)).toMatchObject({ status: 'ACTIVE', agentId: holder });
  });

  it('refuses a transfer to an agent whose shift just ended (CONFLICT AGENT_OFF_DUTY), changing nothing', async () => {
    const dept = await k.department();
    const holder = await k.agentOnShift(dept.id);
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    expect((await k.conversation(id)).agentId).toBe(holder.id);
    const ended = await k.agentOnShift(dept.id);
    await k.endShift(ended.id);

    const refused = await app.exec(TransferConversationDocument, { id, toAgentId: ended.id }, holder.token);
    expect([code(refused), ext(refused).reason]).toEqual(['CONFLICT', 'AGENT_OFF_DUTY']);
    expect(refused.errors![0].message).toMatch(/not on duty/);
    expect((await k.conversation(id)).agentId).toBe(holder.id);
    expect(await k.slots(holder.id, ended.id)).toEqual([1, 0]);
    expect(await k.transfers(id)).toEqual([]);
  });
});

describe('no first reply (FIRST_REPLY_TIMEOUT_SECONDS, default 120)', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;
  const k = kit(() => app);
  beforeAll(async () => {
    app = await startTestApp();
    live = watchSubscriptions(app.services.pubsub);
  });
  afterAll(() => app.stop());

  it('gives an unanswered conversation to another eligible agent once, and tells the department’s managers', async () => {
    const dept = await k.department();
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const silent = await k.agentOnShift(dept.id);
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    expect((await k.conversation(id)).agentId).toBe(silent.id);
    const colleague = await k.agentOnShift(dept.id);

    await app.services.firstReply.sweep(later(110));
    expect((await k.conversation(id)).agentId).toBe(silent.id);

    const registered = live.fromNow();
    const events = subscribe(app.ws(customer.token), OnConversationEventsDocument, { conversationId: id });
    await registered.until(1);
    const silentInbox = await app.services.pubsub.listen(Topics.INBOX, silent.id);
    const runs = await Promise.all([app.services.firstReply.sweep(later(121)), app.services.firstReply.sweep(later(121))]);
    expect(runs.reduce((n, r) => n + r.moved, 0)).toBe(1);
    expect(await k.conversation(id)).toMatchObject({ status: 'ACTIVE', agentId: colleague.id });
    expect(await k.slots(silent.id, colleague.id)).toEqual([0, 1]);

    const seen = (await drain(events, 800)).map((d) => d.conversationEvents);
    expect(seen.filter((e) => e.type === 'STATUS').map((e) => e.status)).toEqual([
      { change: 'TRANSFERRED', status: 'ACTIVE', agentId: colleague.id, endReason: null },
    ]);
    const told = seen.filter((e) => e.type === 'MESSAGE').map((e) => e.message!.content.split('\n')[0]);
    expect(told).toEqual([`抱歉让您久等了，已为您转接至 ${colleague.displayName}，请稍候。`]);
    expect((await drainTopic(silentInbox, 300)).filter((e) => e.conversationId === id).map((e) => e.type)).toEqual(['TRANSFERRED_OUT']);

    const told2 = (await k.notifications(manager)).filter((n) => n.kind === 'NO_FIRST_REPLY');
    expect(told2).toHaveLength(1);
    expect(told2[0].body).toContain(silent.displayName);
    expect(told2[0].body).toContain(colleague.displayName);
    expect(told2[0].body).toContain(id);
    expect((await k.audit(id)).map((a) => a.action)).toEqual(['conversation.first_reply_timeout']);

    // Once: the colleague does not answer either, and it stays with them; the managers are not told again.
    await app.services.firstReply.sweep(later(1000));
    expect((await k.conversation(id)).agentId).toBe(colleague.id);
    expect((await k.notifications(manager)).filter((n) => n.kind === 'NO_FIRST_REPLY')).toHaveLength(1);
    expect(await k.seatsDrift()).toBe(0);
  });

  it('tells the admins when nobody manages the conversation’s department', async () => {
    const dept = await k.department();
    const admin = await app.createUser({ role: 'ADMIN' });
    const silent = await k.agentOnShift(dept.id);
    const id = (await k.ask(await k.customer(), dept.code)).conversation!.id;
    const colleague = await k.agentOnShift(dept.id);
    await app.services.firstReply.sweep(later(121));
    expect((await k.conversation(id)).agentId).toBe(colleague.id);
    const told = (await k.notifications(admin)).filter((n) => n.kind === 'NO_FIRST_REPLY' && n.body.includes(id));
    expect(told).toHaveLength(1);
    expect(told[0].body).toContain(silent.displayName);
  });

  it('leaves alone a conversation whose agent answered, and one whose agent got it only recently by a transfer', async () => {
    const dept = await k.department();
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const answering = await k.agentOnShift(dept.id, { maxConcurrentChats: 2 });
    const a = await k.customer();
    const answered = (await k.ask(a, dept.code)).conversation!.id;
    await k.send(answering, answered, '您好，我来帮您看看');
    const b = await k.customer();
    const handed = (await k.ask(b, dept.code)).conversation!.id;
    expect((await k.conversation(handed)).agentId).toBe(answering.id);
    const colleague = await k.agentOnShift(dept.id);
    const spare = await k.agentOnShift(dept.id);
    expect((await app.exec(TransferConversationDocument, { id: handed, toAgentId: colleague.id }, answering.token)).errors).toBeUndefined();
    // Assigned more than the timeout ago, but transferred within it: the colleague's clock runs from the transfer.
    await app.services.orm.em
      .fork()
      .execute(`UPDATE conversations SET assigned_at = now() - interval '10 minutes' WHERE id = ANY(?::uuid[])`, [
        `{${answered},${handed}}`,
      ]);

    await app.services.firstReply.sweep(later(60));
    expect((await k.conversation(answered)).agentId).toBe(answering.id);
    expect((await k.conversation(handed)).agentId).toBe(colleague.id);
    // (Alerts may reach the manager meanwhile, from the periodic alert sweep: only the first-reply ones count here.)
    expect((await k.notifications(manager)).filter((n) => n.kind === 'NO_FIRST_REPLY')).toEqual([]);

    // Past the timeout after the transfer: the answered one still stays, the other moves on to the spare agent.
    await app.services.firstReply.sweep(later(121));
    expect((await k.conversation(answered)).agentId).toBe(answering.id);
    expect((await k.conversation(handed)).agentId).toBe(spare.id);
    expect(await k.seatsDrift()).toBe(0);
  });

  it('keeps the conversation with its agent when nobody else can take it, and still tells the managers, once', async () => {
    const dept = await k.department();
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const silent = await k.agentOnShift(dept.id);
    const customer = await k.customer();
    const id = (await k.ask(customer, dept.code)).conversation!.id;
    await app.services.firstReply.sweep(later(121));
    await app.services.firstReply.sweep(later(500));
    expect(await k.conversation(id)).toMatchObject({ status: 'ACTIVE', agentId: silent.id });
    expect(await k.transfers(id)).toEqual([]);
    const told = (await k.notifications(manager)).filter((n) => n.kind === 'NO_FIRST_REPLY');
    expect(told).toHaveLength(1);
    expect(told[0].body).toMatch(/no other agent is free/);
    await eventually(async () => (await k.slots(silent.id))[0] === 1, 1000, 'the seat kept');
  });
});

describeWithRedis('roster sweeps in a cluster (two processes, one database, one Redis)', () => {
  let one: TestApp;
  let two: TestApp;
  let liveOnTwo: ReturnType<typeof watchSubscriptions>;
  const k = kit(() => one);
  beforeAll(async () => {
    one = await startTestApp({ redis: true });
    two = await startTestApp({ redis: true, databaseUrl: one.databaseUrl });
    // conversationEvents listens through the port's listen(), which resolves once Redis has confirmed the SUBSCRIBE.
    liveOnTwo = watchSubscriptions(two.services.pubsub);
  });
  afterAll(async () => {
    await two?.stop();
    await one?.stop();
  });

  it('hands over and reassigns each conversation exactly once though both processes sweep at once, announced once through either process', async () => {
    const dept = await k.department();
    const leaving = await k.agentOnShift(dept.id, { maxConcurrentChats: 1 });
    const handedCustomer = await k.customer();
    const handed = (await k.ask(handedCustomer, dept.code)).conversation!.id;
    await k.send(leaving, handed, '您好');
    const silent = await k.agentOnShift(dept.id, { maxConcurrentChats: 1 });
    const waitingCustomer = await k.customer();
    const unanswered = (await k.ask(waitingCustomer, dept.code)).conversation!.id;
    expect((await k.conversation(unanswered)).agentId).toBe(silent.id);
    // Busy from now on: the sweeps run at once in either order, and had the no-first-reply move freed the silent
    // agent's seat first, the hand-over would rightly give them the handed conversation (least loaded).
    expect((await one.exec(SetPresenceStatusDocument, { status: 'BUSY' }, silent.token)).errors).toBeUndefined();
    const colleague = await k.agentOnShift(dept.id, { maxConcurrentChats: 5 });
    await k.endShift(leaving.id);

    const registered = liveOnTwo.fromNow();
    const handedEvents = subscribe(two.ws(handedCustomer.token), OnConversationEventsDocument, { conversationId: handed });
    const unansweredEvents = subscribe(two.ws(waitingCustomer.token), OnConversationEventsDocument, { conversationId: unanswered });
    await registered.until(2);
    const at = later(605);
    const runs = await Promise.all([
      one.services.shiftHandover.sweep(at),
      two.services.shiftHandover.sweep(at),
      one.services.firstReply.sweep(at),
      two.services.firstReply.sweep(at),
    ]);
    expect(runs.reduce((n, r) => n + r.moved, 0)).toBe(2);

    expect((await k.conversation(handed)).agentId).toBe(colleague.id);
    expect((await k.conversation(unanswered)).agentId).toBe(colleague.id);
    expect(await k.slots(leaving.id, silent.id, colleague.id)).toEqual([0, 0, 2]);
    expect(await k.seatsDrift()).toBe(0);
    for (const events of [handedEvents, unansweredEvents]) {
      const seen = (await drain(events, 800)).map((d) => d.conversationEvents);
      expect(seen.filter((e) => e.type === 'STATUS').map((e) => e.status!.change)).toEqual(['TRANSFERRED']);
      expect(seen.filter((e) => e.type === 'MESSAGE')).toHaveLength(1);
    }
  });
});
