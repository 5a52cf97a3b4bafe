import http from 'node:http';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { startTestApp, TestApp } from '../support/harness';

/**
 * POST /graphql is answered by src/graphql-http.ts on node:http for the plain case (a JSON body in UTF-8 with a
 * Content-Length) and by express for the rest (chunked or compressed bodies, other paths): both must answer alike.
 */
interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function post(app: TestApp, body: Buffer | Buffer[], headers: Record<string, string> = {}, path = '/graphql'): Promise<RawAnswer> {
  const url = new URL(app.url);
  const chunks = Array.isArray(body) ? body : [body];
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        // Several chunks go without a Content-Length: Node sends them chunked.
        headers: {
          'content-type': 'application/json',
          ...(chunks.length === 1 ? { 'content-length': String(chunks[0].length) } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const halves = (b: Buffer) => [b.subarray(0, 7), b.subarray(7)];

/** What must not differ between the two paths (the trace id is fresh per request, so only its presence). */
function shape(a: RawAnswer) {
  return {
    status: a.status,
    body: JSON.parse(a.body.replace(/"traceId":"[^"]*"/g, '"traceId":"-"')) as unknown,
    contentType: a.headers['content-type'],
    cacheControl: a.headers['cache-control'],
    hasTraceId: /^[0-9A-Za-z._-]{8,64}$/.test(String(a.headers['x-trace-id'])),
  };
}

describe('POST /graphql on node:http, the rest through express', () => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => {
    app = await startTestApp();
    token = await app.adminToken();
  });
  afterAll(() => app.stop());

  const me = json({ query: 'query Me { me { email role } }', operationName: 'Me' });

  it('answers a plain JSON body as express answers the same operation sent chunked or gzip-compressed', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const direct = await post(app, me, auth);
    const chunked = await post(app, halves(me), auth);
    const gzipped = await post(app, gzipSync(me), { ...auth, 'content-encoding': 'gzip' });
    const withCharset = await post(app, me, { ...auth, 'content-type': 'application/json; charset=utf-8' });
    expect(shape(direct)).toEqual({
      status: 200,
      body: { data: { me: { email: 'admin@test.local', role: 'ADMIN' } } },
      contentType: 'application/json; charset=utf-8',
      cacheControl: 'no-store',
      hasTraceId: true,
    });
    expect(direct.headers['content-length']).toBe(String(Buffer.byteLength(direct.body)));
    // Only express's body parser inflates gzip and reads a chunked body: an answer to those shows it was taken.
    for (const other of [chunked, gzipped, withCharset]) expect(shape(other)).toEqual(shape(direct));
  });

  it('refuses a bad token with HTTP 401 UNAUTHENTICATED on both paths alike', async () => {
    const auth = { authorization: 'Bearer not-a-token' };
    const direct = await post(app, me, auth);
    const chunked = await post(app, halves(me), auth);
    expect(direct.status).toBe(401);
    expect(JSON.parse(direct.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(shape(chunked)).toEqual(shape(direct));
  });

  it.each([
    ['malformed JSON', '{"query": '],
    ['a string', '"{ me { email } }"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('a body of %s is HTTP 400 BAD_USER_INPUT with the trace id, on both paths alike', async (_what, text) => {
    const body = Buffer.from(text);
    const direct = await post(app, body, { 'x-request-id': 'bad-body-0001' });
    const chunked = await post(app, [body, Buffer.from(' ')], { 'x-request-id': 'bad-body-0002' });
    expect(direct.status).toBe(400);
    expect(direct.headers['x-trace-id']).toBe('bad-body-0001');
    expect(JSON.parse(direct.body)).toEqual({
      errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT', traceId: 'bad-body-0001' } }],
    });
    expect(shape(chunked)).toEqual(shape(direct));
  });

  it('ignores a UTF-8 byte-order mark before the JSON, as body-parser does', async () => {
    const res = await post(app, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), me]), { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).data.me.role).toBe('ADMIN');
  });

  it('takes a query string on the URL, and /graphql/ still reaches GraphQL through express', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const withSearch = await post(app, me, auth, '/graphql?from=test');
    const trailingSlash = await post(app, me, auth, '/graphql/');
    expect(shape(withSearch).body).toEqual({ data: { me: { email: 'admin@test.local', role: 'ADMIN' } } });
    expect(shape(trailingSlash)).toEqual(shape(withSearch));
  });

  it('a client that sends part of its body and goes away changes nothing and the server keeps answering', async () => {
    const url = new URL(app.url);
    const body = JSON.stringify({ query: 'mutation { createDepartment(input: { name: "Gone", code: "GONE" }) { id } }' });
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`,
          () => {
            socket.destroy();
            resolve();
          },
        );
      });
      socket.on('error', reject);
    });
    const after = await app.data<{ departments: Array<{ code: string }> }, unknown>('{ departments { code } }', undefined, token);
    expect(after.departments.map((d) => d.code)).not.toContain('GONE');
  });
});
