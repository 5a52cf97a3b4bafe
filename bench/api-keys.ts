import { collectGarbage, describeMachine, envInt, gql, machine, round, startBenchServer, table } from './support';
import { countStatements } from './http';

/**
 * `npm run bench -- api-keys`: what signing in with an API key costs per request. The same cheap query
 * (`ticketCategories`, no SQL of its own) over HTTP with concurrent clients (autocannon), once with the admin's
 * JWT (the baseline: the session cache, no SQL) and once with an API key with tickets:read (the key lookup
 * cache, the scope table, the per-key rate limit, the last-use note), in the same run, alternating.
 *
 * BENCH_DURATION (seconds per run, default 10), BENCH_CONNECTIONS (default 50), BENCH_ROUNDS (default 3).
 */

const QUERY = 'query BenchCategories { ticketCategories { name } }';

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
}
// autocannon ships no types; this is the part of its programmatic API used here.
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface Run {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  sqlPerRequest: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<void> {
  const duration = envInt('BENCH_DURATION', 10);
  const connections = envInt('BENCH_CONNECTIONS', 50);
  const rounds = envInt('BENCH_ROUNDS', 3);
  const m = machine();
  // The per-key budget is not what is measured here.
  const server = await startBenchServer({ API_KEY_USES_PER_MINUTE: '100000000' });
  try {
    const login = await gql<{ login: { token: string } }>(
      server.url,
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: server.adminEmail, p: server.adminPassword },
    );
    const jwt = login.data.login.token;
    const key = (
      await gql<{ createApiKey: { secret: string } }>(
        server.url,
        'mutation { createApiKey(input: { name: "bench", scopes: [TICKETS_READ] }) { secret } }',
        undefined,
        jwt,
      )
    ).data.createApiKey.secret;
    const expectedBody = (await gql(server.url, QUERY, undefined, jwt)).raw;
    if ((await gql(server.url, QUERY, undefined, key)).raw !== expectedBody) throw new Error('the key and the JWT answer differently');

    const sql = countStatements(server.app.services);
    const measure = async (token: string, seconds: number): Promise<Run> => {
      collectGarbage();
      await sql.reset();
      const r = await autocannon({
        url: server.url,
        method: 'POST',
        connections,
        workers: 1,
        duration: seconds,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: QUERY, operationName: 'BenchCategories' }),
        expectBody: expectedBody,
      });
      return {
        rps: r.requests.total / r.duration,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx + r.mismatches,
        sqlPerRequest: (await sql.count()) / Math.max(1, r.requests.total),
      };
    };

    process.stdout.write(`ShiftDesk benchmark "api-keys": ${QUERY}, ${connections} clients, ${rounds} × ${duration} s per credential\n`);
    process.stdout.write(`${describeMachine(m)}\n`);
    await measure(jwt, Math.min(3, duration));
    await measure(key, Math.min(3, duration));
    const runs: Record<'jwt' | 'key', Run[]> = { jwt: [], key: [] };
    for (let i = 0; i < rounds; i++) {
      runs.jwt.push(await measure(jwt, duration));
      runs.key.push(await measure(key, duration));
    }

    const summary = (rs: Run[]) => ({
      rps: round(median(rs.map((r) => r.rps)), 0),
      p50Ms: round(median(rs.map((r) => r.p50Ms))),
      p99Ms: round(median(rs.map((r) => r.p99Ms))),
      sqlPerRequest: round(median(rs.map((r) => r.sqlPerRequest)), 3),
      errors: rs.reduce((n, r) => n + r.errors, 0),
    });
    const jwtFigures = summary(runs.jwt);
    const keyFigures = summary(runs.key);
    const rows = [
      ['user JWT (baseline)', jwtFigures],
      ['API key', keyFigures],
    ] as const;
    process.stdout.write(
      `\n${table(
        ['medians', 'req/s', 'p50 ms', 'p99 ms', 'SQL/request', 'errors'],
        rows.map(([name, f]) => [name, f.rps, f.p50Ms, f.p99Ms, f.sqlPerRequest, f.errors]),
      )}\n`,
    );
    process.stdout.write(`API key / JWT req/s: ${round(keyFigures.rps / jwtFigures.rps, 3)}\n`);
    process.stdout.write(
      `${JSON.stringify({ bench: 'api-keys', connections, durationSeconds: duration, rounds, machine: m, jwt: jwtFigures, apiKey: keyFigures, ratio: round(keyFigures.rps / jwtFigures.rps, 3) })}\n`,
    );
    if (jwtFigures.errors || keyFigures.errors) throw new Error('errors during the benchmark');
  } finally {
    await server.stop();
  }
}
