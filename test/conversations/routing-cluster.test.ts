import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { Role } from '../../src/platform/auth/roles';
import { HeartbeatDocument, LoadRequestServiceDocument, LoadRequestServiceMutation } from '../generated/graphql';
import { createTestDatabase, describeWithRedis, eventually, startTestApp, TestApp } from '../support/harness';
import { serverProcessEnv, ServerProcess, startServerProcess, stopAll } from '../support/processes';

const AGENTS = 100;
const CAPACITY = 5;
const CUSTOMERS = 1000;

type Result = LoadRequestServiceMutation['requestService'];

/**
 * The burst of load.test.ts split across two server processes on one PostgreSQL and one Redis: each process
 * decides its requests in batches of its own, and the invariants hold across them — least-loaded first, no
 * agent above capacity, seats counted, one line numbered 1..n, one conversation per customer.
 */
describeWithRedis('routing a burst split across two server processes', () => {
  let node1: ServerProcess | undefined;
  let node2: ServerProcess | undefined;
  let seeder: TestApp | undefined;
  let departmentId: string;
  const agents: Array<{ id: string; token: string }> = [];
  const customers: Array<{ id: string; token: string }> = [];
  const nodes = () => [node1!, node2!];

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    const env = {
      REDIS_URL: process.env.TEST_REDIS_URL!,
      ROUTING_REQUIRE_SHIFT: 'false',
      QUEUE_MAX_LENGTH: '5000',
      QUEUE_AGEING_SECONDS: '3600',
      DB_POOL_MAX: '10',
    };
    [node1, node2] = await Promise.all([
      startServerProcess({ name: 'node-1', env: serverProcessEnv(databaseUrl, env) }),
      startServerProcess({ name: 'node-2', env: serverProcessEnv(databaseUrl, env) }),
    ]);
    // Users and tokens are made in this process (same database and JWT secret); requests go to the two servers.
    seeder = await startTestApp({ redis: true, databaseUrl, env });
    departmentId = (await seeder.createDepartment('售前咨询', 'sales')).id;
    const em = seeder.services.orm.em.fork();
    const rows: Array<{ id: string; email: string; role: Role }> = [];
    for (let i = 0; i < AGENTS; i++) rows.push({ id: randomUUID(), email: `cluster-agent-${i}@test.local`, role: Role.AGENT });
    for (let i = 0; i < CUSTOMERS + 1; i++) rows.push({ id: randomUUID(), email: `cluster-customer-${i}@test.local`, role: Role.CUSTOMER });
    await em.execute(
      `INSERT INTO users (id, email, display_name, role, department_id, max_concurrent_chats, password_hash)
       VALUES ${rows.map(() => `(?, ?, ?, ?::user_role, ?::uuid, ?, 'x')`).join(', ')}`,
      rows.flatMap((r) => [r.id, r.email, r.email.split('@')[0], r.role, r.role === Role.AGENT ? departmentId : null, CAPACITY]),
    );
    for (const r of rows) {
      const token = (await seeder.services.tokens.issue({ userId: r.id, role: r.role, version: 1 })).token;
      (r.role === Role.AGENT ? agents : customers).push({ id: r.id, token });
    }
    // Online and AVAILABLE through the seeder: presence lives in Redis, so both processes see them, and the (empty)
    // queue drains their arrival starts run here, where the test can wait for them before counting statements.
    await Promise.all(agents.map((a) => seeder!.data(HeartbeatDocument, {}, a.token)));
    await eventually(
      async () => (await seeder!.services.presence.read(agents.map((a) => a.id))).every((p) => p.online && p.status === 'AVAILABLE'),
      10_000,
      'every agent online',
    );
    await seeder.services.queueDrain.settled();
  }, 180_000);

  afterAll(async () => {
    await seeder?.stop();
    await stopAll([node1, node2]);
  }, 60_000);

  const query = print(LoadRequestServiceDocument);
  // The default words carry no number: "315" is a complaint keyword of the classifier (a HIGH request goes ahead of the line).
  async function ask(who: { token: string }, i: number, message = '你好，我想问一下订单', topic = 'sales'): Promise<Result> {
    const res = await fetch(nodes()[i % 2].url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${who.token}` },
      body: JSON.stringify({ query, variables: { input: { topic, message } } }),
    });
    const body = (await res.json()) as { data?: { requestService: Result }; errors?: unknown[] };
    if (body.errors?.length || !body.data) throw new Error(`request ${i} failed (${res.status}): ${JSON.stringify(body.errors)}`);
    return body.data.requestService;
  }

  async function loads() {
    return seeder!.services.orm.em.fork().execute<Array<{ agent_id: string; active: number; recorded: number }>>(
      `SELECT u.id AS agent_id,
              (SELECT count(*)::int FROM conversations c WHERE c.agent_id = u.id AND c.status = 'ACTIVE') AS active,
              coalesce(a.active_chats, 0) AS recorded
         FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id
        WHERE u.role = 'AGENT'`,
    );
  }

  /** SQL statements both processes have sent so far. */
  async function statements(): Promise<number> {
    const counts = await Promise.all(
      nodes().map(async (n) => Number(/^shiftdesk_sql_queries_total (\S+)$/m.exec(await (await fetch(`${n.baseUrl}/metrics`)).text())![1])),
    );
    return counts[0] + counts[1];
  }

  it('spreads a quarter of the burst evenly, then seats exactly 500 and numbers the other 500 in one line', async () => {
    const statementsBefore = await statements();
    // 250 at once, half through each process: least-loaded first puts 2 or 3 on every agent, never 4 beside 1.
    const first = await Promise.all(customers.slice(0, 250).map((c, i) => ask(c, i)));
    expect(first.every((r) => r.status === 'ASSIGNED')).toBe(true);
    const early = await loads();
    expect(early).toHaveLength(AGENTS);
    for (const l of early) {
      expect(l.active).toBeGreaterThanOrEqual(2);
      expect(l.active).toBeLessThanOrEqual(3);
      expect(l.recorded).toBe(l.active);
    }

    // The other 750 at once: 250 seats are left, the rest wait in one line numbered across both processes.
    const rest = await Promise.all(customers.slice(250, CUSTOMERS).map((c, i) => ask(c, 250 + i)));
    const results = [...first, ...rest];
    // Each process decides its requests in batches: a few statements a request in all (~15 one by one).
    expect((await statements()) - statementsBefore).toBeLessThan(4 * CUSTOMERS);
    const statuses = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(statuses).toEqual({ ASSIGNED: AGENTS * CAPACITY, QUEUED: CUSTOMERS - AGENTS * CAPACITY });
    const positions = results
      .filter((r) => r.status === 'QUEUED')
      .map((r) => r.position!)
      .sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: CUSTOMERS - AGENTS * CAPACITY }, (_, i) => i + 1));
    results.forEach((r, i) => expect(r.conversation!.customerId).toBe(customers[i].id));

    const final = await loads();
    for (const l of final) {
      expect(l.active).toBe(CAPACITY);
      expect(l.recorded).toBe(l.active);
    }
    const em = seeder!.services.orm.em.fork();
    const line = await em.execute<Array<{ id: string; position: number }>>(
      `SELECT id, row_number() OVER (ORDER BY priority_rank, queued_at, id)::int AS position FROM conversations
        WHERE status = 'QUEUED' AND department_id = ?`,
      [departmentId],
    );
    const byId = new Map(line.map((l) => [l.id, l.position]));
    for (const r of results.filter((x) => x.status === 'QUEUED')) expect(byId.get(r.conversation!.id)).toBe(r.position);
    const [{ distinct, conversations, messages }] = await em.execute<Array<{ distinct: number; conversations: number; messages: number }>>(
      `SELECT count(DISTINCT customer_id)::int AS distinct, count(*)::int AS conversations,
              (SELECT count(*)::int FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.department_id = ?) AS messages
         FROM conversations WHERE department_id = ?`,
      [departmentId, departmentId],
    );
    expect({ distinct, conversations, messages }).toEqual({ distinct: CUSTOMERS, conversations: CUSTOMERS, messages: CUSTOMERS });
  }, 240_000);

  it('gives one customer asking 1,000 times at once through both processes one conversation', async () => {
    // A department nobody works in (the other test fills this file's agents): the one conversation waits, first in line.
    await seeder!.createDepartment('急躁', 'eager');
    const eager = customers[CUSTOMERS];
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => ask(eager, i, `还在吗 ${i}`, 'eager')));
    expect(new Set(answers.map((a) => a.conversation!.id)).size).toBe(1);
    for (const a of answers) expect(a).toMatchObject({ status: 'QUEUED', position: 1, conversation: { customerId: eager.id } });
    const [{ n }] = await seeder!.services.orm.em
      .fork()
      .execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM conversations WHERE customer_id = ?`, [eager.id]);
    expect(n).toBe(1);
  }, 120_000);
});
