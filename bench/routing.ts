import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../src/context';
import { Role } from '../src/platform/auth/roles';
import { claimSeat } from '../src/modules/conversations/routing.service';
import { describeMachine, envInt, machine, percentile, round, startBenchServer, table } from './support';

/**
 * `npm run bench -- routing`: 1,000 customers call requestService at the same instant (one HTTP request each)
 * against 100 online, AVAILABLE agents of capacity 5 in one department, on one process. Reports decisions/s
 * (requests settled per second of the burst), p50/p99 of each call from the burst's start, the SQL statements
 * it took, and checks the outcome (500 ASSIGNED, 500 QUEUED at 1..500, nobody above capacity). Beside it, the
 * baseline: the single statement that takes one seat (`claimSeat`), run in a loop on one connection.
 * BENCH_CUSTOMERS, BENCH_AGENTS, BENCH_CAPACITY change the shape.
 */
export async function run(): Promise<void> {
  const m = machine();
  const agentsN = envInt('BENCH_AGENTS', 100);
  const capacity = envInt('BENCH_CAPACITY', 5);
  const customersN = envInt('BENCH_CUSTOMERS', 1000);
  const server = await startBenchServer({
    ROUTING_REQUIRE_SHIFT: 'false',
    QUEUE_MAX_LENGTH: String(customersN * 2),
    QUEUE_AGEING_SECONDS: '3600',
  });
  try {
    const { services } = server.app;
    const em = services.orm.em.fork() as EntityManager;
    const [{ id: departmentId }] = await em.execute<Array<{ id: string }>>(
      `INSERT INTO departments (id, name, code) VALUES (?, '售前咨询', 'sales') RETURNING id`,
      [randomUUID()],
    );
    const agents = await insertUsers(em, 'AGENT', agentsN, departmentId, capacity);
    const customers = await insertUsers(em, 'CUSTOMER', customersN, null, capacity);
    const tokens = await Promise.all(
      customers.map(async (id) => (await services.tokens.issue({ userId: id, role: Role.CUSTOMER, version: 1 })).token),
    );
    for (const id of agents) {
      const scope = {
        viewer: { id, role: Role.AGENT, departmentId },
        em: services.orm.em.fork(),
        traceId: 'bench',
        logger: services.logger,
        ip: '127.0.0.1',
      } as unknown as RequestScope;
      await services.presence.heartbeat(scope);
    }
    await new Promise((r) => setTimeout(r, 500)); // the agents' queue drains (empty queue) settle first

    // Baseline: the statement that takes one seat, in a loop (autocommit, one connection).
    const baselineRuns = envInt('BENCH_BASELINE_RUNS', 1000);
    const seatAgent = (await insertUsers(em, 'AGENT', 1, departmentId, capacity))[0];
    const seat: number[] = [];
    const b0 = performance.now();
    for (let i = 0; i < baselineRuns; i++) {
      const t = performance.now();
      await claimSeat(em, seatAgent);
      seat.push(performance.now() - t);
    }
    const baselineMs = performance.now() - b0;
    seat.sort((a, b) => a - b);

    const query = `mutation ($input: RequestServiceInput!) { requestService(input: $input) { status position conversation { id agentId status } } }`;
    const statements = async () =>
      Number(/^shiftdesk_sql_queries_total (\S+)$/m.exec(await (await fetch(server.url.replace(/\/graphql$/, '/metrics'))).text())![1]);
    const before = await statements();
    const load0 = os.loadavg()[0];
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    const latencies: number[] = new Array(customersN);
    const results = await Promise.all(
      tokens.map(async (token, i) => {
        const res = await fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables: { input: { topic: 'sales', message: `你好，我想问一下订单 ${i}` } } }),
        });
        const body = (await res.json()) as {
          data?: { requestService: { status: string; position: number | null; conversation: { agentId: string | null } } };
          errors?: unknown[];
        };
        latencies[i] = performance.now() - started;
        if (!body.data) throw new Error(`request ${i} failed: ${JSON.stringify(body.errors)}`);
        return body.data.requestService;
      }),
    );
    const elapsed = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    const sql = (await statements()) - before;
    latencies.sort((a, b) => a - b);

    // The outcome must be today's: exactly the seats there are, the rest in one line 1..n, nobody overfilled.
    const assigned = results.filter((r) => r.status === 'ASSIGNED');
    const positions = results
      .filter((r) => r.status === 'QUEUED')
      .map((r) => r.position!)
      .sort((a, b) => a - b);
    const perAgent = new Map<string, number>();
    for (const r of assigned) perAgent.set(r.conversation.agentId!, (perAgent.get(r.conversation.agentId!) ?? 0) + 1);
    const seats = Math.min(customersN, agentsN * capacity);
    const correct =
      assigned.length === seats &&
      positions.length === customersN - seats &&
      positions.every((p, i) => p === i + 1) &&
      [...perAgent.values()].every((n) => n <= capacity);

    const decisionsPerSecond = (customersN / elapsed) * 1000;
    const baselinePerSecond = (baselineRuns / baselineMs) * 1000;
    console.log(describeMachine(m));
    console.log(`load average ${round(load0)} at the burst; database: ${server.database}`);
    console.log(
      table(
        ['case', 'decisions/s', 'p50 ms', 'p99 ms', 'max ms', 'SQL statements', 'SQL per decision'],
        [
          [
            `requestService × ${customersN} at once (${agentsN} agents × ${capacity})`,
            round(decisionsPerSecond, 0),
            round(percentile(latencies, 50), 1),
            round(percentile(latencies, 99), 1),
            round(latencies[latencies.length - 1], 1),
            sql,
            round(sql / customersN, 2),
          ],
          [
            `baseline: claimSeat statement × ${baselineRuns} in a loop`,
            round(baselinePerSecond, 0),
            round(percentile(seat, 50), 2),
            round(percentile(seat, 99), 2),
            round(seat[seat.length - 1], 2),
            baselineRuns,
            1,
          ],
        ],
      ),
    );
    console.log(
      `outcome: ${assigned.length} ASSIGNED, ${positions.length} QUEUED (positions 1..${positions.length}: ${positions.every((p, i) => p === i + 1)}), busiest agent ${Math.max(0, ...perAgent.values())}/${capacity}: ${correct ? 'correct' : 'WRONG'}`,
    );
    console.log(`CPU in this process (server + clients): ${round((cpu.user + cpu.system) / 1000, 0)} ms`);
    console.log(
      JSON.stringify({
        benchmark: 'routing',
        machine: m,
        loadAvgAtBurst: round(load0),
        customers: customersN,
        agents: agentsN,
        capacity,
        elapsedMs: round(elapsed, 1),
        decisionsPerSecond: round(decisionsPerSecond, 1),
        p50Ms: round(percentile(latencies, 50), 1),
        p99Ms: round(percentile(latencies, 99), 1),
        sqlStatements: sql,
        correct,
        baseline: {
          statement: 'claimSeat',
          runs: baselineRuns,
          perSecond: round(baselinePerSecond, 1),
          p50Ms: round(percentile(seat, 50), 3),
          p99Ms: round(percentile(seat, 99), 3),
        },
      }),
    );
    if (!correct) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

/** Users straight into the table (sign-ups through argon2 would be the slow part); returns their ids. */
async function insertUsers(
  em: EntityManager,
  role: 'AGENT' | 'CUSTOMER',
  n: number,
  departmentId: string | null,
  capacity: number,
): Promise<string[]> {
  const rows = Array.from({ length: n }, () => randomUUID());
  const tag = randomUUID().slice(0, 8);
  await em.execute(
    `INSERT INTO users (id, email, display_name, role, department_id, max_concurrent_chats, password_hash)
     VALUES ${rows.map(() => `(?, ?, ?, ?::user_role, ?::uuid, ?, 'x')`).join(', ')}`,
    rows.flatMap((id, i) => [
      id,
      `${role.toLowerCase()}-${tag}-${i}@bench.local`,
      `${role.toLowerCase()} ${i}`,
      role,
      departmentId,
      capacity,
    ]),
  );
  return rows;
}
