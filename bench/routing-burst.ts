import { parentPort, workerData } from 'node:worker_threads';

/**
 * The routing benchmark's customers, in a worker thread: every call sent at once, each answer's time from the
 * burst's start. Off the server's thread, so the server's event-loop time is the server's alone.
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
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables: { input: { topic: 'sales', message: messages[i] } } }),
      });
      const body = (await res.json()) as { data?: { requestService: BurstAnswer }; errors?: unknown[] };
      latencies[i] = performance.now() - started;
      if (!body.data) throw new Error(`request ${i} failed: ${JSON.stringify(body.errors)}`);
      return body.data.requestService;
    }),
  );
  return { results, latencies, elapsed: performance.now() - started };
}

if (parentPort) {
  burst(workerData as BurstInput).then(
    (out) => parentPort!.postMessage({ ok: true, ...out }),
    (err: Error) => parentPort!.postMessage({ ok: false, error: err.message }),
  );
}
