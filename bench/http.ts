import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EntityManager } from '@mikro-orm/postgresql';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { buildContext, resolveViewer } from '../src/context';
import { createSchema } from '../src/schema';
import type { Services } from '../src/services';
import { newTraceId } from '../src/platform/trace';
import { profiled } from './cpu-profile';
import type { LoadResult } from './http-load';
import { collectGarbage, describeMachine, envInt, gql, machine, percentile, round, startBenchServer, table } from './support';

/**
 * `npm run bench -- http`: the `me` query over HTTP with concurrent clients (autocannon), beside a baseline
 * measured in the same run: the same schema executed in-process with graphql-js `execute` on a document
 * parsed once, with the context built as the server builds it per request (resolveViewer through the
 * session cache, buildContext with a lazy em fork). Both do the same resolver and SQL work, so their ratio is the cost of HTTP + express + Apollo.
 * Then the floor: `{ __typename }` over HTTP with the same token, all of the HTTP path around no resolver work;
 * and bare node:http answering the same body with no GraphQL at all, the ceiling of any server in this Node.
 *
 * BENCH_DURATION (seconds, default 10), BENCH_CONNECTIONS (default 50), BENCH_WARMUP (seconds, default 3).
 */

const ME_QUERY = 'query BenchMe { me { id email displayName role employeeCode } }';
/** The floor: a request that authenticates and runs Apollo's whole pipeline, with no resolver work of its own. */
const FLOOR_QUERY = 'query BenchFloor { __typename }';

interface Figures {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  errors: number;
  /** SQL statements the server sent per request (`me` reads the user; authenticating a cached session reads nothing). */
  sqlPerRequest: number;
  /** CPU time of the server's process (user + system) per request: less sensitive to a busy machine than req/s. */
  cpuMicrosPerRequest: number;
}

