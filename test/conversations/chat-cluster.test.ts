import { print } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import {
  CreateDepartmentDocument,
  CreateUserDocument,
  EndConversationDocument,
  LeaveQueueDocument,
  LoginDocument,
  MarkDeliveredDocument,
  MarkReadDocument,
  MessagesDocument,
  OnConversationEventsDocument,
  OnConversationEventsSubscription,
  OnInboxDocument,
  OnInboxSubscription,
  OnQueueUpdatesDocument,
  OnQueueUpdatesSubscription,
  PresenceDocument,
  RequestServiceDocument,
  SendMessageDocument,
  SetTypingDocument,
} from '../generated/graphql';
import { topicName } from '../../src/platform/realtime/pubsub';
import { Topics } from '../../src/platform/realtime/topics';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestDatabase, describeWithRedis, eventually } from '../support/harness';
import { expectEveryMessageOnce, followConversation, range, sleep } from '../support/conversation-follower';
import { dataAt, execAt, serverProcessEnv, ServerProcess, startServerProcess, stopAll, wsClientAt } from '../support/processes';

type Person = { id: string; token: string };
type ConversationEvent = OnConversationEventsSubscription['conversationEvents'];

/**
 * Live chat on a cluster: two real server processes (`node dist/src/main.js`) on one PostgreSQL and one Redis.
 * A customer on one process talks to an agent on the other; receipts, typing and queue positions cross too;
 * and a process killed mid-conversation loses and doubles nothing for clients that move to the survivor.
 */
