import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray } from '../src/platform/db/arrays';
import { agentsOfScope, liveFigures } from '../src/modules/operations/dashboard-queries';
import { generateTickets, insertUsers, setUpTicketDesk } from './tickets';
import { collectGarbage, describeMachine, envInt, gql, machine, percentile, round, startBenchServer, table } from './support';

/** The indexes the operations migration adds for the dashboard's windows (dropped for the baseline). */
const DASHBOARD_INDEXES = [
  'conversations_first_reply_at_idx',
  'conversations_rated_idx',
  'conversations_ended_at_idx',
  'conversations_queued_department_idx',
  'messages_created_idx',
  'tickets_resolved_idx',
  'tickets_open_department_idx',
  'tickets_fr_breached_at_idx',
  'tickets_res_breached_at_idx',
];

const DASHBOARD_QUERY = `query ($d: ID) { serviceDashboard(departmentId: $d) {
  live { connectedCustomers connectedAgents agentsOnShift agentsOnline agentsAvailable agentsBusy queueLength longestWaitSeconds messagesPerMinute
         avgFirstResponseSeconds p90FirstResponseSeconds openChats availableSeats utilisation satisfaction ratings24h ticketsAtRisk ticketsBreached
         slaBreachesLastHour longestOnShiftOfflineSeconds }
  today { ...P } week { ...P } } }
fragment P on DashboardPeriod { conversations conversationsHandled conversationsAbandoned ticketsCreated ticketsResolved resolutionRate slaAttainment
  avgFirstResponseSeconds satisfaction hourly { hour conversations tickets } peakHours satisfactionTrend { at average ratings }
  agents { agentId displayName handled avgFirstResponseSeconds avgHandleSeconds satisfaction ticketsResolved } }`;

/**
 * `npm run bench -- dashboard`: 100,000 conversations (with 3 messages each) and 100,000 tickets of history over
 * 90 days, six departments, 60 agents, 1,000 customers, seeded in bulk SQL (then VACUUM ANALYZE); then serviceDashboard (live, today
 * and week) as a full GraphQL round trip over HTTP, for one department (manager) and for all (admin), p50/p99;
 * and one live refresh's SQL (the statements DashboardPublisher and the alert evaluator run per department) timed
 * in-process, beside the same statements without the operations indexes (dropped inside a transaction that is
 * rolled back) and the `me` round trip (the HTTP floor). Targets: dashboard p99 ≤ 150 ms; live refresh ≤ 50 ms
 * of database time. BENCH_CONVERSATIONS, BENCH_TICKETS, BENCH_RUNS tune it.
 */
