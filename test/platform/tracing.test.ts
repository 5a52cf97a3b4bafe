import { execFileSync } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createTestDatabase, eventually, hasRedis, startTestApp, TestApp } from '../support/harness';
import { REPO_ROOT, serverProcessEnv, ServerProcess, startServerProcess, stopAll } from '../support/processes';
import { forkFor } from '../../src/context';

interface ExportedSpan {
  traceId: string;
  parentSpanId?: string;
  name: string;
  scope: string;
}

/** A local OTLP/HTTP receiver: what exporter-trace-otlp-http POSTs to /v1/traces (JSON), flattened. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ExportedSpan[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as {
          resourceSpans: Array<{
            scopeSpans: Array<{ scope: { name: string }; spans: Array<{ traceId: string; parentSpanId?: string; name: string }> }>;
          }>;
        };
        for (const rs of parsed.resourceSpans)
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, scope: ss.scope.name });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let server: ServerProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const env = serverProcessEnv(await createTestDatabase(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'trace',
      ...(hasRedis ? { REDIS_URL: process.env.TEST_REDIS_URL! } : {}),
    });
    // Loading the SDK and its instrumentations makes the start slower; the shared machine slower still.
    server = await startServerProcess({ name: 'traced', env, readyTimeoutMs: 90_000 });
  }, 120_000);

  afterAll(async () => {
    await stopAll([server]);
    await receiver?.close();
  }, 30_000);

  it("exports the spans of one request (HTTP, GraphQL, PostgreSQL, Redis) under the client's traceparent, and logs with that trace id", async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentSpanId = randomBytes(8).toString('hex');
    // A sign-in: a GraphQL mutation that reads the user from PostgreSQL and counts attempts in Redis.
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentSpanId}-01` },
      body: JSON.stringify({ query: 'mutation { login(email: "admin@test.local", password: "wrong-password-1") { token } }' }),
    });
    expect(res.headers.get('x-trace-id')).toBe(traceId);
    const body = (await res.json()) as { errors?: Array<{ extensions: { traceId: string } }> };
    expect(body.errors?.[0]?.extensions.traceId).toBe(traceId);

    const scopesOfTrace = () => new Set(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.scope));
    const wanted = ['@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-graphql', '@opentelemetry/instrumentation-pg'];
    if (hasRedis) wanted.push('@opentelemetry/instrumentation-ioredis');
    await eventually(() => wanted.every((scope) => scopesOfTrace().has(scope)), 15_000, `spans of ${wanted.join(', ')} in the trace`);
    // The server span continues the client's span.
    const serverSpan = receiver.spans.find((s) => s.traceId === traceId && s.scope === '@opentelemetry/instrumentation-http');
    expect(serverSpan?.parentSpanId).toBe(parentSpanId);
    // And the log lines of the request carry the same id.
    const logged = server
      .output()
      .split('\n')
      .map((line) => line.replace(/^\[traced out\] /, ''))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { traceId?: string; msg?: string });
    expect(logged.some((l) => l.traceId === traceId && l.msg === 'sql')).toBe(true);
  }, 60_000);

  it('sends no spans for probes and scrapes', async () => {
    const before = receiver.spans.length;
    for (const path of ['/healthz', '/readyz', '/metrics']) await fetch(`${server.baseUrl}${path}`);
    // A traced request after the probes: once its server span is exported, a probe's span would have been too.
    const traceId = randomBytes(16).toString('hex');
    await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    await eventually(
      () => receiver.spans.some((s) => s.traceId === traceId && s.scope === '@opentelemetry/instrumentation-http'),
      15_000,
      'the later request exported',
    );
    expect(
      receiver.spans
        .slice(before)
        .filter((s) => s.scope === '@opentelemetry/instrumentation-http' && s.name.match(/healthz|readyz|metrics/)),
    ).toEqual([]);
  });
});

describe('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('does not load the OpenTelemetry SDK, its exporter or any instrumentation', () => {
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'src', 'tracing-bootstrap.js'))});
      const loaded = Object.keys(require.cache).filter((f) => /@opentelemetry[\\/](sdk-|exporter-|instrumentation)/.test(f));
      process.stdout.write(JSON.stringify(loaded));`;
    const env = { PATH: process.env.PATH ?? '' };
    const out = execFileSync(process.execPath, ['-e', script], { cwd: os.tmpdir(), env, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([]);
    // and with it, they are
    const on = execFileSync(process.execPath, ['-e', script], {
      cwd: os.tmpdir(),
      env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      encoding: 'utf8',
    });
    expect(JSON.parse(on).length).toBeGreaterThan(0);
  });
});

describe('trace ids without OpenTelemetry', () => {
  let app: TestApp;
  const lines: string[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    app = await startTestApp({ logger, env: { SLOW_SQL_MS: '100' } });
  });
  afterAll(() => app?.stop());

  it('takes the trace id of a W3C traceparent (and ignores a malformed one)', async () => {
    const traceId = randomBytes(16).toString('hex');
    const ok = await app.exec('{ __typename }', undefined, null, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
    expect(ok.headers.get('x-trace-id')).toBe(traceId);
    for (const bad of [
      '00-0000-00-01',
      `00-${'0'.repeat(32)}-${randomBytes(8).toString('hex')}-01`,
      `ff-${traceId}-${randomBytes(8).toString('hex')}-01`,
      'nonsense',
    ]) {
      const res = await app.exec('{ __typename }', undefined, null, { traceparent: bad });
      expect(res.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
      expect(res.headers.get('x-trace-id')).not.toBe(traceId);
    }
  });

  it('logs SQL slower than SLOW_SQL_MS at warn, with the trace id and the statement without its values', async () => {
    const traceId = randomBytes(16).toString('hex');
    // A request's EntityManager (as its context forks it): raw statements and the ORM's queries alike.
    const em = forkFor(app.services, traceId);
    await em.execute("SELECT pg_sleep(0.3), 'secret-value-42' AS x");
    await em.execute("SELECT 'fast-value' AS y");
    await em.getConnection().execute('SELECT pg_sleep(0.3)'); // no EntityManager: no trace id
    const mine = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string; traceId?: string; sql?: string; took?: number })
      .filter((l) => l.traceId === traceId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ level: 40, msg: 'slow SQL', sql: expect.stringContaining('pg_sleep') });
    expect(mine[0].took).toBeGreaterThan(100);
    expect(mine[0].sql).not.toContain('secret-value-42');
  });
});