describeWithRedis('live chat across two server processes', () => {
  let node1: ServerProcess | undefined;
  let node2: ServerProcess | undefined;
  let databaseUrl: string;
  let admin: string;
  const departments: Record<string, string> = {};
  const clients: WsClient[] = [];
  const ownProcesses: ServerProcess[] = [];
  let env: () => Record<string, string>;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    env = () =>
      serverProcessEnv(databaseUrl, {
        REDIS_URL: process.env.TEST_REDIS_URL!,
        ROUTING_REQUIRE_SHIFT: 'false',
        RATE_SEND_MESSAGE_PER_MINUTE: '100000',
      });
    [node1, node2] = await Promise.all([
      startServerProcess({ name: 'node-1', env: env() }),
      startServerProcess({ name: 'node-2', env: env() }),
    ]);
    admin = (await dataAt(node2!, LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).login.token;
    for (const [name, code] of [
      ['售前咨询', 'sales'],
      ['技术支持', 'technical'],
    ]) {
      departments[code] = (await dataAt(node2!, CreateDepartmentDocument, { input: { name, code } }, admin)).createDepartment.id;
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await stopAll([node1, node2, ...ownProcesses]);
  }, 60_000);

  const n1 = () => node1!;
  const n2 = () => node2!;

  /** Created through process 2, signed in through process 1: one database, one JWT secret. */
  async function person(role: 'AGENT' | 'CUSTOMER', extra: { departmentId?: string; maxConcurrentChats?: number } = {}): Promise<Person> {
    const email = `${role.toLowerCase()}-${Math.random().toString(36).slice(2, 10)}@test.local`;
    const password = 'password-123';
    const { createUser } = await dataAt(
      n2(),
      CreateUserDocument,
      { input: { email, password, displayName: email.split('@')[0], role, ...extra } },
      admin,
    );
    return { id: createUser.id, token: (await dataAt(n1(), LoginDocument, { email, password })).login.token };
  }

  function client(node: ServerProcess, who: Person): WsClient {
    const c = wsClientAt(node, who.token);
    clients.push(c);
    return c;
  }

  /** Subscribes and records every result; `error` is set when the socket or the operation fails. */
  function record<T>(c: WsClient, doc: Parameters<typeof print>[0], variables: Record<string, unknown> = {}) {
    const values: T[] = [];
    const state = { values, error: null as unknown, done: false };
    c.subscribe<T>(
      { query: print(doc), variables },
      {
        next: (v) => {
          if (v.errors?.length) state.error = v.errors;
          else if (v.data) values.push(v.data as T);
        },
        error: (err) => {
          state.error = err;
          state.done = true;
        },
        complete: () => {
          state.done = true;
        },
      },
    );
    return state;
  }

  /** An agent who is online because their socket is open on `node` (AVAILABLE by default), with their inbox. */
  async function agentOn(node: ServerProcess, departmentId: string, maxConcurrentChats: number) {
    const agent = await person('AGENT', { departmentId, maxConcurrentChats });
    const inbox = record<OnInboxSubscription>(client(node, agent), OnInboxDocument);
    const other = node === n1() ? n2() : n1();
    await eventually(
      async () => (await dataAt(other, PresenceDocument, { agentIds: [agent.id] }, admin)).presence[0].online,
      10_000,
      'the agent online on the other process',
    );
    // The inbox hears what other processes publish once its process has subscribed to the channel in Redis.
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    try {
      const channel = topicName(Topics.INBOX, agent.id);
      await eventually(
        async () => Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]) > 0,
        10_000,
        'the inbox subscribed in Redis',
      );
    } finally {
      redis.disconnect();
    }
    return { ...agent, inbox };
  }

  /** conversationEvents on `node` from afterSeq, recording messages (seqs in arrival order) and the other events. */
  function events(node: ServerProcess, who: Person, conversationId: string, afterSeq: number) {
    const s = record<OnConversationEventsSubscription>(client(node, who), OnConversationEventsDocument, { conversationId, afterSeq });
    const all = () => s.values.map((v) => v.conversationEvents);
    return {
      state: s,
      all,
      seqs: () => all().flatMap((e) => (e.type === 'MESSAGE' ? [e.message!.seq] : [])),
      ofType: (type: string) => all().filter((e) => e.type === type),
      waitFor: (what: string, check: (e: ConversationEvent) => boolean, timeoutMs = 10_000) =>
        eventually(() => all().some(check), timeoutMs, what).then(() => all().find(check)!),
    };
  }

  const send = (node: ServerProcess, who: Person, conversationId: string, content: string, clientMessageId = content) =>
    dataAt(node, SendMessageDocument, { input: { conversationId, content, clientMessageId } }, who.token);

  describe('a customer on process 1 with an agent on process 2', () => {
    let chats = 0;
    /** A department of its own with one agent (capacity 1) on process 2, and a customer's request made on process 1. */
    async function chat() {
      const n = ++chats;
      const code = `sales_${n}`;
      const departmentId = (await dataAt(n2(), CreateDepartmentDocument, { input: { name: `售前咨询 ${n}`, code } }, admin))
        .createDepartment.id;
      const agent = await agentOn(n2(), departmentId, 1);
      const customer = await person('CUSTOMER');
      const { requestService } = await dataAt(
        n1(),
        RequestServiceDocument,
        { input: { topic: code, message: '你好，想咨询一下' } },
        customer.token,
      );
      return { code, agent, customer, requestService, conversationId: requestService.conversation?.id ?? '' };
    }
    /** Both sides' conversation events, each on its own process; the replay of seq 1 arrives once they listen (in Redis, too). */
    async function sidesOf(c: Awaited<ReturnType<typeof chat>>) {
      const customerSide = events(n1(), c.customer, c.conversationId, 0);
      const agentSide = events(n2(), c.agent, c.conversationId, 0);
      await eventually(() => customerSide.seqs().length === 1 && agentSide.seqs().length === 1, 10_000, 'the replay of seq 1');
      return { customerSide, agentSide };
    }

    it('routes the request made on process 1 to the agent whose socket is on process 2, who hears of it there', async () => {
      const { agent, requestService, conversationId } = await chat();
      expect(requestService).toMatchObject({ status: 'ASSIGNED', conversation: { status: 'ACTIVE', agentId: agent.id, lastSeq: 1 } });
      await eventually(() => agent.inbox.values.some((v) => v.inbox.type === 'ASSIGNED'), 10_000, 'ASSIGNED in the inbox on process 2');
      expect(agent.inbox.values[0].inbox).toMatchObject({
        type: 'ASSIGNED',
        conversationId,
        message: { seq: 1, content: '你好，想咨询一下' },
      });
    });

    it('carries messages both ways, in seq order, to both sides', async () => {
      const c = await chat();
      const { agent, customer, conversationId } = c;
      const { customerSide, agentSide } = await sidesOf(c);

      const PER_SIDE = 10;
      await Promise.all([
        (async () => {
          for (let i = 0; i < PER_SIDE; i++) await send(n1(), customer, conversationId, `customer ${i}`);
        })(),
        (async () => {
          for (let i = 0; i < PER_SIDE; i++) await send(n2(), agent, conversationId, `agent ${i}`);
        })(),
      ]);
      const last = 1 + 2 * PER_SIDE;
      await eventually(() => customerSide.seqs().length >= last && agentSide.seqs().length >= last, 10_000, 'every message on both sides');
      // A late duplicate would come before a typing event each process publishes after its last message (each
      // publisher's events reach a subscriber in order): once both sides have both, nothing more is on its way.
      await dataAt(n1(), SetTypingDocument, { conversationId, typing: false }, customer.token);
      await dataAt(n2(), SetTypingDocument, { conversationId, typing: false }, agent.token);
      const markers = (side: typeof customerSide) => new Set(side.ofType('TYPING').map((e) => e.typing!.userId)).size;
      await eventually(() => markers(customerSide) === 2 && markers(agentSide) === 2, 10_000, 'both typing markers on both sides');
      for (const side of [customerSide, agentSide]) {
        expect(side.seqs()).toEqual(range(1, last));
        const messages = side.ofType('MESSAGE').map((e) => e.message!);
        expect(messages.filter((m) => m.senderId === customer.id).map((m) => m.content)).toEqual([
          '你好，想咨询一下',
          ...range(0, PER_SIDE - 1).map((i) => `customer ${i}`),
        ]);
        expect(messages.filter((m) => m.senderId === agent.id).map((m) => m.content)).toEqual(
          range(0, PER_SIDE - 1).map((i) => `agent ${i}`),
        );
      }
      // The inbox on process 2 heard of each customer message sent through process 1.
      await eventually(
        () => agent.inbox.values.filter((v) => v.inbox.type === 'MESSAGE').length === PER_SIDE,
        10_000,
        'inbox MESSAGE events',
      );
      expect(customerSide.state.error).toBeNull();
      expect(agentSide.state.error).toBeNull();
    });

    it('carries typing both ways', async () => {
      const c = await chat();
      const { agent, customer, conversationId } = c;
      const { customerSide, agentSide } = await sidesOf(c);
      await dataAt(n1(), SetTypingDocument, { conversationId, typing: true }, customer.token);
      const typing = await agentSide.waitFor('typing on process 2', (e) => e.type === 'TYPING');
      expect(typing.typing).toEqual({ userId: customer.id, role: 'CUSTOMER', typing: true });
      await dataAt(n2(), SetTypingDocument, { conversationId, typing: false }, agent.token);
      const stopped = await customerSide.waitFor('typing on process 1', (e) => e.type === 'TYPING' && e.typing?.userId === agent.id);
      expect(stopped.typing).toEqual({ userId: agent.id, role: 'AGENT', typing: false });
    });

    it('carries receipts both ways: the sender sees them, and the statuses go SENT → DELIVERED → READ', async () => {
      const c = await chat();
      const { agent, customer, conversationId } = c;
      const { customerSide, agentSide } = await sidesOf(c);
      for (let i = 0; i < 10; i++) {
        await send(n1(), customer, conversationId, `customer ${i}`);
        await send(n2(), agent, conversationId, `agent ${i}`);
      }
      const statuses = async (node: ServerProcess, who: Person, senderId: string) =>
        (await dataAt(node, MessagesDocument, { conversationId, afterSeq: 0, first: 100 }, who.token)).messages.messages
          .filter((m) => m.senderId === senderId)
          .map((m) => m.status);
      const mine = 11; // the first message and ten more
      expect(await statuses(n1(), customer, customer.id)).toEqual(Array(mine).fill('SENT'));

      const delivered = (await dataAt(n2(), MarkDeliveredDocument, { conversationId, upToSeq: 21 }, agent.token)).markDelivered;
      expect(delivered).toEqual({ kind: 'DELIVERED', upToSeq: 21, updated: mine, byUserId: agent.id });
      const receipt = await customerSide.waitFor(
        'a DELIVERED receipt on process 1',
        (e) => e.type === 'RECEIPT' && e.receipt?.kind === 'DELIVERED',
      );
      expect(receipt.receipt).toEqual({ byUserId: agent.id, kind: 'DELIVERED', upToSeq: 21, updated: mine });
      expect(await statuses(n1(), customer, customer.id)).toEqual(Array(mine).fill('DELIVERED'));

      await dataAt(n2(), MarkReadDocument, { conversationId, upToSeq: 21 }, agent.token);
      const read = await customerSide.waitFor('a READ receipt on process 1', (e) => e.type === 'RECEIPT' && e.receipt?.kind === 'READ');
      expect(read.receipt).toEqual({ byUserId: agent.id, kind: 'READ', upToSeq: 21, updated: mine });
      expect(await statuses(n1(), customer, customer.id)).toEqual(Array(mine).fill('READ'));

      // And the other way: the customer on process 1 reads the agent's messages; the agent on process 2 sees it.
      expect(await statuses(n2(), agent, agent.id)).toEqual(Array(10).fill('SENT'));
      await dataAt(n1(), MarkDeliveredDocument, { conversationId, upToSeq: 10 }, customer.token);
      const partial = await agentSide.waitFor(
        'a DELIVERED receipt on process 2',
        (e) => e.type === 'RECEIPT' && e.receipt?.byUserId === customer.id,
      );
      expect(partial.receipt).toMatchObject({ kind: 'DELIVERED', upToSeq: 10 });
      await dataAt(n1(), MarkReadDocument, { conversationId, upToSeq: 21 }, customer.token);
      await agentSide.waitFor(
        'a READ receipt on process 2',
        (e) => e.type === 'RECEIPT' && e.receipt?.byUserId === customer.id && e.receipt.kind === 'READ',
      );
      const agentStatuses = await statuses(n2(), agent, agent.id);
      expect(agentStatuses).toEqual(Array(10).fill('READ'));
    });

    it('tells a customer waiting on process 2 every change of the line made on process 1, then the assignment', async () => {
      const c = await chat();
      const { agent, customer, conversationId } = c;
      const { customerSide, agentSide } = await sidesOf(c);
      // The agent (capacity 1) is busy with the first customer: the next one waits.
      const waiting = await person('CUSTOMER');
      const queued = (await dataAt(n2(), RequestServiceDocument, { input: { topic: c.code, message: '在吗' } }, waiting.token))
        .requestService;
      expect(queued).toMatchObject({ status: 'QUEUED', position: 1 });
      const updates = record<OnQueueUpdatesSubscription>(client(n2(), waiting), OnQueueUpdatesDocument);
      const seen = () => updates.values.map((v) => v.queueUpdates);
      const waitUpdate = (what: string, check: (u: OnQueueUpdatesSubscription['queueUpdates']) => boolean) =>
        eventually(() => seen().some(check), 10_000, what).then(() => seen().findIndex(check));
      await waitUpdate('the current place', (u) => u.status === 'QUEUED' && u.position === 1);

      // An urgent request on process 1 jumps ahead: the waiting customer on process 2 moves to 2.
      const urgent = await person('CUSTOMER');
      const jumped = (
        await dataAt(n1(), RequestServiceDocument, { input: { topic: c.code, message: '我要投诉，订单无法使用' } }, urgent.token)
      ).requestService;
      expect(jumped).toMatchObject({ status: 'QUEUED', priority: 'URGENT', position: 1 });
      const second = await waitUpdate('position 2', (u) => u.status === 'QUEUED' && u.position === 2);

      // It leaves the line on process 1: back to 1.
      await dataAt(n1(), LeaveQueueDocument, {}, urgent.token);
      await eventually(
        () =>
          seen()
            .slice(second + 1)
            .some((u) => u.status === 'QUEUED' && u.position === 1),
        10_000,
        'position 1 again',
      );

      // The first conversation ends on process 1: its slot goes to the waiting customer, who hears it on process 2.
      await dataAt(n1(), EndConversationDocument, { id: conversationId }, customer.token);
      const at = await waitUpdate('ASSIGNED', (u) => u.status === 'ASSIGNED');
      const assigned = seen()[at];
      expect(assigned).toMatchObject({ status: 'ASSIGNED', agentId: agent.id, conversationId: queued.conversation!.id, position: null });
      // Both sides of the ended conversation heard the end, each on its own process.
      for (const side of [customerSide, agentSide]) {
        await side.waitFor('the end', (e) => e.type === 'STATUS' && e.status?.change === 'ENDED');
      }
      await eventually(
        () => agent.inbox.values.some((v) => v.inbox.type === 'ASSIGNED' && v.inbox.conversationId === queued.conversation!.id),
        10_000,
        'the new assignment in the inbox',
      );
      expect(updates.error).toBeNull();
    });
  });

  /**
   * A customer and an agent both on process 1, messages flowing from both sides; process 1 is SIGKILLed.
   * Each client moves to process 2: it resubscribes with afterSeq = the last seq it saw and resends, under the
   * same clientMessageId, whatever it had not seen acknowledged.
   */
  it('loses and doubles nothing when the process both parties use is killed mid-conversation', async () => {
    // The process killed is a third one of its own: the other tests keep using process 1, whatever the order.
    const doomed = await startServerProcess({ name: 'node-3', env: env() });
    ownProcesses.push(doomed);
    const agent = await agentOn(doomed, departments.technical, 5);
    const customer = await person('CUSTOMER');
    const { requestService } = await dataAt(
      doomed,
      RequestServiceDocument,
      { input: { topic: 'technical', message: '系统报错了' } },
      customer.token,
    );
    expect(requestService).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: agent.id } });
    const conversationId = requestService.conversation!.id;

    let killed = false;
    /** A client that follows the conversation from seq 0 and, when its socket dies, resumes on the survivor. */
    const follower = (who: Person) =>
      followConversation({ conversationId, first: client(doomed, who), reconnect: () => client(n2(), who), killed: () => killed });

    /** Sends `count` messages one after another, through process 1 until it fails, then process 2; a failed send is retried with the same clientMessageId. */
    const PER_SIDE = 40;
    const retried: string[] = [];
    const acks = new Map<string, { id: string; seq: number }>();
    async function talk(who: Person, tag: string, sent: { count: number }) {
      for (let i = 0; i < PER_SIDE; i++) {
        const clientMessageId = `${tag}-${i}`;
        for (let attempt = 0; ; attempt++) {
          const node = killed || doomed.exitInfo() ? n2() : doomed;
          try {
            const res = await execAt(
              node,
              SendMessageDocument,
              { input: { conversationId, content: `${tag} message ${i}`, clientMessageId } },
              who.token,
            );
            if (res.errors?.length) throw new Error(JSON.stringify(res.errors));
            acks.set(clientMessageId, { id: res.data!.sendMessage.id, seq: res.data!.sendMessage.seq });
            break;
          } catch (err) {
            if (attempt >= 50) throw err;
            retried.push(`${clientMessageId} via ${node.name}: ${(err as Error).message.slice(0, 80)}`);
            await sleep(50); // a client's pause before retrying a send its dying process dropped
          }
        }
        sent.count += 1;
        await sleep(15); // a person's pace, so the kill lands mid-conversation rather than after the last send
      }
    }

    const customerView = follower(customer);
    const agentView = follower(agent);
    await eventually(() => customerView.seqs.length === 1 && agentView.seqs.length === 1, 10_000, 'the replay of seq 1 on process 1');
    const customerSent = { count: 0 };
    const agentSent = { count: 0 };
    const talking = Promise.all([talk(customer, 'customer', customerSent), talk(agent, 'agent', agentSent)]);

    await eventually(() => customerSent.count >= 12 && agentSent.count >= 12, 30_000, 'a dozen messages from each side');
    killed = true;
    const exit = await doomed.stop({ signal: 'SIGKILL' });
    expect(exit.signal).toBe('SIGKILL');
    const atKill = { customer: customerSent.count, agent: agentSent.count };
    await talking;
    // Messages kept flowing after the kill.
    expect(atKill.customer).toBeLessThan(PER_SIDE);
    expect(atKill.agent).toBeLessThan(PER_SIDE);
    // A client that never saw the answer to a send through process 1 resends it to process 2: same message back.
    for (const [who, tag, count] of [
      [customer, 'customer', atKill.customer],
      [agent, 'agent', atKill.agent],
    ] as const) {
      const clientMessageId = `${tag}-${count - 1}`;
      const again = await dataAt(
        n2(),
        SendMessageDocument,
        { input: { conversationId, content: `${tag} message ${count - 1}`, clientMessageId } },
        who.token,
      );
      expect({ id: again.sendMessage.id, seq: again.sendMessage.seq }).toEqual(acks.get(clientMessageId));
    }

    const lastSeq = (await dataAt(n2(), MessagesDocument, { conversationId, afterSeq: 0, first: 1 }, customer.token)).messages.lastSeq;
    expect(lastSeq).toBe(1 + 2 * PER_SIDE);
    await expectEveryMessageOnce(
      [customerView, agentView],
      lastSeq,
      async () => (await send(n2(), customer, conversationId, 'marker')).sendMessage.seq,
    );
    for (const view of [customerView, agentView]) {
      expect(view.resumedFrom).toHaveLength(1); // the socket died with process 1, once
      expect(view.resumedFrom[0]).toBeGreaterThan(1); // and resumed after what it had seen
    }

    // The database: every message once, one row per clientMessageId, seqs 1..N.
    const pg = new PgClient({ connectionString: databaseUrl });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ seq: number; sender_id: string | null; client_message_id: string | null; content: string }>(
        'SELECT seq, sender_id, client_message_id, content FROM messages WHERE conversation_id = $1 ORDER BY seq',
        [conversationId],
      );
      expect(rows.map((r) => r.seq)).toEqual(range(1, lastSeq + 1)); // the last one the marker
      for (const [who, tag] of [
        [customer, 'customer'],
        [agent, 'agent'],
      ] as const) {
        const mine = rows.filter((r) => r.client_message_id?.startsWith(`${tag}-`));
        expect(mine.map((r) => r.client_message_id)).toEqual(range(0, PER_SIDE - 1).map((i) => `${tag}-${i}`));
        expect(mine.every((r) => r.sender_id === who.id)).toBe(true);
        expect(mine.map((r) => r.content)).toEqual(range(0, PER_SIDE - 1).map((i) => `${tag} message ${i}`));
      }
      const { rows: dupes } = await pg.query(
        'SELECT content, count(*) FROM messages WHERE conversation_id = $1 GROUP BY content HAVING count(*) > 1',
        [conversationId],
      );
      expect(dupes).toEqual([]);
    } finally {
      await pg.end();
    }
    if (retried.length) process.stdout.write(`sends retried after the kill: ${retried.length}\n${retried.join('\n')}\n`);
  }, 90_000);
});