export async function run(): Promise<void> {
  const duration = envInt('BENCH_DURATION', 10);
  const connections = envInt('BENCH_CONNECTIONS', 50);
  const warmup = envInt('BENCH_WARMUP', Math.min(3, duration), 0);

  const m = machine();
  const server = await startBenchServer();
  try {
    let token: string;
    try {
      token = (
        await gql<{ login: { token: string } }>(
          server.url,
          'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
          { e: server.adminEmail, p: server.adminPassword },
        )
      ).data.login.token;
    } catch (err) {
      throw new Error(`cannot sign in as ${server.adminEmail}: set ADMIN_EMAIL/ADMIN_PASSWORD to an admin of DATABASE_URL`, { cause: err });
    }
    // The exact body every HTTP response must carry (autocannon counts any other as a mismatch).
    const expectedBody = (await gql(server.url, ME_QUERY, undefined, token)).raw;

    const services = server.app.services;
    // The same resolvers, auth checker and pub/sub as the server's schema (Apollo's adds only its plugins).
    const schema = await createSchema(services.pubsub);
    const document = parse(ME_QUERY);
    const problems = validate(schema, document);
    if (problems.length) throw new Error(`invalid benchmark query: ${problems.map((p) => p.message).join('; ')}`);
    const once = inProcessOperation(services, schema, document, token);
    const check = await once();
    if (!check) throw new Error('the in-process baseline returned errors');

    const autocannonOpts = {
      url: server.url,
      method: 'POST',
      connections,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: ME_QUERY, operationName: 'BenchMe' }),
      expectBody: expectedBody,
    };
    const floorOpts = {
      ...autocannonOpts,
      body: JSON.stringify({ query: FLOOR_QUERY, operationName: 'BenchFloor' }),
      expectBody: (await gql(server.url, FLOOR_QUERY, undefined, token)).raw,
    };

    log(`ShiftDesk benchmark "http": query BenchMe { me { ... } } as the admin, ${connections} concurrent clients, ${duration} s each`);
    log(describeMachine(m));
    log(
      `database: ${server.database === 'embedded' ? 'embedded PostgreSQL (temporary DATA_DIR)' : 'DATABASE_URL'}; pool ${services.config.dbPoolMax}`,
    );
    if (warmup > 0) {
      log(`warming up ${warmup} s + ${warmup} s ...`);
      await loadOverHttp({ ...autocannonOpts, duration: warmup });
      await measureInProcess(once, connections, warmup);
    }

    const sql = countStatements(services);
    collectGarbage();
    log('measuring HTTP ...');
    await sql.reset();
    const cpuBefore = process.cpuUsage();
    const h = await profiled('http', () => loadOverHttp({ ...autocannonOpts, duration }));
    const httpCpu = process.cpuUsage(cpuBefore);
    const http = httpFigures(h, httpCpu, await sql.count());

    collectGarbage();
    log('measuring in-process execute ...');
    await sql.reset();
    const base = await profiled('in-process', () => measureInProcess(once, connections, duration));
    base.sqlPerRequest = (await sql.count()) / Math.max(1, base.requests);

    collectGarbage();
    log('measuring the HTTP floor ({ __typename }) ...');
    await sql.reset();
    const floorCpuBefore = process.cpuUsage();
    const f = await profiled('floor', () => loadOverHttp({ ...floorOpts, duration }));
    const floor = httpFigures(f, process.cpuUsage(floorCpuBefore), await sql.count());

    collectGarbage();
    log('measuring bare node:http (the same body back, no GraphQL) ...');
    const bare = await startBareHttpServer(expectedBody);
    let bareHttp: Figures;
    try {
      const bareCpuBefore = process.cpuUsage();
      const b = await loadOverHttp({ ...autocannonOpts, url: bare.url, duration });
      bareHttp = httpFigures(b, process.cpuUsage(bareCpuBefore), 0);
    } finally {
      await bare.close();
    }

    const ratio = {
      rps: http.rps / base.rps,
      cpu: http.cpuMicrosPerRequest / base.cpuMicrosPerRequest,
      p50: http.p50Ms / base.p50Ms,
      p99: http.p99Ms / base.p99Ms,
    };
    // The server is one event loop, saturated in both runs: the difference of the time per request is what
    // HTTP parsing, express, Apollo (request pipeline, armor limits, plugins) and JSON add to each request.
    const overheadUs = 1e6 / http.rps - 1e6 / base.rps;

    log('');
    log(
      table(
        ['', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'requests', 'errors', 'SQL/request', 'CPU µs/request'],
        [
          figuresRow('HTTP (express + Apollo)', http),
          figuresRow('in-process graphql execute', base),
          [
            'ratio HTTP / in-process',
            round(ratio.rps),
            round(ratio.p50),
            round(ratio.p99),
            round(http.meanMs / base.meanMs),
            '',
            '',
            '',
            round(ratio.cpu),
          ],
          figuresRow('HTTP floor: { __typename }', floor),
          figuresRow('bare node:http, no GraphQL', bareHttp),
        ],
      ),
    );
    log('');
    log(
      'Both rows run the same schema, resolvers and SQL per operation (resolveViewer + buildContext, then `me`),\n' +
        "authenticating from the session cache (no SQL: the one statement per request is `me`'s own read),\n" +
        'so the ratio isolates the HTTP + express + Apollo overhead. The in-process row skips HTTP, JSON parsing of\n' +
        "the request, Apollo's pipeline (document cache, armor validation, plugins) and response serialisation.\n" +
        `Per request that overhead is about ${round(overheadUs, 0)} µs of server time (1/HTTP req/s - 1/in-process req/s; the\n` +
        'server, PostgreSQL and, for the HTTP row, the load generator share the CPUs), and ' +
        `${round(http.cpuMicrosPerRequest - base.cpuMicrosPerRequest, 0)} µs of the server\n` +
        "process's CPU time (the load generator runs in a process of its own, so the CPU columns are the server's).\n" +
        'HTTP latencies come from autocannon (whole milliseconds); in-process latencies are measured per call.\n' +
        'The floor row is a request that authenticates and runs all of the above around no resolver work: what the\n' +
        'HTTP path alone allows on this machine. The bare row is node:http alone, in the same process, with the same\n' +
        "load generator: it reads and parses the request body and answers with `me`'s answer, no GraphQL, no database.\n" +
        `HTTP at 0.8 × in-process would leave ${round(base.cpuMicrosPerRequest / 0.8, 0)} µs of CPU per request in all ` +
        `(in-process ${round(base.cpuMicrosPerRequest, 0)} µs + HTTP ${round(base.cpuMicrosPerRequest / 0.8 - base.cpuMicrosPerRequest, 0)} µs); ` +
        `node:http alone takes ${round(bareHttp.cpuMicrosPerRequest, 0)} µs here.`,
    );

    const figures = {
      bench: 'http',
      operation: 'me',
      connections,
      durationSeconds: duration,
      warmupSeconds: warmup,
      database: server.database,
      dbPoolMax: services.config.dbPoolMax,
      machine: m,
      http: roundAll(http),
      inProcess: roundAll(base),
      httpFloor: roundAll(floor),
      bareNodeHttp: roundAll(bareHttp),
      ratio: { rps: round(ratio.rps, 3), p50: round(ratio.p50, 3), p99: round(ratio.p99, 3), cpu: round(ratio.cpu, 3) },
      httpOverheadMicrosPerRequest: round(overheadUs, 1),
      httpOverheadCpuMicrosPerRequest: round(http.cpuMicrosPerRequest - base.cpuMicrosPerRequest, 1),
      loadAverage1m: round(os.loadavg()[0]),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    if (http.errors || base.errors || floor.errors || bareHttp.errors)
      throw new Error(
        `errors during the benchmark: HTTP ${http.errors}, in-process ${base.errors}, floor ${floor.errors}, bare ${bareHttp.errors}`,
      );
  } finally {
    await server.stop();
  }
}

