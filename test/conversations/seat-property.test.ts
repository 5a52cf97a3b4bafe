import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import { print } from 'graphql';
import {
  ConversationByIdDocument,
  EndConversationDocument,
  LeaveQueueDocument,
  OnConversationEventsDocument,
  OnInboxDocument,
  OnQueueUpdatesDocument,
  PresenceDocument,
  QueueDocument,
  RequestServiceDocument,
  SetPresenceStatusDocument,
  TransferConversationDocument,
} from '../generated/graphql';
import { eventually, GqlResult, startTestApp, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';
import { topicName } from '../../src/platform/realtime/pubsub';
import { Topics } from '../../src/platform/realtime/topics';

/**
 * Random interleavings of what customers and agents do, fired concurrently against the real server; after
 * each run the database and the subscriptions must agree: seats equal ACTIVE conversations, nobody above
 * capacity, one open conversation per customer, queue positions 1..n, every assignment announced once.
 * SEAT_PROPERTY_RUNS sets the number of runs (default 8); SEAT_PROPERTY_SEED and SEAT_PROPERTY_PATH replay the
 * scenario a failure reports (`{ seed, path }`).
 */
const RUNS = Number(process.env.SEAT_PROPERTY_RUNS ?? 8);
const REPLAY = process.env.SEAT_PROPERTY_SEED ? { seed: Number(process.env.SEAT_PROPERTY_SEED), path: process.env.SEAT_PROPERTY_PATH } : {};
const AGENTS = 4;
const CUSTOMERS = 8;

type Op =
  | { kind: 'request'; customer: number }
  | { kind: 'online' | 'offline' | 'busy' | 'available'; agent: number }
  | { kind: 'transfer'; customer: number; to: number }
  | { kind: 'end'; customer: number; byAgent: boolean }
  | { kind: 'leave'; customer: number };

const customerIx = fc.integer({ min: 0, max: CUSTOMERS - 1 });
const agentIx = fc.integer({ min: 0, max: AGENTS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('request' as const), customer: customerIx }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('online' as const, 'offline' as const, 'busy' as const, 'available' as const),
      agent: agentIx,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('transfer' as const), customer: customerIx, to: agentIx }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('end' as const), customer: customerIx, byAgent: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), customer: customerIx }) },
);
/** Each wave's operations run at once; a pause after some waves lets the offline grace (1 s) and the sweeps act. */
const scenario = fc.record({
  capacities: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: AGENTS, maxLength: AGENTS }),
  /** Agents start online; these start BUSY (customers then queue until one becomes AVAILABLE). */
  busy: fc.array(fc.boolean(), { minLength: AGENTS, maxLength: AGENTS }),
  waves: fc.array(fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 10 }), pauseMs: fc.constantFrom(0, 0, 150, 1300) }), {
    minLength: 2,
    maxLength: 6,
  }),
});

