import { Client as PgClient } from 'pg';
import { randomUUID } from 'node:crypto';
import {
  EndConversationDocument,
  OnConversationEventsDocument,
  OnInboxDocument,
  OnQueueUpdatesDocument,
  RequestServiceDocument,
  SetPresenceStatusDocument,
  TransferConversationDocument,
  HeartbeatDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };
type Sub<T> = ReturnType<typeof subscribe<T, unknown>>;

/** Pulls events until one matches; returns every event seen up to and including it. */
async function upTo<T>(sub: Sub<T>, match: (data: T) => boolean, timeoutMs = 5000): Promise<T[]> {
  const seen: T[] = [];
  const end = Date.now() + timeoutMs;
  for (;;) {
    const e = await sub.next(Math.max(1, end - Date.now()));
    if (!e.data) continue;
    seen.push(e.data);
    if (match(e.data)) return seen;
  }
}

/** Every event that arrives until none has for `quietMs`. */
async function drain<T>(sub: Sub<T>, quietMs: number): Promise<T[]> {
  const seen: T[] = [];
  for (;;) {
    try {
      const e = await sub.next(quietMs);
      if (e.data) seen.push(e.data);
    } catch {
      return seen;
    }
  }
}

const ask = (app: TestApp, customer: Person, topic: string) =>
  app.data(RequestServiceDocument, { input: { topic, message: '演出票买不到，请帮帮我' } }, customer.token);

