import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * The baseline of `npm run bench -- realtime`: a bare `ws` relay, run as its own process
 * (`node dist/bench/realtime-relay.js`). It stores nothing and runs no GraphQL, but does what any relay
 * must: a client says who it is (`{"t":"init","u":<userId>}` → `{"t":"ack"}`); a message
 * `{"t":"msg","id":n,"to":<userId>,"body":…}` is parsed, forwarded to the addressee's socket as
 * `{"t":"msg","from":<userId>,"body":…}` and answered with `{"t":"ok","id":n}`.
 *
 * With REDIS_URL every message goes through Redis pub/sub (one channel per user, `u:<userId>`, to which
 * the process holding that user's socket subscribes), as ShiftDesk's events do in a cluster.
 *
 * PORT (0: any; printed as `listening <port>` on stdout), HOST (127.0.0.1). GET /readyz answers 200.
 */
async function main(): Promise<void> {
  const host = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT || 0);
  const redisUrl = process.env.REDIS_URL || '';
  const byUser = new Map<string, WebSocket>();

  let publisher: Redis | null = null;
  let subscriber: Redis | null = null;
  if (redisUrl) {
    publisher = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    subscriber = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    await Promise.all([publisher.connect(), subscriber.connect()]);
    subscriber.on('message', (channel: string, message: string) => {
      byUser.get(channel.slice(2))?.send(message);
    });
  }

  const httpServer = http.createServer((req, res) => {
    res.writeHead(req.url === '/readyz' || req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ connections: byUser.size }));
  });
  const wss = new WebSocketServer({ server: httpServer, path: '/relay', maxPayload: 1024 * 1024 });

  wss.on('connection', (socket) => {
    let me: string | null = null;
    socket.on('message', (data) => {
      let msg: { t?: string; u?: string; id?: number; to?: string; body?: string };
      try {
        msg = JSON.parse(String(data));
      } catch {
        socket.close(4400, 'bad JSON');
        return;
      }
      if (msg.t === 'init' && typeof msg.u === 'string' && me === null) {
        me = msg.u;
        byUser.set(me, socket);
        const ack = () => socket.send('{"t":"ack"}');
        if (subscriber) subscriber.subscribe(`u:${me}`).then(ack, () => socket.close(1011, 'subscribe failed'));
        else ack();
        return;
      }
      if (msg.t === 'msg' && me !== null && typeof msg.to === 'string') {
        const out = JSON.stringify({ t: 'msg', from: me, body: msg.body });
        if (publisher) publisher.publish(`u:${msg.to}`, out).catch(() => undefined);
        else byUser.get(msg.to)?.send(out);
        socket.send(`{"t":"ok","id":${Number(msg.id)}}`);
      }
    });
    socket.on('close', () => {
      if (me !== null && byUser.get(me) === socket) {
        byUser.delete(me);
        subscriber?.unsubscribe(`u:${me}`).catch(() => undefined);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => resolve());
  });
  process.stdout.write(`listening ${(httpServer.address() as AddressInfo).port}\n`);

  const stop = () => {
    for (const s of wss.clients) s.terminate();
    wss.close();
    httpServer.close();
    publisher?.disconnect();
    subscriber?.disconnect();
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`relay failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