export async function run(): Promise<void> {
  const m = machine();
  const conversations = envInt('BENCH_CONVERSATIONS', 100_000);
  const tickets = envInt('BENCH_TICKETS', 100_000);
  const runs = envInt('BENCH_RUNS', 40);
  const server = await startBenchServer();
  try {
    const { em, admin, departments, codes, manager, agentIds } = await setUpTicketDesk(server);
    const customerIds = await insertUsers(em, 'CUSTOMER', [null], 1000);

    collectGarbage();
    const t0 = performance.now();
    await generateTickets(em, tickets, departments, codes, agentIds, customerIds);
    // The tickets benchmark stamps every old breach notification "now"; the SLA sweep stamps a breach when it
    // falls due, and breaches per hour read that stamp.
    await em.execute(
      `UPDATE tickets SET first_response_breach_notified_at = CASE WHEN first_response_breach_notified_at IS NOT NULL THEN first_response_due_at END,
                          resolution_breach_notified_at = CASE WHEN resolution_breach_notified_at IS NOT NULL THEN resolution_due_at END
        WHERE first_response_breach_notified_at IS NOT NULL OR resolution_breach_notified_at IS NOT NULL`,
    );
    await generateConversations(em, conversations, departments, agentIds, customerIds);
    await putAgentsOnShift(em, agentIds);
    // VACUUM too: the UPDATE above left dead index entries that autovacuum would clear in production.
    await em.execute('VACUUM ANALYZE');
    const seedMs = performance.now() - t0;

    const timeRuns = async (fn: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = -3; i < runs; i++) {
        const t = performance.now();
        await fn();
        if (i >= 0) times.push(performance.now() - t);
      }
      const s = times.sort((a, b) => a - b);
      return { p50: round(percentile(s, 50), 1), p99: round(percentile(s, 99), 1), max: round(s[s.length - 1], 1), runs: s.length };
    };
    const dept = departments[1];
    const liveSql = (tx: EntityManager, d: string | null) => Promise.all([agentsOfScope(tx, d), liveFigures(tx, d)]);

    const figures: Record<string, { p50: number; p99: number; max: number; runs: number; target: string }> = {};
    const sample = (await gql<any>(server.url, DASHBOARD_QUERY, { d: dept }, manager)).data.serviceDashboard;
    figures['serviceDashboard · manager, one department'] = {
      ...(await timeRuns(() => gql(server.url, DASHBOARD_QUERY, { d: dept }, manager))),
      target: 'p99 ≤ 150 ms',
    };
    figures['serviceDashboard · admin, all departments'] = {
      ...(await timeRuns(() => gql(server.url, DASHBOARD_QUERY, { d: null }, admin))),
      target: 'p99 ≤ 150 ms',
    };
    figures['baseline: me over HTTP (floor)'] = { ...(await timeRuns(() => gql(server.url, '{ me { id } }', {}, admin))), target: '' };
    figures['live refresh SQL · one department'] = {
      ...(await timeRuns(() => liveSql(server.app.services.orm.em.fork(), dept))),
      target: '≤ 50 ms',
    };
    figures['live refresh SQL · all departments'] = {
      ...(await timeRuns(() => liveSql(server.app.services.orm.em.fork(), null))),
      target: '≤ 50 ms',
    };
    // Baseline: the same statements without the operations migration's indexes (rolled back afterwards).
    await em
      .fork()
      .transactional(async (tx) => {
        for (const index of DASHBOARD_INDEXES) await tx.execute(`DROP INDEX ${index}`);
        figures['baseline: live refresh SQL without the indexes · one department'] = {
          ...(await timeRuns(() => liveSql(tx, dept))),
          target: '',
        };
        throw new Rollback();
      })
      .catch((err) => {
        if (!(err instanceof Rollback)) throw err;
      });

    if (process.env.BENCH_EXPLAIN) {
      // The plans of one live refresh's statements, to see where its time goes.
      const explaining = Object.create(em.fork()) as EntityManager;
      explaining.execute = (async (sql: string, params?: unknown[]) => {
        const plan = await em.execute<Array<{ 'QUERY PLAN': string }>>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params as never);
        console.log(plan.map((r) => r['QUERY PLAN']).join('\n'), '\n');
        return [{}];
      }) as never;
      await liveSql(explaining, dept).catch(() => {});
    }
    const counts = await em.execute<Array<{ c: string; t: string; msg: string }>>(
      `SELECT (SELECT count(*) FROM conversations) AS c, (SELECT count(*) FROM tickets) AS t, (SELECT count(*) FROM messages) AS msg`,
    );
    console.log(describeMachine(m));
    console.log(
      `database: ${server.database}; ${Number(counts[0].c).toLocaleString('en')} conversations, ${Number(counts[0].msg).toLocaleString('en')} messages, ` +
        `${Number(counts[0].t).toLocaleString('en')} tickets seeded in ${round(seedMs / 1000, 1)} s (INSERT … SELECT, then VACUUM ANALYZE)`,
    );
    console.log(
      `one department now: queue ${sample.live.queueLength}, open chats ${sample.live.openChats}, today ${sample.today.conversations} conversations / ${sample.today.ticketsCreated} tickets, ` +
        `week ${sample.week.conversations} / ${sample.week.ticketsCreated}, ${sample.week.agents.length} agents\n`,
    );
    console.log(
      table(
        ['measure', 'runs', 'p50 ms', 'p99 ms', 'max ms', 'target'],
        Object.entries(figures).map(([name, f]) => [name, f.runs, f.p50, f.p99, f.max, f.target]),
      ),
    );
    console.log(
      JSON.stringify({
        benchmark: 'dashboard',
        machine: m,
        database: server.database,
        conversations: Number(counts[0].c),
        tickets: Number(counts[0].t),
        seedMs: round(seedMs, 0),
        figures,
      }),
    );
  } finally {
    await server.stop();
  }
}