describe('an agent’s seats', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    live = watchSubscriptions(app.services.pubsub);
  });
  afterAll(() => app.stop());

  /** agent_states.active_chats beside the number of ACTIVE conversations assigned to the agent. */
  const seats = async (agentId: string) => {
    const [row] = await app.services.orm.em.fork().execute<Array<{ recorded: number; active: number }>>(
      `SELECT coalesce((SELECT active_chats FROM agent_states WHERE agent_id = ?), 0) AS recorded,
              (SELECT count(*)::int FROM conversations WHERE agent_id = ? AND status = 'ACTIVE') AS active`,
      [agentId, agentId],
    );
    return row;
  };

  it('a pick-up from the queue is announced once on every channel and takes exactly one seat', async () => {
    const dept = await app.createDepartment('票务', `tickets_${randomUUID().slice(0, 6)}`);
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 3 });
    // BUSY and offline: the customer waits.
    await app.data(SetPresenceStatusDocument, { status: 'BUSY' }, agent.token);
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const queued = (await ask(app, customer, dept.code)).requestService;
    expect(queued).toMatchObject({ status: 'QUEUED', position: 1 });
    const conversationId = queued.conversation!.id;

    const customerWs = app.ws(customer.token);
    const updates = subscribe(customerWs, OnQueueUpdatesDocument, {});
    await upTo(updates, (d) => d.queueUpdates.status === 'QUEUED'); // the snapshot: the subscription is live
    const events = subscribe(customerWs, OnConversationEventsDocument, { conversationId, afterSeq: 0 });
    await upTo(events, (d) => d.conversationEvents.message?.seq === 1); // replayed after listening: live

    // The agent comes online (their socket) and then AVAILABLE.
    const registered = live.fromNow();
    const inbox = subscribe(app.ws(agent.token), OnInboxDocument, {});
    await registered.until(1); // the inbox registered (nothing to publish to it while BUSY)
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, agent.token);

    // Everything up to the end of that chat, then everything up to the next request's answer.
    const beforeEnd = {
      inbox: await upTo(inbox, (d) => d.inbox.type === 'ASSIGNED'),
      events: await upTo(events, (d) => d.conversationEvents.status?.change === 'ASSIGNED'),
    };
    await app.data(EndConversationDocument, { id: conversationId }, agent.token);
    beforeEnd.inbox.push(...(await upTo(inbox, (d) => d.inbox.type === 'ENDED')));
    beforeEnd.events.push(...(await upTo(events, (d) => d.conversationEvents.status?.change === 'ENDED')));
    const next = (await ask(app, customer, dept.code)).requestService;
    expect(next.status).toBe('ASSIGNED');
    const queueUpdates = await upTo(updates, (d) => d.queueUpdates.conversationId === next.conversation!.id);

    const assignedOf = <T>(list: T[], isIt: (e: T) => boolean) => list.filter(isIt).length;
    expect(assignedOf(beforeEnd.inbox, (e) => e.inbox.type === 'ASSIGNED' && e.inbox.conversationId === conversationId)).toBe(1);
    expect(assignedOf(beforeEnd.events, (e) => e.conversationEvents.status?.change === 'ASSIGNED')).toBe(1);
    expect(assignedOf(queueUpdates, (e) => e.queueUpdates.status === 'ASSIGNED' && e.queueUpdates.conversationId === conversationId)).toBe(
      1,
    );

    // The next customer's chat is the only one open: one seat taken, two free — three customers in all.
    expect(await seats(agent.id)).toEqual({ recorded: 1, active: 1 });
    const more = await Promise.all(
      [0, 1, 2].map(async () => (await ask(app, await app.createUser({ role: 'CUSTOMER' }), dept.code)).requestService.status),
    );
    expect(more.sort()).toEqual(['ASSIGNED', 'ASSIGNED', 'QUEUED']);
    expect(await seats(agent.id)).toEqual({ recorded: 3, active: 3 });
  });

  it('transfers in opposite directions at once, and ends racing them, leave every seat counted', async () => {
    const dept = await app.createDepartment('转接', `swap_${randomUUID().slice(0, 6)}`);
    const a = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 4 });
    const b = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 4 });
    await Promise.all([a, b].map((x) => app.data(HeartbeatDocument, {}, x.token)));
    const customers = await Promise.all([0, 1, 2, 3].map(() => app.createUser({ role: 'CUSTOMER' })));
    const chats: Array<{ id: string; agentId?: string | null }> = [];
    for (const c of customers) chats.push((await ask(app, c, dept.code)).requestService.conversation!);
    const of = (agentId: string) => chats.filter((c) => c.agentId === agentId);
    expect([of(a.id).length, of(b.id).length]).toEqual([2, 2]);

    // Each agent hands one chat to the other, while the other chat of each is ended by its customer.
    const results = await Promise.all([
      app.exec(TransferConversationDocument, { id: of(a.id)[0].id, toAgentId: b.id }, a.token),
      app.exec(TransferConversationDocument, { id: of(b.id)[0].id, toAgentId: a.id }, b.token),
      app.exec(EndConversationDocument, { id: of(a.id)[1].id }, customers[chats.indexOf(of(a.id)[1])].token),
      app.exec(EndConversationDocument, { id: of(b.id)[1].id }, customers[chats.indexOf(of(b.id)[1])].token),
    ]);
    expect(results.map((r) => r.errors)).toEqual([undefined, undefined, undefined, undefined]);
    expect(await seats(a.id)).toEqual({ recorded: 1, active: 1 });
    expect(await seats(b.id)).toEqual({ recorded: 1, active: 1 });
  });

  it('a burst of ends and requests for one agent at once: every freed seat is taken once, never more than capacity', async () => {
    const dept = await app.createDepartment('开售', `onsale_${randomUUID().slice(0, 6)}`);
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 3 });
    await app.data(HeartbeatDocument, {}, agent.token);
    const first = await Promise.all([0, 1, 2].map(() => app.createUser({ role: 'CUSTOMER' })));
    const open: string[] = [];
    for (const c of first) open.push((await ask(app, c, dept.code)).requestService.conversation!.id);
    expect(await seats(agent.id)).toEqual({ recorded: 3, active: 3 });

    const inbox = subscribe(app.ws(agent.token), OnInboxDocument, {});
    const registered = live.fromNow();
    await registered.until(1);
    const waiting = await Promise.all(Array.from({ length: 8 }, () => app.createUser({ role: 'CUSTOMER' })));
    // The agent ends all three chats while eight new customers ask, all at once.
    const [ends, asks] = await Promise.all([
      Promise.all(open.map((id) => app.exec(EndConversationDocument, { id }, agent.token))),
      Promise.all(waiting.map((c) => ask(app, c, dept.code))),
    ]);
    expect(ends.map((r) => r.errors)).toEqual([undefined, undefined, undefined]);

    // Whatever the order: three of the eight hold the three freed seats, the other five wait.
    const newChats = asks.map((a) => a.requestService.conversation!.id);
    const byStatus = async () =>
      app.services.orm.em
        .fork()
        .execute<Array<{ id: string; status: string; agent_id: string | null }>>(
          `SELECT id, status, agent_id FROM conversations WHERE id IN (${newChats.map(() => '?').join(', ')})`,
          newChats,
        );
    await eventually(async () => (await byStatus()).filter((c) => c.status === 'ACTIVE').length === 3, 5000, 'three freed seats taken');
    const rows = await byStatus();
    expect(rows.filter((c) => c.status === 'ACTIVE').every((c) => c.agent_id === agent.id)).toBe(true);
    expect(rows.filter((c) => c.status === 'QUEUED')).toHaveLength(5);
    expect(await seats(agent.id)).toEqual({ recorded: 3, active: 3 });

    // Each of the three was announced to the agent once, and nothing else was assigned.
    const taken = rows.filter((c) => c.status === 'ACTIVE').map((c) => c.id);
    const assignedIds = (await drain(inbox, 700)).filter((e) => e.inbox.type === 'ASSIGNED').map((e) => e.inbox.conversationId);
    expect(assignedIds.sort()).toEqual([...taken].sort());
  });

  it('the database keeps the count whatever changes the conversations, and a rolled-back assignment takes nothing', async () => {
    const dept = await app.createDepartment('演出', `shows_${randomUUID().slice(0, 6)}`);
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 5 });
    const other = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 5 });
    const customers = await Promise.all([0, 1, 2].map(() => app.createUser({ role: 'CUSTOMER' })));
    const pg = new PgClient({ connectionString: app.databaseUrl });
    await pg.connect();
    try {
      const ids = customers.map(() => randomUUID());
      const insert = (id: string, customerId: string, status: string, agentId: string | null) =>
        pg.query(
          // In this test's department: a row left QUEUED must not wait in another test's line.
          `INSERT INTO conversations (id, customer_id, agent_id, department_id, topic, status, priority, priority_rank)
           VALUES ($1, $2, $3, $5, 't', $4, 'NORMAL', 2)`,
          [id, customerId, agentId, status, dept.id],
        );
      await insert(ids[0], customers[0].id, 'ACTIVE', agent.id);
      await insert(ids[1], customers[1].id, 'QUEUED', null);
      expect(await seats(agent.id)).toEqual({ recorded: 1, active: 1 });
      await pg.query(`UPDATE conversations SET status = 'ACTIVE', agent_id = $2 WHERE id = $1`, [ids[1], agent.id]); // a pick-up
      expect(await seats(agent.id)).toEqual({ recorded: 2, active: 2 });
      await pg.query(`UPDATE conversations SET agent_id = $2 WHERE id = $1`, [ids[0], other.id]); // a transfer
      expect(await seats(agent.id)).toEqual({ recorded: 1, active: 1 });
      expect(await seats(other.id)).toEqual({ recorded: 1, active: 1 });
      await pg.query(`UPDATE conversations SET status = 'QUEUED', agent_id = NULL WHERE id = $1`, [ids[1]]); // a requeue
      expect(await seats(agent.id)).toEqual({ recorded: 0, active: 0 });
      await pg.query(`UPDATE conversations SET status = 'ENDED', ended_at = now() WHERE id = $1`, [ids[0]]); // an end
      expect(await seats(other.id)).toEqual({ recorded: 0, active: 0 });

      // A process killed mid-assignment: its transaction never commits, and the seat was never taken.
      await pg.query('BEGIN');
      await insert(ids[2], customers[2].id, 'ACTIVE', agent.id);
      await pg.query(`UPDATE conversations SET status = 'ACTIVE', agent_id = $2 WHERE id = $1`, [ids[1], agent.id]);
      await pg.query('ROLLBACK');
      expect(await seats(agent.id)).toEqual({ recorded: 0, active: 0 });

      // Nobody writes the count by hand.
      await expect(pg.query(`UPDATE agent_states SET active_chats = 7 WHERE agent_id = $1`, [agent.id])).rejects.toThrow(/active_chats/);
    } finally {
      await pg.end();
    }
  });
});