/** One operation as the server runs it per request, minus HTTP and Apollo. Resolves false on GraphQL errors. */
function inProcessOperation(services: Services, schema: GraphQLSchema, document: DocumentNode, token: string): () => Promise<boolean> {
  return async () => {
    // As httpContext: the fork is made only if authentication reads the user, else by the resolver.
    let em: EntityManager | null = null;
    const viewer = await resolveViewer(services, () => (em ??= services.orm.em.fork()), token);
    if (!viewer) return false;
    const contextValue = buildContext(services, viewer, em, newTraceId(), '127.0.0.1');
    const result = await execute({ schema, document, contextValue, operationName: 'BenchMe' });
    return !result.errors?.length && Boolean((result.data as { me?: unknown } | null)?.me);
  };
}

/**
 * Counts the SQL statements the server runs, from its `shiftdesk_sql_queries_total` counter: the ORM's (every
 * EntityManager fork shares one connection pool) and the prepared statements of the hottest paths alike. With
 * the session cache, `me` costs exactly its own read of the user, and authenticating costs none.
 */
export function countStatements(services: Services): { reset(): Promise<void>; count(): Promise<number> } {
  const total = async () => (await services.metrics.sqlQueries.get()).values.reduce((sum, v) => sum + v.value, 0);
  let start = 0;
  return {
    reset: async () => {
      start = await total();
    },
    count: async () => (await total()) - start,
  };
}

/** `connections` callers, each running `once` back to back until `seconds` have passed. */
async function measureInProcess(once: () => Promise<boolean>, connections: number, seconds: number): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const cpuBefore = process.cpuUsage();
  const caller = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      let ok: boolean;
      try {
        ok = await once();
      } catch {
        ok = false;
      }
      latencies.push(performance.now() - t0);
      if (!ok) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, caller));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const sum = latencies.reduce((a, b) => a + b, 0);
  return {
    requests: latencies.length,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sum / Math.max(1, latencies.length),
    errors,
    sqlPerRequest: 0, // filled in by the caller, which counts the statements
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, latencies.length),
  };
}

function figuresRow(label: string, f: Figures): Array<string | number> {
  return [
    label,
    round(f.rps, 0),
    round(f.p50Ms),
    round(f.p99Ms),
    round(f.meanMs),
    f.requests,
    f.errors,
    round(f.sqlPerRequest),
    round(f.cpuMicrosPerRequest, 0),
  ];
}

function httpFigures(r: LoadResult, cpu: NodeJS.CpuUsage, statements: number): Figures {
  const requests = Math.max(1, r.requests.total);
  return {
    requests: r.requests.total,
    seconds: r.duration,
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.average,
    errors: r.errors + r.timeouts + r.non2xx + r.mismatches,
    sqlPerRequest: statements / requests,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / requests,
  };
}

function roundAll(f: Figures): Figures {
  return {
    requests: f.requests,
    seconds: round(f.seconds, 3),
    rps: round(f.rps, 1),
    p50Ms: round(f.p50Ms, 3),
    p99Ms: round(f.p99Ms, 3),
    meanMs: round(f.meanMs, 3),
    errors: f.errors,
    sqlPerRequest: round(f.sqlPerRequest, 3),
    cpuMicrosPerRequest: round(f.cpuMicrosPerRequest, 1),
  };
}

/**
 * The ceiling of any server on this machine's Node: node:http reading and parsing a JSON body and answering
 * with `body`, nothing else (no routing, no GraphQL, no authentication).
 */
async function startBareHttpServer(body: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One autocannon run in a child process (bench/http-load.ts). */
function loadOverHttp(opts: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'http-load.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (result) => resolve(result as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the load generator exited with ${code} before answering`)));
    child.send(opts);
  });
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}
