import WebSocket from 'ws';
import { startTestApp, TestApp, eventually } from '../support/harness';
import { GRAPHQL_TRANSPORT_WS, metricValue } from '../support/ws';

/** One sweep a second: a silent socket is pinged after 1-2 s and closed 1 s later when it stays silent. */
const HEARTBEAT = { WS_HEARTBEAT_SECONDS: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('graphql-ws heartbeat (WS_HEARTBEAT_SECONDS)', () => {
  let app: TestApp;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp({ env: HEARTBEAT });
    token = (await app.createUser({ role: 'CUSTOMER' })).token;
  });
  afterAll(() => app.stop());
  // A test's sockets are gone from the server's gauge before the next test counts (the order is random).
  afterEach(() => eventually(async () => (await openSockets()) === 0, 5000, 'the sockets of the test to be closed'));

  /** A signed-in raw socket that counts the server's pings; `autoPong: false` leaves them unanswered. */
  async function connect(autoPong: boolean) {
    const socket = new WebSocket(app.wsUrl, GRAPHQL_TRANSPORT_WS, { autoPong });
    const seen = { pings: 0, closed: null as number | null };
    socket.on('ping', () => (seen.pings += 1));
    socket.on('close', (code) => (seen.closed = code));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      socket.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve();
      });
    });
    return { socket, seen };
  }

  async function openSockets(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${app.shiftdesk.port}/metrics`);
    return metricValue(await res.text(), 'shiftdesk_websocket_connections');
  }

  it('pings a silent socket and closes it when the ping goes unanswered', async () => {
    const { seen } = await connect(false);
    expect(await openSockets()).toBe(1);
    await eventually(() => seen.closed !== null, 6000, 'the unanswering socket to be closed');
    expect(seen.pings).toBeGreaterThanOrEqual(1);
    expect(seen.closed).toBe(1006); // terminated: no close frame
    await eventually(async () => (await openSockets()) === 0, 3000, 'the connection gauge to drop');
  });

  it('keeps a socket that answers the pings open', async () => {
    const { socket, seen } = await connect(true);
    // A second ping comes after the sweep that would have closed the socket had it not answered the first.
    await eventually(() => seen.pings >= 2 || seen.closed !== null, 6000, 'a second ping');
    expect(seen.closed).toBeNull();
    socket.close();
  });

  it('does not ping a socket that is talking, and keeps it open', async () => {
    const { socket, seen } = await connect(false);
    // graphql-ws's own ping message every 300 ms: traffic the server receives, answered with a pong message.
    const talk = setInterval(() => socket.send(JSON.stringify({ type: 'ping' })), 300);
    try {
      // The pause is the behaviour under test: for longer than a silent socket waits for its ping (1-2 s), no ping comes.
      await sleep(3500);
      expect(seen.pings).toBe(0);
      expect(seen.closed).toBeNull();
    } finally {
      clearInterval(talk);
      socket.close();
    }
  });
});