/** The codes a refused operation may answer with; anything else (INTERNAL_SERVER_ERROR) fails the run. */
const EXPECTED_REFUSALS = new Set(['CONFLICT', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']);

type Person = { id: string; token: string };

/** Every event of one subscription, kept for counting. */
function record<T>(client: WsClient, doc: Parameters<typeof print>[0], variables: Record<string, unknown>, into: T[]): void {
  client.subscribe<T>(
    { query: print(doc), variables },
    { next: (v) => v.data && into.push(v.data as T), error: () => undefined, complete: () => undefined },
  );
}

describe('seats under random interleavings (fast-check, real server)', () => {
  let app: TestApp;
  let admin: string;
  let live: ReturnType<typeof watchSubscriptions>;

  beforeAll(async () => {
    app = await startTestApp({
      env: { ROUTING_REQUIRE_SHIFT: 'false', AGENT_OFFLINE_GRACE_SECONDS: '1', RATE_END_CONVERSATION_PER_MINUTE: '100000' },
    });
    live = watchSubscriptions(app.services.pubsub);
    admin = await app.adminToken();
  });
  afterAll(() => app.stop());

  it(`keeps every invariant (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ capacities, busy, waves }) => {
        const code = `p_${randomBytes(4).toString('hex')}`;
        const dept = await app.createDepartment(`压测 ${code}`, code);
        const agents = await Promise.all(
          capacities.map((max) => app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: max })),
        );
        const customers = await Promise.all(Array.from({ length: CUSTOMERS }, () => app.createUser({ role: 'CUSTOMER' })));

        // Customers listen all along (queueUpdates carries every assignment of theirs); agents listen while online.
        const queueUpdates: Array<{ queueUpdates: { conversationId: string; status: string } }> = [];
        const statusEvents: Array<{ conversationEvents: { conversationId: string; status?: { change: string } | null } }> = [];
        const inbox: Array<{ inbox: { type: string; conversationId: string } }> = [];
        const customerWs = customers.map((c) => app.ws(c.token));
        customerWs.forEach((ws) => record(ws, OnQueueUpdatesDocument, {}, queueUpdates));
        const agentWs = new Map<number, WsClient>();
        const sockets: WsClient[] = [...customerWs];
        await live.untilOn(customers.map((c) => topicName(Topics.QUEUE_CUSTOMER, c.id)));

        const conversationOf = new Map<number, string>();
        const unexpected: Array<GqlResult<unknown>['errors']> = [];
        const check = <T>(res: GqlResult<T>) => {
          const codes = (res.errors ?? []).map((e) => e.extensions?.code);
          if (codes.some((c) => !EXPECTED_REFUSALS.has(c))) unexpected.push(res.errors);
          return res;
        };
        const online = (i: number) => {
          if (agentWs.has(i)) return;
          const ws = app.ws(agents[i].token);
          sockets.push(ws);
          agentWs.set(i, ws);
          record(ws, OnInboxDocument, {}, inbox);
        };
        await Promise.all(agents.map((a, i) => app.data(SetPresenceStatusDocument, { status: busy[i] ? 'BUSY' : 'AVAILABLE' }, a.token)));
        agents.forEach((_, i) => online(i));
        const run = async (o: Op): Promise<void> => {
          switch (o.kind) {
            case 'request': {
              const c = customers[o.customer];
              const res = check(await app.exec(RequestServiceDocument, { input: { topic: code, message: '抢票失败，请帮忙' } }, c.token));
              const id = res.data?.requestService.conversation?.id;
              if (id && conversationOf.get(o.customer) !== id) {
                conversationOf.set(o.customer, id);
                record(customerWs[o.customer], OnConversationEventsDocument, { conversationId: id }, statusEvents);
              }
              return;
            }
            case 'online':
              return online(o.agent);
            case 'offline': {
              const ws = agentWs.get(o.agent);
              agentWs.delete(o.agent);
              await ws?.dispose();
              return;
            }
            case 'busy':
            case 'available':
              check(await app.exec(SetPresenceStatusDocument, { status: o.kind === 'busy' ? 'BUSY' : 'AVAILABLE' }, agents[o.agent].token));
              return;
            case 'transfer': {
              const id = conversationOf.get(o.customer);
              if (!id) return;
              const from = (await app.data(ConversationByIdDocument, { id }, admin)).conversation?.agentId;
              const by = agents.find((a) => a.id === from);
              if (by) check(await app.exec(TransferConversationDocument, { id, toAgentId: agents[o.to].id }, by.token));
              return;
            }
            case 'end': {
              const id = conversationOf.get(o.customer);
              if (!id) return;
              let by: Person = customers[o.customer];
              if (o.byAgent) {
                const agentId = (await app.data(ConversationByIdDocument, { id }, admin)).conversation?.agentId;
                by = agents.find((a) => a.id === agentId) ?? by;
              }
              check(await app.exec(EndConversationDocument, { id }, by.token));
              return;
            }
            case 'leave':
              check(await app.exec(LeaveQueueDocument, {}, customers[o.customer].token));
              return;
          }
        };

        try {
          if (process.env.SEAT_PROPERTY_DEBUG) console.log(JSON.stringify(waves));
          for (const wave of waves) {
            await Promise.all(wave.ops.map(run));
            // The pause is part of the scenario, not a wait: it lets the offline grace (1 s) and the sweeps act between waves.
            if (wave.pauseMs) await new Promise((r) => setTimeout(r, wave.pauseMs));
          }
          // Freeze: nobody takes more (BUSY), nobody loses chats (online), then let the in-flight work land.
          await Promise.all(agents.map((a) => app.data(SetPresenceStatusDocument, { status: 'BUSY' }, a.token)));
          agents.forEach((_, i) => online(i));
          const ids = agents.map((a) => a.id);
          await eventually(
            async () => (await app.data(PresenceDocument, { agentIds: ids }, admin)).presence.every((p) => p.online),
            5000,
            'all agents online',
          );
          // A sweep (offline grace, routing) that began before they were back, and the offers it started, have committed.
          await app.services.scheduler.idle();
          await app.services.queueDrain.settled();
          expect(unexpected).toEqual([]);
          await checkInvariants(dept.id, agents, queueUpdates, statusEvents, inbox);
        } finally {
          for (const id of conversationOf.values()) await app.exec(EndConversationDocument, { id }, admin);
          await Promise.all(sockets.map((ws) => ws.dispose()));
        }
      }),
      // No shrinking: each try is a run against the server; the first failing scenario (and its seed) is reported.
      { numRuns: RUNS, endOnFailure: true, ...REPLAY },
    );
  }, 600_000);

  async function checkInvariants(
    departmentId: string,
    agents: Person[],
    queueUpdates: Array<{ queueUpdates: { conversationId: string; status: string } }>,
    statusEvents: Array<{ conversationEvents: { conversationId: string; status?: { change: string } | null } }>,
    inbox: Array<{ inbox: { type: string; conversationId: string } }>,
  ): Promise<void> {
    const em = () => app.services.orm.em.fork();
    const agentIds = agents.map((a) => a.id);

    // Seats equal ACTIVE conversations, and nobody holds more than their capacity (this run's agents: a failed
    // run must not fail the runs fast-check tries while it shrinks).
    const seats = await em().execute<Array<{ id: string; recorded: number; active: number; max: number }>>(
      `SELECT u.id, coalesce(a.active_chats, 0) AS recorded, u.max_concurrent_chats AS max,
              (SELECT count(*)::int FROM conversations c WHERE c.agent_id = u.id AND c.status = 'ACTIVE') AS active
         FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id WHERE u.id = ANY(?::uuid[])`,
      [`{${agentIds.join(',')}}`],
    );
    expect(seats.filter((s) => s.recorded !== s.active)).toEqual([]);
    expect(seats.filter((s) => s.active > s.max)).toEqual([]);

    // One open conversation per customer.
    expect(
      await em().execute(
        `SELECT customer_id FROM conversations WHERE status <> 'ENDED' AND department_id = ? GROUP BY customer_id HAVING count(*) > 1`,
        [departmentId],
      ),
    ).toEqual([]);

    // The queue: positions 1..n, exactly the QUEUED conversations of the department.
    const line = (await app.data(QueueDocument, { departmentId }, await app.adminToken())).queue;
    const waiting = await em().execute<Array<{ id: string }>>(
      `SELECT id FROM conversations WHERE status = 'QUEUED' AND department_id = ?`,
      [departmentId],
    );
    expect(line.map((e) => e.position)).toEqual(line.map((_, i) => i + 1));
    expect(line.map((e) => e.conversation.id).sort()).toEqual(waiting.map((w) => w.id).sort());

    // Every assignment announced exactly once on queueUpdates (the customer listened throughout), and never
    // twice on the agent's inbox or the conversation's events (those listened part of the time). Assignments
    // of a conversation: one per requeue (each undid one) plus one if it holds an agent now.
    const expected = await em().execute<Array<{ id: string; assignments: number }>>(
      `SELECT c.id, (c.agent_id IS NOT NULL)::int + (SELECT count(*)::int FROM conversation_transfers t WHERE t.conversation_id = c.id AND t.to_agent_id IS NULL) AS assignments
         FROM conversations c WHERE c.department_id = ?`,
      [departmentId],
    );
    const count = <T>(list: T[], id: (e: T) => string | null) => {
      const n = new Map<string, number>();
      for (const e of list) {
        const k = id(e);
        if (k) n.set(k, (n.get(k) ?? 0) + 1);
      }
      return n;
    };
    if (process.env.SEAT_PROPERTY_DEBUG) console.log(JSON.stringify({ expected, q: queueUpdates.map((e) => e.queueUpdates), seats }));
    const want = new Map(expected.map((e) => [e.id, e.assignments]));
    const announced = () => count(queueUpdates, (e) => (e.queueUpdates.status === 'ASSIGNED' ? e.queueUpdates.conversationId : null));
    await eventually(() => expected.every((e) => (announced().get(e.id) ?? 0) === e.assignments), 5000, 'every assignment announced').catch(
      () => undefined,
    );
    expect(Object.fromEntries(expected.map((e) => [e.id, announced().get(e.id) ?? 0]))).toEqual(Object.fromEntries(want));
    for (const [id, n] of count(inbox, (e) => (e.inbox.type === 'ASSIGNED' ? e.inbox.conversationId : null)))
      expect([id, n <= (want.get(id) ?? 0)]).toEqual([id, true]);
    for (const [id, n] of count(statusEvents, (e) =>
      e.conversationEvents.status?.change === 'ASSIGNED' ? e.conversationEvents.conversationId : null,
    )) {
      expect([id, n <= (want.get(id) ?? 0)]).toEqual([id, true]);
    }
  }
});