class Rollback extends Error {}

/**
 * Conversations i = 1..n over the last 90 days, department i % 6, held by one of its 10 agents; all ENDED but
 * the newest few (40 QUEUED, 60 ACTIVE, each of a different customer); first replies 5–95 s after the request,
 * handled 2–20 minutes, a third rated; three messages each (customer, agent, customer).
 */
async function generateConversations(
  em: EntityManager,
  n: number,
  departments: string[],
  agents: string[],
  customers: string[],
): Promise<void> {
  const byDepartment = departments.map((_, d) => agents.filter((_, k) => (k + 1) % departments.length === d));
  await em.execute(
    `INSERT INTO conversations (id, customer_id, agent_id, department_id, topic, status, priority, priority_rank, created_at, queued_at, assigned_at,
                                ended_at, end_reason, last_seq, last_customer_message_at, last_agent_message_at, first_agent_reply_at, rating, rated_at)
     SELECT gen_random_uuid(), s.customer, CASE WHEN s.status = 'QUEUED' THEN NULL ELSE s.agent END, s.department, 'bench', s.status::conversation_status,
            'NORMAL', 2, s.created, s.created, CASE WHEN s.status = 'QUEUED' THEN NULL ELSE s.created + interval '2 seconds' END,
            CASE WHEN s.status = 'ENDED' THEN s.created + (120 + s.i % 1080) * interval '1 second' END, CASE WHEN s.status = 'ENDED' THEN 'CUSTOMER' END,
            CASE WHEN s.status = 'QUEUED' THEN 1 ELSE 3 END, s.created, CASE WHEN s.status = 'QUEUED' THEN NULL ELSE s.created + (5 + s.i % 90) * interval '1 second' END,
            CASE WHEN s.status = 'QUEUED' THEN NULL ELSE s.created + (5 + s.i % 90) * interval '1 second' END,
            CASE WHEN s.status = 'ENDED' AND s.i % 3 = 0 THEN 1 + s.i % 5 END,
            CASE WHEN s.status = 'ENDED' AND s.i % 3 = 0 THEN s.created + (180 + s.i % 1080) * interval '1 second' END
       FROM (SELECT i, CASE WHEN i <= 40 THEN 'QUEUED' WHEN i <= 100 THEN 'ACTIVE' ELSE 'ENDED' END AS status,
                    CASE WHEN i <= 100 THEN now() - i * interval '20 seconds' ELSE now() - ((i::bigint * 7919) % (90 * 86400)) * interval '1 second' - interval '30 minutes' END AS created,
                    (?::uuid[])[1 + i % ?] AS customer,
                    (?::uuid[])[1 + i % 6] AS department,
                    (?::uuid[])[1 + (i % 6) * 10 + (i / 6) % 10] AS agent
               FROM generate_series(1, ?) AS i) s`,
    [pgArray(customers), customers.length, pgArray(departments), pgArray(byDepartment.flat()), n],
  );
  await em.execute(
    `INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, content, created_at)
     SELECT gen_random_uuid(), c.id, k, CASE WHEN k = 2 THEN c.agent_id ELSE c.customer_id END, CASE WHEN k = 2 THEN 'AGENT' ELSE 'CUSTOMER' END::user_role,
            '基准消息', c.created_at + k * interval '10 seconds'
       FROM conversations c CROSS JOIN generate_series(1, 3) AS k
      WHERE k <= c.last_seq`,
  );
}

/** Every agent on a NORMAL schedule now. */
async function putAgentsOnShift(em: EntityManager, agents: string[]): Promise<void> {
  await em.execute(
    `INSERT INTO shifts (id, name, code, start_time, end_time) VALUES (gen_random_uuid(), 'Bench', 'BENCH', '00:00', '23:59')`,
  );
  await em.execute(
    `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at)
     SELECT gen_random_uuid(), a, (SELECT id FROM shifts WHERE code = 'BENCH'), current_date, now() - interval '2 hours', now() + interval '6 hours'
       FROM unnest(?::uuid[]) AS a`,
    [pgArray(agents)],
  );
}
