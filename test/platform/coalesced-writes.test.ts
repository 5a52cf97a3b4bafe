import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buildSchema } from 'graphql';
import { createClient, type ServerOptions } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { CLOSE_NOT_READING, coalesceWrites, UNREAD_LIMIT_BYTES } from '../../src/platform/realtime/coalesced-writes';
import { startTestApp, TestApp, eventually } from '../support/harness';
import { metricValue, rawConnect } from '../support/ws';

/**
 * platform/realtime/coalesced-writes.ts: frames sent to one socket in one turn leave in one write, and a
 * client that does not read what it asked for is closed rather than buffered for without end.
 */

/** A bare graphql-ws server on a free port (no ShiftDesk around it), and a graphql-ws client for it. */
async function graphqlWsServer(
  options: ServerOptions<Record<string, unknown> | undefined, Extra>,
  onConnection: (ws: WebSocket, raw: Socket) => void = () => {},
) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: '/graphql' });
  wss.on('connection', (ws, request) => onConnection(ws, request.socket));
  const cleanup = useServer(options, wss);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return {
    client: (opts: Partial<Parameters<typeof createClient>[0]>) => createClient({ url, webSocketImpl: WebSocket, ...opts }),
    async stop() {
      await cleanup.dispose();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('graphql-ws writes', () => {
  it('sends an operation’s `next` and `complete` in one write', async () => {
    let writes = 0;
    const schema = buildSchema('type Query { ok: Boolean } type Mutation { send: Int }');
    const server = await graphqlWsServer({ schema, roots: { mutation: { send: () => 1 } } }, (ws, socket) => {
      const raw = socket as Socket & { _writev: (...a: unknown[]) => void; _write: (...a: unknown[]) => void };
      const [writev, write] = [raw._writev.bind(raw), raw._write.bind(raw)];
      raw._writev = (...a) => ((writes += 1), writev(...a));
      raw._write = (...a) => ((writes += 1), write(...a));
      coalesceWrites(ws, raw);
    });
    const client = server.client({ lazyCloseTimeout: 60_000 });
    const send = () =>
      new Promise<unknown>((resolve, reject) => {
        let value: unknown;
        client.subscribe({ query: 'mutation { send }' }, { next: (v) => (value = v), error: reject, complete: () => resolve(value) });
      });
    try {
      await send(); // connects
      writes = 0;
      for (let i = 0; i < 20; i++) expect(await send()).toEqual({ data: { send: 1 } });
      expect(writes).toBe(20);
    } finally {
      await client.dispose();
      await server.stop();
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the close for not reading', () => {
  it('is one graphql-ws clients retry (a stalled network comes back)', async () => {
    let connections = 0;
    const server = await graphqlWsServer({
      schema: buildSchema('type Query { ok: Boolean }'),
      onConnect: (ctx) => {
        connections += 1;
        // The first connection is closed as one whose client stopped reading.
        if (connections === 1) setTimeout(() => (ctx.extra.socket as WebSocket).close(CLOSE_NOT_READING, 'not reading'), 50);
        return true;
      },
    });
    let fatal: unknown = null;
    const client = server.client({
      lazy: false,
      retryAttempts: 3,
      retryWait: () => Promise.resolve(),
      onNonLazyError: (err) => (fatal = (err as { code?: number }).code ?? String(err)), // the close code, when it gave up
    });
    try {
      await eventually(() => connections === 2 || fatal !== null, 5000, 'the client to reconnect');
      expect(fatal).toBeNull();
      expect(connections).toBe(2);
    } finally {
      await client.dispose();
      await server.stop();
    }
  });
});

describe('a graphql-ws client that does not read', () => {
  let app: TestApp;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp();
    token = (await app.createUser({ role: 'CUSTOMER' })).token;
  });
  afterAll(() => app.stop());

  // Large answers: the whole schema with its descriptions, a few hundred KiB each.
  const BIG = '{ __schema { types { name description fields { name description args { name description } } } } }';

  async function signedIn() {
    const outcome = await rawConnect(app.wsUrl, { authorization: `Bearer ${token}` });
    if (!outcome.acked) throw new Error(`not signed in: ${outcome.code} ${outcome.reason}`);
    const { socket } = outcome;
    const seen = { answers: 0, bytes: 0, closed: null as null | { code: number; reason: string } };
    socket.on('close', (code, reason) => (seen.closed = { code, reason: String(reason) }));
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(String(data)) as { type: string }).type !== 'next') return;
      seen.answers += 1;
      seen.bytes += data.length;
    });
    let asked = 0;
    const ask = (n: number) => {
      for (let i = 0; i < n; i++) socket.send(JSON.stringify({ id: `q${(asked += 1)}`, type: 'subscribe', payload: { query: BIG } }));
    };
    return { socket, seen, ask, asked: () => asked };
  }

  async function closedForNotReading(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${app.shiftdesk.port}/metrics`);
    return metricValue(await res.text(), 'shiftdesk_websocket_closed_not_reading_total');
  }

  it('is closed with 1013 once it leaves more than the limit unread, and the process stays up', async () => {
    const { socket, seen, ask, asked } = await signedIn();
    const before = await closedForNotReading();
    // The client's TCP connection stops taking data: what the server sends piles up on the server's side
    // (after the kernel's buffers on both ends are full), 20 answers of ~110 KB at a time.
    (socket as unknown as { _socket: Socket })._socket.pause();
    for (let round = 0; round < 50 && (await closedForNotReading()) === before; round++) {
      ask(20);
      await sleep(100);
    }
    expect(await closedForNotReading()).toBe(before + 1);
    // Reading again, the client gets what was sent before the close, then the close and why.
    (socket as unknown as { _socket: Socket })._socket.resume();
    await eventually(() => seen.closed !== null, 30_000, 'the close frame');
    expect(seen.closed).toEqual({ code: CLOSE_NOT_READING, reason: 'Closed: the client is not reading what it is sent; reconnect' });
    expect(seen.bytes).toBeGreaterThan(UNREAD_LIMIT_BYTES);
    expect(seen.answers).toBeLessThan(asked());
    const health = await fetch(`http://127.0.0.1:${app.shiftdesk.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await health.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('keeps a client that reads, however much it is sent in all', async () => {
    const { socket, seen, ask } = await signedIn();
    const before = await closedForNotReading();
    for (let round = 1; round <= 5; round++) {
      ask(20);
      await eventually(() => seen.answers === round * 20, 30_000, `the answers of round ${round}`);
    }
    expect(seen.bytes).toBeGreaterThan(UNREAD_LIMIT_BYTES);
    expect(seen.closed).toBeNull();
    expect(await closedForNotReading()).toBe(before);
    socket.close();
    await eventually(() => seen.closed !== null, 5000, 'the socket to close');
  });
});
