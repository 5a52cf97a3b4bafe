import { request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * The routing benchmark's customers, in a worker thread: every call sent at once, each on a connection of its
 * own (1,000 customers are 1,000 browsers), each answer's time from the burst's start. Off the server's thread,
 * so the server's event-loop time is the server's alone. Sent with node:http rather than fetch: the clients
 * share the 2 cores with the server and PostgreSQL, and fetch (undici, web streams) cost them about twice the
 * CPU per call for the same request on the wire.
 */
export interface BurstInput {
  url: string;
  query: string;
  tokens: string[];
  messages: string[];
}

export type BurstAnswer = { status: string; position: number | null; conversation: { agentId: string | null } };

async function burst({
  url,
  query,
  tokens,
  messages,
}: BurstInput): Promise<{ results: BurstAnswer[]; latencies: number[]; elapsed: number }> {
  const started = performance.now();
  const latencies: number[] = new Array(tokens.length);
  const results = await Promise.all(
    tokens.map(async (token, i) => {
      const body = JSON.parse(
        await post(url, JSON.stringify({ query, variables: { input: { topic: 'sales', message: messages[i] } } }), token),
      ) as { data?: { requestService: BurstAnswer }; errors?: unknown[] };
      latencies[i] = performance.now() - started;
      if (!body.data) throw new Error(`request ${i} failed: ${JSON.stringify(body.errors)}`);
      return body.data.requestService;
    }),
  );
  return { results, latencies, elapsed: performance.now() - started };
}

/** One POST on a new connection (no keep-alive agent); the answer's body as text. */
function post(url: string, body: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

if (parentPort) {
  burst(workerData as BurstInput).then(
    (out) => parentPort!.postMessage({ ok: true, ...out }),
    (err: Error) => parentPort!.postMessage({ ok: false, error: err.message }),
  );
}
