import {
  EndConversationDocument,
  HeartbeatDocument,
  OnConversationEventsDocument,
  OnInboxDocument,
  RequestServiceDocument,
  SendMessageDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { createLogger } from '../../src/platform/logger';
import { Role } from '../../src/platform/auth/roles';
import { PreparedStatements } from '../../src/platform/db/prepared';

type Person = { id: string; token: string };

/**
 * Sends that arrive together are appended by one statement (group commit, conversations/message-append.ts):
 * every acknowledged message is stored with its own seq, gapless per conversation, before anyone hears of it,
 * and a refused or repeated send in the same batch changes nothing of the others.
 */
describe('chat: sends appended together', () => {
  let app: TestApp;
  let departments = 0;

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '1000' } });
  });
  afterAll(() => app.stop());

  /** Each test's own department, agent (online) and six customers' conversations with that agent. */
  async function sixConversations(): Promise<{ agent: Person; conversations: Array<{ customer: Person; id: string }> }> {
    const code = `order_${++departments}`;
    const dept = await app.createDepartment(`订单问题 ${departments}`, code);
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 20 });
    await app.data(HeartbeatDocument, {}, agent.token);
    const conversations: Array<{ customer: Person; id: string }> = [];
    for (let i = 0; i < 6; i++) {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const res = (await app.data(RequestServiceDocument, { input: { topic: code, message: `订单 ${i}` } }, customer.token)).requestService;
      conversations.push({ customer, id: res.conversation!.id });
    }
    return { agent, conversations };
  }

  const storedSeqs = async (conversationId: string) =>
    (
      await app.services.orm.em
        .fork()
        .execute<Array<{ seq: number }>>(`SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq`, [conversationId])
    ).map((r) => r.seq);

  it('stores every message of a burst over graphql-ws with its own gapless seq, each delivered once and only once stored', async () => {
    const { agent, conversations } = await sixConversations();
    const agentWs = app.ws(agent.token);
    const inbox = subscribe(agentWs, OnInboxDocument, {});
    const customerWs = conversations.map((c) => app.ws(c.customer.token));
    const events = conversations.map((c, i) => subscribe(customerWs[i], OnConversationEventsDocument, { conversationId: c.id }));
    // Live once a message sent now reaches the subscriber (one sent before that is not heard: send again).
    const untilLive = async (sub: { next(ms: number): Promise<unknown> }, c: { customer: Person; id: string }) => {
      for (let n = 0; ; n++) {
        const input = { conversationId: c.id, content: '在吗', clientMessageId: `ready-${n}` };
        await app.data(SendMessageDocument, { input }, c.customer.token);
        if (
          await sub.next(300).then(
            () => true,
            () => false,
          )
        )
          return;
      }
    };
    for (const [i, c] of conversations.entries()) await untilLive(events[i], c);
    await untilLive(inbox, conversations[0]);
    // Every message so far is stored; those the subscribers still hear of (seq up to base) are the warm-up's.
    const base = await Promise.all(conversations.map((c) => storedSeqs(c.id).then((seqs) => seqs.length)));
    const baseOf = new Map(conversations.map((c, i) => [c.id, base[i]]));
    const burst = (i: number) => Array.from({ length: 7 }, (_, n) => base[i] + 1 + n);

    // Each delivery checks that its message is already in the database.
    const storedWhenDelivered: boolean[] = [];
    const checkStored = async (conversationId: string, seq: number) => {
      const rows = await app.services.orm.em
        .fork()
        .execute(`SELECT 1 FROM messages WHERE conversation_id = ? AND seq = ?`, [conversationId, seq]);
      storedWhenDelivered.push(rows.length === 1);
    };

    // Five from each customer and two from the agent to each conversation, all at once.
    const sends = conversations.flatMap((c, i) => [
      ...Array.from({ length: 5 }, (_, k) => ({ ws: customerWs[i], c, content: `顾客消息 ${k}`, clientMessageId: `c-${k}` })),
      ...Array.from({ length: 2 }, (_, k) => ({ ws: agentWs, c, content: `坐席回复 ${k}`, clientMessageId: `a-${k}` })),
    ]);
    const results = await Promise.all(
      sends.map(async (s) => {
        const sub = subscribe(s.ws, SendMessageDocument, {
          input: { conversationId: s.c.id, content: s.content, clientMessageId: s.clientMessageId },
        });
        return (await sub.next()).data!.sendMessage;
      }),
    );
    expect(new Set(results.map((m) => m.id)).size).toBe(sends.length);

    for (const [i, c] of conversations.entries()) {
      const seqs = await storedSeqs(c.id);
      expect(seqs).toEqual(Array.from({ length: base[i] + 7 }, (_, n) => n + 1));
      const acked = results.filter((m) => m.conversationId === c.id).map((m) => m.seq);
      expect(acked.sort((a, b) => a - b)).toEqual(burst(i));
      // A customer's own messages come in their order.
      const own = results.filter((m) => m.conversationId === c.id && m.senderRole === 'CUSTOMER');
      expect(own.map((m) => m.content)).toEqual(own.map((m) => m.content).sort());
      // The customer hears all seven (their own included) exactly once, in seq order.
      const heard: number[] = [];
      while (heard.length < 7) {
        const e = (await events[i].next()).data!.conversationEvents;
        if (e.type !== 'MESSAGE' || e.message!.seq <= base[i]) continue;
        await checkStored(c.id, e.message!.seq);
        heard.push(e.message!.seq);
      }
      expect(heard).toEqual(burst(i));
    }
    // The agent's inbox: every customer message (5 per conversation), once.
    const inboxSeen: string[] = [];
    while (inboxSeen.length < conversations.length * 5) {
      const e = (await inbox.next()).data!.inbox;
      if (e.type !== 'MESSAGE' || e.message!.seq <= baseOf.get(e.conversationId)!) continue;
      await checkStored(e.conversationId, e.message!.seq);
      inboxSeen.push(`${e.conversationId}:${e.message!.seq}`);
    }
    expect(new Set(inboxSeen).size).toBe(conversations.length * 5);
    expect(storedWhenDelivered.every(Boolean)).toBe(true);
  });

  it('appends messages that arrive together in fewer statements than messages', async () => {
    const { conversations } = await sixConversations();
    // The appending statements themselves: the process-wide SQL counter also counts the sweeps running meanwhile.
    const run = jest.spyOn(PreparedStatements.prototype, 'run');
    const viewer = (p: Person) => ({ id: p.id, role: Role.CUSTOMER, departmentId: null });
    const scope = (p: Person) => ({
      viewer: viewer(p),
      em: app.services.orm.em.fork(),
      traceId: 'batch',
      logger: createLogger('silent'),
      ip: '127.0.0.1',
    });
    let appends = 0;
    const sent = await Promise.all(
      conversations.map((c, i) =>
        app.services.chat.send(scope(c.customer), { conversationId: c.id, content: `一起 ${i}`, clientMessageId: 'together' }),
      ),
    ).finally(() => {
      appends = run.mock.calls.filter(([statement]) => statement.name.startsWith('chat_append_messages')).length;
      run.mockRestore();
    });
    expect(sent.map((m) => m.content)).toEqual(conversations.map((_, i) => `一起 ${i}`));
    // The six sends arrive within a tick or two of each other: one statement, at most two, for all of them.
    expect(appends).toBeGreaterThanOrEqual(1);
    expect(appends).toBeLessThanOrEqual(2);
    for (const [i, c] of conversations.entries()) expect((await storedSeqs(c.id)).at(-1)).toBe(sent[i].seq);
  });

  it('appends through a function planned once per connection, without changing how other statements are planned', async () => {
    const em = app.services.orm.em.fork();
    const [fn] = await em.execute<Array<{ config: string[] | null }>>(
      `SELECT proconfig AS config FROM pg_proc WHERE proname = 'chat_append_messages'`,
    );
    // Re-planning the append at every execution cost half of PostgreSQL's CPU for a one-message statement.
    expect(fn.config).toEqual(['plan_cache_mode=force_generic_plan']);
    // The setting is the function's own: a statement of the same connection right after one is planned as usual.
    const { conversations } = await sixConversations();
    await app.data(
      SendMessageDocument,
      { input: { conversationId: conversations[0].id, content: '计划', clientMessageId: 'planned' } },
      conversations[0].customer.token,
    );
    const modes = await Promise.all(
      Array.from({ length: 3 }, () => em.fork().execute<Array<{ plan_cache_mode: string }>>(`SHOW plan_cache_mode`)),
    );
    expect(modes.map(([m]) => m.plan_cache_mode)).toEqual(['auto', 'auto', 'auto']);
  });

  it('keeps a refused send and a repeated clientMessageId in the same batch from touching the others', async () => {
    const { conversations } = await sixConversations();
    const [ended, ...open] = conversations.slice(0, 4);
    await app.data(EndConversationDocument, { id: ended.id }, ended.customer.token);
    await app.data(
      SendMessageDocument,
      { input: { conversationId: open[0].id, content: '早先的', clientMessageId: 'together' } },
      open[0].customer.token,
    );
    const before = await Promise.all(open.map((c) => storedSeqs(c.id)));
    const endedBefore = await storedSeqs(ended.id);
    const send = (c: { customer: Person; id: string }, content: string, clientMessageId: string) =>
      app.exec(SendMessageDocument, { input: { conversationId: c.id, content, clientMessageId } }, c.customer.token);
    const [refused, twinA, twinB, ...others] = await Promise.all([
      send(ended, '还在吗', 'late'),
      send(open[0], '同一条', 'twin'),
      send(open[0], '同一条', 'twin'),
      send(open[1], '新消息', 'fresh-1'),
      send(open[2], '新消息', 'fresh-2'),
      send(open[0], '改了内容', 'together'),
    ]);
    expect(refused.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(twinA.data!.sendMessage.id).toBe(twinB.data!.sendMessage.id);
    expect(others.slice(0, 2).map((r) => r.data!.sendMessage.seq)).toEqual([before[1].length + 1, before[2].length + 1]);
    // "together" was used in this conversation for other content above.
    expect(others[2].errors?.[0].extensions?.code).toBe('CONFLICT');
    await eventually(async () => (await storedSeqs(open[0].id)).length === before[0].length + 1, 5000, 'the twin stored once');
    expect(await storedSeqs(open[0].id)).toEqual(Array.from({ length: before[0].length + 1 }, (_, n) => n + 1));
    expect(await storedSeqs(ended.id)).toEqual(endedBefore);
  });
});
