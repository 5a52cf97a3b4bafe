import {
  ConversationByIdDocument,
  ConversationsDocument,
  EndConversationDocument,
  HeartbeatDocument,
  MarkDeliveredDocument,
  MarkReadDocument,
  MessagesDocument,
  OnConversationEventsDocument,
  OnInboxDocument,
  RequestServiceDocument,
  SendMessageDocument,
  SetTypingDocument,
} from '../generated/graphql';
import { startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };

describe('chat', () => {
  let app: TestApp;
  let dept: { id: string };
  let otherDept: { id: string };
  let agent: Person;
  let customer: Person;
  let stranger: Person;
  let conversationId: string;
  let live: ReturnType<typeof watchSubscriptions>;

  const send = (who: Person, content: string, clientMessageId: string, id = conversationId) =>
    app.exec(SendMessageDocument, { input: { conversationId: id, content, clientMessageId } }, who.token);

  /** A fresh customer in a conversation with `withAgent`. */
  const newConversation = async (withAgent: Person) => {
    const c = await app.createUser({ role: 'CUSTOMER' });
    const res = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, c.token)).requestService;
    expect(res.conversation?.agentId).toBe(withAgent.id);
    return { customer: c, id: res.conversation!.id };
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '1000' } });
    live = watchSubscriptions(app.services.pubsub);
    dept = await app.createDepartment('订单问题', 'order');
    otherDept = await app.createDepartment('售前咨询', 'sales');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 50 });
    await app.data(HeartbeatDocument, {}, agent.token);
    customer = await app.createUser({ role: 'CUSTOMER' });
    stranger = await app.createUser({ role: 'CUSTOMER' });
    conversationId = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '我的订单到哪了？' } }, customer.token))
      .requestService.conversation!.id;
  });
  afterAll(() => app.stop());

  it('numbers messages per conversation, both ways', async () => {
    const { customer: c, id } = await newConversation(agent);
    const a = (await send(c, '订单号 123', 'c-1', id)).data!.sendMessage;
    const b = (await send(agent, '稍等，我查一下', 'a-1', id)).data!.sendMessage;
    expect([a.seq, b.seq]).toEqual([2, 3]);
    expect(a).toMatchObject({ senderRole: 'CUSTOMER', kind: 'TEXT', status: 'SENT' });
    expect(b).toMatchObject({ senderId: agent.id, senderRole: 'AGENT' });
  });

  it('is idempotent by clientMessageId; another content under the same id is CONFLICT', async () => {
    const { customer: c, id } = await newConversation(agent);
    await send(c, '订单号 123', 'c-1', id);
    const first = (await send(c, '还在吗', 'c-2', id)).data!.sendMessage;
    const again = (await send(c, '还在吗', 'c-2', id)).data!.sendMessage;
    expect(again).toEqual(first);
    const changed = await send(c, '不一样', 'c-2', id);
    expect(changed.errors?.[0].extensions?.code).toBe('CONFLICT');
    const all = (await app.data(MessagesDocument, { conversationId: id, afterSeq: 0, first: 100 }, c.token)).messages;
    expect(all.messages.filter((m) => m.clientMessageId === 'c-2')).toHaveLength(1);
    expect(all.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('gives every one of many concurrent messages its own seq', async () => {
    const before = (await app.data(ConversationByIdDocument, { id: conversationId }, customer.token)).conversation.lastSeq;
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => send(i % 2 ? customer : agent, `并发 ${i}`, `burst-${i}`)));
    const seqs = results.map((r) => r.data!.sendMessage.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => before + 1 + i));
  });

  it('stores one message for many concurrent sends of one clientMessageId, and leaves no gap in the seqs', async () => {
    const before = (await app.data(ConversationByIdDocument, { id: conversationId }, customer.token)).conversation.lastSeq;
    const results = await Promise.all(Array.from({ length: 20 }, () => send(customer, '同一条', 'twin-1')));
    const ids = new Set(results.map((r) => r.data!.sendMessage.id));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.data!.sendMessage.seq === before + 1)).toBe(true);
    const next = (await send(agent, '收到', 'after-twins')).data!.sendMessage;
    expect(next.seq).toBe(before + 2);
    const stored = (await app.data(MessagesDocument, { conversationId, afterSeq: before, first: 100 }, customer.token)).messages.messages;
    expect(stored.map((m) => [m.seq, m.clientMessageId])).toEqual([
      [before + 1, 'twin-1'],
      [before + 2, 'after-twins'],
    ]);
  });

  it('refuses empty, oversized and foreign messages, writing nothing', async () => {
    const before = (await app.data(ConversationByIdDocument, { id: conversationId }, customer.token)).conversation.lastSeq;
    expect((await send(customer, '   ', 'e-1')).errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'content' }],
    });
    expect((await send(customer, 'x'.repeat(5001), 'e-2')).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await send(stranger, '你好', 'e-3')).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    expect((await send(manager, '我是主管', 'e-4')).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await send(customer, '你好', 'e-5', '00000000-0000-4000-8000-000000000000')).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await app.data(ConversationByIdDocument, { id: conversationId }, customer.token)).conversation.lastSeq).toBe(before);
  });

  it('pushes messages, typing and receipts live to the other side; statuses only move forward', async () => {
    const { customer: c, id } = await newConversation(agent);
    const registered = live.fromNow();
    const agentEvents = subscribe(app.ws(agent.token), OnConversationEventsDocument, { conversationId: id });
    const customerEvents = subscribe(app.ws(c.token), OnConversationEventsDocument, { conversationId: id });
    await registered.until(2);

    await app.data(SetTypingDocument, { conversationId: id, typing: true }, c.token);
    expect((await agentEvents.next()).data?.conversationEvents).toMatchObject({
      type: 'TYPING',
      typing: { userId: c.id, role: 'CUSTOMER', typing: true },
    });
    await customerEvents.next(); // its own typing echo

    await send(agent, '您好，请问有什么可以帮您？', 'a-x', id);
    const arrived = (await customerEvents.next()).data?.conversationEvents;
    expect(arrived).toMatchObject({ type: 'MESSAGE', message: { seq: 2, content: '您好，请问有什么可以帮您？', status: 'SENT' } });
    await agentEvents.next(); // the agent's own message

    expect((await app.data(MarkDeliveredDocument, { conversationId: id, upToSeq: 2 }, c.token)).markDelivered).toMatchObject({
      kind: 'DELIVERED',
      updated: 1,
    });
    expect((await agentEvents.next()).data?.conversationEvents).toMatchObject({
      type: 'RECEIPT',
      receipt: { kind: 'DELIVERED', upToSeq: 2, byUserId: c.id },
    });
    await app.data(MarkReadDocument, { conversationId: id, upToSeq: 2 }, c.token);
    expect((await agentEvents.next()).data?.conversationEvents).toMatchObject({ type: 'RECEIPT', receipt: { kind: 'READ' } });
    // Delivered again after read changes nothing: never backwards.
    expect((await app.data(MarkDeliveredDocument, { conversationId: id, upToSeq: 2 }, c.token)).markDelivered.updated).toBe(0);
    const history = (await app.data(MessagesDocument, { conversationId: id }, agent.token)).messages.messages;
    expect(history.map((m) => [m.seq, m.status])).toEqual([
      [1, 'SENT'],
      [2, 'READ'],
    ]);
    const beyond = await app.exec(MarkReadDocument, { conversationId: id, upToSeq: 3 }, c.token);
    expect(beyond.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'upToSeq' }] });
  });

  it('replays after a seq and then continues live', async () => {
    const { customer: c, id } = await newConversation(agent);
    for (let i = 0; i < 4; i++) await send(c, `m${i}`, `r-${i}`, id); // seqs 2..5
    const events = subscribe(app.ws(agent.token), OnConversationEventsDocument, { conversationId: id, afterSeq: 2 });
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((await events.next()).data!.conversationEvents.message!.seq);
    await send(c, 'live', 'r-live', id);
    seen.push((await events.next()).data!.conversationEvents.message!.seq);
    expect(seen).toEqual([3, 4, 5, 6]);
  });

  it('closes a subscription to someone else’s conversation with an error', async () => {
    const sub = subscribe(app.ws(stranger.token), OnConversationEventsDocument, { conversationId });
    const first = await sub.next();
    expect(first.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('tells the agent’s inbox about new messages, and ends for either party, freeing the agent', async () => {
    const { customer: c, id } = await newConversation(agent);
    const registered = live.fromNow();
    const inbox = subscribe(app.ws(agent.token), OnInboxDocument, {});
    await registered.until(1);
    await send(c, '在吗？', 'i-1', id);
    expect((await inbox.next()).data?.inbox).toMatchObject({ type: 'MESSAGE', conversationId: id, message: { content: '在吗？' } });
    const ended = (await app.data(EndConversationDocument, { id }, c.token)).endConversation;
    expect(ended).toMatchObject({ status: 'ENDED', endReason: 'CUSTOMER' });
    expect((await inbox.next()).data?.inbox).toMatchObject({ type: 'ENDED', conversationId: id });
    expect((await send(c, '还有', 'i-2', id)).errors?.[0].extensions?.code).toBe('CONFLICT');
    expect((await app.exec(EndConversationDocument, { id }, agent.token)).errors?.[0].extensions?.code).toBe('CONFLICT');
    const [{ active }] = await app.services.orm.em
      .fork()
      .execute<Array<{ active: number }>>(`SELECT active_chats AS active FROM agent_states WHERE agent_id = ?`, [agent.id]);
    const [{ real }] = await app.services.orm.em
      .fork()
      .execute<Array<{ real: number }>>(`SELECT count(*)::int AS real FROM conversations WHERE agent_id = ? AND status = 'ACTIVE'`, [
        agent.id,
      ]);
    expect(active).toBe(real);
  });

  it('lists conversations in scope: customers their own, agents theirs, managers their department', async () => {
    const mine = (await app.data(ConversationsDocument, {}, customer.token)).conversations.nodes;
    expect(mine.map((x) => x.id)).toEqual([conversationId]);
    expect(
      (await app.exec(ConversationsDocument, { filter: { customerId: stranger.id } }, customer.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    const agents = (await app.data(ConversationsDocument, { first: 50 }, agent.token)).conversations.nodes;
    expect(agents.every((x) => x.agentId === agent.id)).toBe(true);
    const outsider = await app.createUser({ role: 'MANAGER', departmentId: otherDept.id });
    expect((await app.data(ConversationsDocument, {}, outsider.token)).conversations.nodes).toEqual([]);
    expect((await app.exec(ConversationByIdDocument, { id: conversationId }, outsider.token)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    const insider = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    expect((await app.data(ConversationByIdDocument, { id: conversationId }, insider.token)).conversation.id).toBe(conversationId);
  });
});

describe('chat rate limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '3' } });
  });
  afterAll(() => app.stop());

  it('answers RATE_LIMITED with a retry-after beyond the configured messages a minute', async () => {
    const c = await app.createUser({ role: 'CUSTOMER' });
    const id = (await app.data(RequestServiceDocument, { input: { topic: 'x', message: '你好' } }, c.token)).requestService.conversation!
      .id;
    const results = [];
    for (let i = 0; i < 4; i++)
      results.push(
        await app.exec(SendMessageDocument, { input: { conversationId: id, content: `${i}`, clientMessageId: `rl-${i}` } }, c.token),
      );
    expect(results.slice(0, 3).every((r) => !r.errors)).toBe(true);
    expect(results[3].errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(results[3].errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThan(0);
  });
});
