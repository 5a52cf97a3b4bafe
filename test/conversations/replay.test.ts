import { Client as PgClient } from 'pg';
import { EntityManager as CoreEntityManager } from '@mikro-orm/core';
import { print } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import { Topics } from '../../src/platform/realtime/topics';
import type { ConversationEventPayload } from '../../src/modules/conversations/conversation.events';
import { Message } from '../../src/modules/conversations/message.entity';
import {
  HeartbeatDocument,
  OnConversationEventsDocument,
  OnConversationEventsSubscription,
  RequestServiceDocument,
  SendMessageDocument,
  SetTypingDocument,
} from '../generated/graphql';
import { eventually, startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };
type Event = OnConversationEventsSubscription['conversationEvents'];

/**
 * Item 6 of the real-time service: `conversationEvents(conversationId, afterSeq)` replays every stored
 * message after afterSeq, then continues live — no gap and no duplicate, even while messages keep arriving
 * during the replay, and even when pub/sub (at-most-once) loses one.
 */
describe('conversationEvents with afterSeq: replay, then live, with no gap and no duplicate', () => {
  let app: TestApp;
  let agent: Person;

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '100000' } });
    const dept = await app.createDepartment('售前咨询', 'sales');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 20 });
    await app.data(HeartbeatDocument, {}, agent.token);
  });
  afterAll(async () => {
    await watcher?.end();
    await app?.stop();
  });

  /** A customer and a conversation with the (only) agent; seq 1 is the request's first message. */
  async function conversation(): Promise<{ id: string; customer: Person }> {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const { requestService } = await app.data(RequestServiceDocument, { input: { topic: 'sales', message: '你好' } }, customer.token);
    expect(requestService).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: agent.id, lastSeq: 1 } });
    return { id: requestService.conversation!.id, customer };
  }

  const send = (who: Person, conversationId: string, content: string, clientMessageId = content) =>
    app.data(SendMessageDocument, { input: { conversationId, content, clientMessageId } }, who.token);

  // Polled every few ms while the senders run: on a connection of the test's own, so the polling never waits in
  // (or takes from) the server's pool, whose waits are limited to DB_TIMEOUT_MS.
  let watcher: PgClient | null = null;
  const lastSeq = async (conversationId: string) => {
    if (!watcher) {
      watcher = new PgClient({ connectionString: app.databaseUrl });
      await watcher.connect();
    }
    const { rows } = await watcher.query<{ last_seq: number }>('SELECT last_seq FROM conversations WHERE id = $1', [conversationId]);
    return rows[0].last_seq;
  };

  /** One subscriber on its own socket, recording every event (and every message seq) in arrival order. */
  function subscriber(client: WsClient, conversationId: string, afterSeq: number | null) {
    const events: Event[] = [];
    const seqs: number[] = [];
    const problems: unknown[] = [];
    client.subscribe<OnConversationEventsSubscription>(
      { query: print(OnConversationEventsDocument), variables: { conversationId, afterSeq } },
      {
        next: (value) => {
          if (value.errors?.length) problems.push(value.errors);
          const e = value.data?.conversationEvents;
          if (!e) return;
          events.push(e);
          if (e.type === 'MESSAGE') seqs.push(e.message!.seq);
        },
        error: (err) => problems.push(err),
        complete: () => undefined,
      },
    );
    return {
      afterSeq,
      events,
      seqs,
      problems,
      /** Waits until the last seq received is at least `seq`. */
      reached: (seq: number, timeoutMs = 10_000) =>
        eventually(() => seqs.length > 0 && seqs[seqs.length - 1] >= seq, timeoutMs, `seq ${seq} to arrive`),
    };
  }

  const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

  it('gives every subscriber exactly afterSeq+1 .. lastSeq, in order, while 5 senders on both sides send 40 messages each', async () => {
    const { id, customer } = await conversation();
    const senders = [customer, agent, customer, agent, customer];
    const PER_SENDER = 40;
    const subs = [subscriber(app.ws(customer.token), id, 0)];
    const startedAt: number[] = [1];
    // Subscribers joining mid-stream, with afterSeq behind, at, and (for a full replay) far behind the stream.
    const plan: Array<(current: number) => number> = [
      (current) => Math.max(0, current - 15),
      (current) => current,
      () => 0,
      (current) => Math.max(0, current - 1),
      (current) => Math.floor(current / 2),
    ];
    let stop = false;
    const joiner = (async () => {
      for (const afterSeqOf of plan) {
        const threshold = 10 + subs.length * 30;
        while (!stop && (await lastSeq(id)) < threshold) await new Promise((r) => setTimeout(r, 5));
        if (stop) return;
        const current = await lastSeq(id);
        startedAt.push(current);
        const who = subs.length % 2 ? agent : customer;
        subs.push(subscriber(app.ws(who.token), id, afterSeqOf(current)));
      }
    })();

    await Promise.all(
      senders.map(async (who, k) => {
        for (let i = 0; i < PER_SENDER; i++) await send(who, id, `sender ${k} message ${i}`, `s${k}-${i}`);
      }),
    );
    stop = true;
    await joiner;
    const final = await lastSeq(id);
    expect(final).toBe(1 + senders.length * PER_SENDER);
    // At least a few subscribers joined while messages were still being written.
    expect(startedAt.filter((s) => s < final).length).toBeGreaterThanOrEqual(3);

    for (const s of subs) await s.reached(final);
    // A typing event published after the last message reaches each subscriber after anything of the stream before
    // it, a late duplicate included (each subscription delivers in order).
    await app.data(SetTypingDocument, { conversationId: id, typing: true }, customer.token);
    await eventually(() => subs.every((s) => s.events.some((e) => e.type === 'TYPING')), 10_000, 'the typing marker on every subscriber');
    const stored = await app.services.orm.em.fork().find(Message, { conversationId: id }, { orderBy: { seq: 'asc' } });
    expect(stored.map((m) => m.seq)).toEqual(range(1, final));
    const contentOf = new Map(stored.map((m) => [m.seq, m.content]));
    for (const s of subs) {
      expect(s.problems).toEqual([]);
      expect(s.seqs).toEqual(range(s.afterSeq! + 1, final));
      for (const e of s.events.filter((e) => e.type === 'MESSAGE')) expect(e.message!.content).toBe(contentOf.get(e.message!.seq));
    }
    // Each sender's messages are stored in the order that sender sent them.
    for (let k = 0; k < senders.length; k++) {
      const mine = stored.filter((m) => m.clientMessageId?.startsWith(`s${k}-`)).map((m) => m.clientMessageId);
      expect(mine).toEqual(range(0, PER_SENDER - 1).map((i) => `s${k}-${i}`));
    }
  }, 90_000);

  it('delivers a message stored while the replay is being read, even when it is the last one', async () => {
    const { id, customer } = await conversation();
    for (let i = 1; i <= 3; i++) await send(customer, id, `before ${i}`);
    // The replay reads the stored messages; right after that read (before the stream goes live) one more
    // message is committed and published. Nothing is sent after it, so only the live path can deliver it.
    const originalFind = CoreEntityManager.prototype.find;
    let armed = true;
    let written = false;
    const spy = jest.spyOn(CoreEntityManager.prototype, 'find').mockImplementation(async function (
      this: CoreEntityManager,
      ...args: unknown[]
    ) {
      const rows = await (originalFind as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      if (armed && args[0] === Message && (args[1] as { conversationId?: string }).conversationId === id) {
        armed = false;
        await send(agent, id, 'written during the replay');
        written = true;
      }
      return rows as never;
    });
    try {
      const s = subscriber(app.ws(customer.token), id, 1);
      await eventually(() => written, 5000, 'the replay to read the database and a message to be written');
      expect(await lastSeq(id)).toBe(5);
      await s.reached(5, 3000);
      expect(s.seqs).toEqual([2, 3, 4, 5]);
      expect(s.events[s.events.length - 1].message).toMatchObject({ seq: 5, content: 'written during the replay' });
    } finally {
      spy.mockRestore();
    }
  });

  it('repairs a message event lost by pub/sub from the database before passing the next one on', async () => {
    const { id, customer } = await conversation();
    /** A typing event, which only the live path carries, reaches the subscriber after all that came before it. */
    const marker = async (s: ReturnType<typeof subscriber>) => {
      const seen = s.events.filter((e) => e.type === 'TYPING').length;
      await app.data(SetTypingDocument, { conversationId: id, typing: false }, customer.token);
      await eventually(() => s.events.filter((e) => e.type === 'TYPING').length > seen, 5000, 'the typing marker');
    };
    await send(customer, id, 'first');
    const s = subscriber(app.ws(agent.token), id, 2);
    // Live: a typing event (never stored, so only the live path carries it) has come through.
    await eventually(
      async () => {
        await app.data(SetTypingDocument, { conversationId: id, typing: true }, customer.token);
        await new Promise((r) => setTimeout(r, 50));
        return s.events.some((e) => e.type === 'TYPING');
      },
      5000,
      'the subscription to go live',
    );
    expect(s.seqs).toEqual([]); // afterSeq 2 = lastSeq: nothing to replay

    // Pub/sub is at-most-once: the event of seq 3 goes nowhere.
    const pubsub = app.services.pubsub;
    const originalPublish = pubsub.publish.bind(pubsub);
    const dropped: number[] = [];
    const spy = jest.spyOn(pubsub, 'publish').mockImplementation((routingKey: string, ...args: unknown[]) => {
      const payload = args[1] as ConversationEventPayload | undefined;
      if (routingKey === Topics.CONVERSATION && payload?.type === 'MESSAGE' && payload.message?.seq === 3) {
        dropped.push(3);
        return;
      }
      originalPublish(routingKey, ...args);
    });
    try {
      await send(customer, id, 'lost in transit');
      expect(dropped).toEqual([3]);
      await marker(s);
      expect(s.seqs).toEqual([]); // nothing told the subscriber yet
      await send(customer, id, 'the next one');
      await s.reached(4, 5000);
      await marker(s); // nothing more (no seq 3 or 4 again) comes after 4
      expect(s.seqs).toEqual([3, 4]);
      const messages = s.events.filter((e) => e.type === 'MESSAGE').map((e) => e.message!.content);
      expect(messages).toEqual(['lost in transit', 'the next one']);
      expect(s.problems).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});
