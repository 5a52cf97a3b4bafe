import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { OpsProbeMeDocument } from '../generated/graphql';
import { ADMIN_EMAIL, startTestApp, TestApp } from '../support/harness';

/** One sample line of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** A raw GET (no automatic decompression), so the bytes on the wire can be checked. */
function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Scripts or stylesheets loaded from another host: the page would not work offline. */
const EXTERNAL_ASSET = /<script\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?\/\/|<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\//i;

describe('operations endpoints', () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await startTestApp();
    base = app.url.replace(/\/graphql$/, '');
  });
  afterAll(() => app.stop());

  it('GET /healthz answers 200 while the process is up', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 with the PostgreSQL check ok (and no Redis check without Redis)', async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ postgres: 'ok' });
  });

  describe('GET /metrics', () => {
    let text: string;
    let samples: Sample[];
    let unauthenticatedCode: unknown;

    beforeAll(async () => {
      const token = await app.adminToken();
      // Two successful runs of a named query, one failing run of the same operation (no token).
      await app.data(OpsProbeMeDocument, {}, token);
      await app.data(OpsProbeMeDocument, {}, token);
      const failed = await app.exec(OpsProbeMeDocument, {}, null);
      unauthenticatedCode = failed.errors?.[0]?.extensions?.code;

      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      text = await res.text();
      samples = parseSamples(text);
    });

    it('is Prometheus text with the process metrics', () => {
      expect(text).toMatch(/^# HELP process_cpu_user_seconds_total /m);
      expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
      expect(sampleValue(samples, 'process_cpu_user_seconds_total', {})).toBeGreaterThan(0);
      expect(sampleValue(samples, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
      expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    });

    it('counts GraphQL operations by name, type and outcome: ok, or the error code', () => {
      expect(unauthenticatedCode).toBe('UNAUTHENTICATED');
      expect(text).toMatch(/^# TYPE shiftdesk_graphql_operations_total counter$/m);
      const counter = 'shiftdesk_graphql_operations_total';
      expect(sampleValue(samples, counter, { operation: 'OpsProbeMe', type: 'query', outcome: 'ok' })).toBe(2);
      expect(sampleValue(samples, counter, { operation: 'OpsProbeMe', type: 'query', outcome: 'UNAUTHENTICATED' })).toBe(1);
      // Nothing else was counted under this operation name.
      const probe = samples.filter((s) => s.name === counter && s.labels.operation === 'OpsProbeMe');
      expect(probe.map((s) => s.labels.outcome).sort()).toEqual(['UNAUTHENTICATED', 'ok']);
    });

    it('times GraphQL operations in the shiftdesk_graphql_operation_duration_seconds histogram', () => {
      const hist = 'shiftdesk_graphql_operation_duration_seconds';
      const labels = { operation: 'OpsProbeMe', type: 'query' };
      expect(text).toMatch(new RegExp(`^# TYPE ${hist} histogram$`, 'm'));
      expect(sampleValue(samples, `${hist}_count`, labels)).toBe(3);
      expect(sampleValue(samples, `${hist}_sum`, labels)).toBeGreaterThan(0);
      const buckets = samples
        .filter((s) => s.name === `${hist}_bucket` && s.labels.operation === 'OpsProbeMe' && s.labels.type === 'query')
        .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
        .sort((a, b) => a.le - b.le);
      expect(buckets.length).toBeGreaterThan(5);
      expect(buckets[buckets.length - 1]).toEqual({ le: Infinity, count: 3 });
      // Cumulative buckets never decrease.
      for (let i = 1; i < buckets.length; i++) expect(buckets[i].count).toBeGreaterThanOrEqual(buckets[i - 1].count);
    });
  });

  describe('GET /graphql', () => {
    it('serves the GraphiQL page to a browser, gzipped, with every script inline (works offline)', async () => {
      const res = await rawGet(app.url, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'accept-encoding': 'gzip, deflate, br' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const html = gunzipSync(res.body).toString('utf8');
      // (Matches are compared rather than the page itself, so a failure prints a line, not 9 MB.)
      expect(html.slice(0, 100)).toMatch(/<!doctype html>/i);
      expect(html.match(/graphiql/i)?.[0]).toBeDefined();
      expect(html.match(/<script[^>]*\bsrc\s*=\s*["']?http[^>]*>/i)?.[0] ?? null).toBeNull();
      expect(html.match(EXTERNAL_ASSET)?.[0] ?? null).toBeNull();
      // The page is the bundle itself, not a loader for one.
      expect(html.length).toBeGreaterThan(1_000_000);
    });

    it('sends the same page uncompressed to a client that does not accept gzip', async () => {
      const res = await rawGet(app.url, { accept: 'text/html' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-encoding']).toBeUndefined();
      const html = res.body.toString('utf8');
      expect(html.match(/graphiql/i)?.[0]).toBeDefined();
      expect(html.match(EXTERNAL_ASSET)?.[0] ?? null).toBeNull();
    });

    // Its own operation name: the metrics tests count OpsProbeMe runs, whatever order the tests run in.
    it('runs ?query= for a non-browser GET (with the CSRF preflight header Apollo requires)', async () => {
      const token = await app.adminToken();
      const url = `${app.url}?query=${encodeURIComponent('query OpsProbeOverGet { me { id email role } }')}`;
      const res = await fetch(url, {
        headers: { accept: 'application/json', authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
      const body = (await res.json()) as { data?: { me: { email: string; role: string } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data?.me).toMatchObject({ email: ADMIN_EMAIL, role: 'ADMIN' });
    });

    it('refuses a GET ?query= that a cross-site page could send (no preflight header): CSRF protection', async () => {
      const res = await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { data?: unknown; errors: Array<{ message: string }> };
      expect(body.data).toBeUndefined();
      expect(body.errors[0].message).toMatch(/Cross-Site Request Forgery/);
    });

    it('never runs a mutation over GET', async () => {
      const mutation = `mutation { login(email: "${ADMIN_EMAIL}", password: "x") { token } }`;
      const res = await fetch(`${app.url}?query=${encodeURIComponent(mutation)}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(res.status).toBe(405);
    });

    it('never answers a browser with a page that loads scripts from a CDN, even with ?query=', async () => {
      // A link such as /graphql?query=... opened in a browser. Apollo's own landing page (Apollo Sandbox) is
      // loaded from cdn.apollographql.com and does not work offline; the server should not fall back to it.
      const res = await rawGet(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, { accept: 'text/html' });
      const body = res.body.toString('utf8');
      expect(body.match(EXTERNAL_ASSET)?.[0] ?? null).toBeNull();
      expect(body.match(/[^"'\s]*cdn\.apollographql\.com[^"'\s]*/)?.[0] ?? null).toBeNull();
    });
  });
});
