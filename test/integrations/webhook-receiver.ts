import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; occurredAt: string; object: Record<string, any> };
  /** What the receiver answered. */
  status: number;
}

/**
 * A real local HTTP receiver for webhook tests: `answer` decides each request's status (default 200) and may
 * wait first; everything received is kept, in arrival order.
 */
export async function startReceiver(
  answer: (path: string, json: Received['json'], seen: Received[]) => number | Promise<number> = () => 200,
): Promise<{ server: Server; url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const json = JSON.parse(body) as Received['json'];
      const path = req.url ?? '';
      const status = await answer(path, json, got);
      got.push({ path, headers: req.headers, body, json, status });
      res.writeHead(status).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    got,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
