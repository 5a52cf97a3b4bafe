import net from 'node:net';
import { startTestApp, TestApp } from '../support/harness';

/**
 * An idle HTTP connection is closed by the server only after HTTP_KEEP_ALIVE_SECONDS (65 by default, above nginx's
 * 60 s upstream keepalive_timeout): a balancer that reuses a connection just as the server closes it loses the
 * request. Node's own default (5 s) made a 1,000-request burst through two processes fail with "other side closed".
 */
const BODY = '{"query":"{__typename}"}';
const REQUEST = (host: string) =>
  `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;

/** One raw keep-alive connection: send a request, read until a whole answer came, watch for the server closing. */
async function connect(app: TestApp) {
  const url = new URL(app.url);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.setEncoding('utf8').on('data', (c: string) => (received += c));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return {
    closed,
    async ask(): Promise<string> {
      received = '';
      socket.write(REQUEST(url.host));
      const until = Date.now() + 10_000;
      while (!/\r\n\r\n[\s\S]*"__typename"/.test(received)) {
        if (Date.now() > until) throw new Error(`no answer: ${received}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return received;
    },
    end: () => socket.destroy(),
  };
}

describe('idle HTTP connections (HTTP_KEEP_ALIVE_SECONDS)', () => {
  let defaults: TestApp;
  let short: TestApp;
  beforeAll(async () => {
    [defaults, short] = await Promise.all([startTestApp(), startTestApp({ env: { HTTP_KEEP_ALIVE_SECONDS: '1' } })]);
  });
  afterAll(async () => {
    await defaults?.stop();
    await short?.stop();
  });

  it('tells clients and balancers 65 s by default, above nginx’s 60 s', async () => {
    const c = await connect(defaults);
    try {
      const answer = await c.ask();
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
      expect(answer).toMatch(/\r\nConnection: keep-alive\r\n/i);
      expect(answer).toMatch(/\r\nKeep-Alive: timeout=65\r\n/i);
    } finally {
      c.end();
    }
  });

  it('keeps a connection for the next request, and closes it once idle for the set time', async () => {
    const c = await connect(short);
    try {
      expect(await c.ask()).toMatch(/\r\nKeep-Alive: timeout=1\r\n/i);
      // A second request on the same connection, well within the second.
      const answered = Date.now();
      expect(await c.ask()).toMatch(/^HTTP\/1\.1 200/);
      // Then the server closes it, about a second after its last answer (Node sweeps idle sockets by timer).
      const closedAt = await c.closed;
      expect(closedAt - answered).toBeGreaterThanOrEqual(900);
      expect(closedAt - answered).toBeLessThan(5000);
    } finally {
      c.end();
    }
  });
});
