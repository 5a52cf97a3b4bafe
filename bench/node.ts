import { randomUUID } from 'node:crypto';
import { countStatements } from './http';
import { collectGarbage, describeMachine, envInt, gql, login, machine, round, startBenchServer, table } from './support';

/**
 * `npm run bench -- node`: what refetching by id costs. `nodes(ids)` for 100 alert ids (one statement finds the
 * types, one query loads the rows: RowBatch) beside the baseline `alerts(first: 100)`, the list of the same rows,
 * in the same run, alternating, sequential requests over HTTP as the admin.
 *
 * BENCH_IDS (ids per request, 1–100, default 100), BENCH_REQUESTS (per variant, default 200).
 */
const NODES = 'query BenchNodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Alert { rule status } } }';
const LIST = 'query BenchAlerts($first: Int!) { alerts(first: $first) { nodes { id rule status } } }';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<void> {
  const ids = Math.min(100, envInt('BENCH_IDS', 100));
  const requests = envInt('BENCH_REQUESTS', 200);
  const m = machine();
  const server = await startBenchServer();
  try {
    const admin = await login(server.url, server.adminEmail, server.adminPassword);
    const alertIds = Array.from({ length: ids }, () => randomUUID());
    const em = server.app.services.orm.em.fork();
    for (const id of alertIds) {
      await em.execute(
        `INSERT INTO alerts (id, rule, metric, severity, summary, threshold, value) VALUES (?, ?, 'queue_length', 'warning', 'bench', 10, 12)`,
        [id, `bench-${id}`],
      );
    }
    const check = await gql<{ nodes: Array<{ id: string } | null> }>(server.url, NODES, { ids: alertIds }, admin);
    if (check.data.nodes.some((n, i) => n?.id !== alertIds[i])) throw new Error('nodes() did not return every alert');

    const sql = countStatements(server.app.services);
    const once = async (query: string, variables: unknown): Promise<{ ms: number; statements: number }> => {
      await sql.reset();
      const started = performance.now();
      await gql(server.url, query, variables, admin);
      return { ms: performance.now() - started, statements: await sql.count() };
    };
    const runs = { nodes: [] as Array<{ ms: number; statements: number }>, list: [] as Array<{ ms: number; statements: number }> };
    for (let i = 0; i < 20; i++) await Promise.all([once(NODES, { ids: alertIds }), once(LIST, { first: ids })]); // warm-up
    collectGarbage();
    for (let i = 0; i < requests; i++) {
      runs.nodes.push(await once(NODES, { ids: alertIds }));
      runs.list.push(await once(LIST, { first: ids }));
    }
    const summary = (rs: Array<{ ms: number; statements: number }>) => ({
      medianMs: round(median(rs.map((r) => r.ms))),
      statements: median(rs.map((r) => r.statements)),
    });
    const nodes = summary(runs.nodes);
    const list = summary(runs.list);
    process.stdout.write(`ShiftDesk benchmark "node": ${ids} alert ids, ${requests} sequential requests per variant, as the admin\n`);
    process.stdout.write(`${describeMachine(m)}\n\n`);
    process.stdout.write(
      `${table(
        ['medians', 'ms/request', 'SQL statements/request'],
        [
          [`alerts(first: ${ids}) (baseline)`, list.medianMs, list.statements],
          [`nodes(${ids} ids)`, nodes.medianMs, nodes.statements],
        ],
      )}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: 'node', ids, requests, machine: m, list, nodes, ratio: round(nodes.medianMs / list.medianMs, 3) })}\n`,
    );
  } finally {
    await server.stop();
  }
}
