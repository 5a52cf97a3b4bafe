/**
 * The load generator of `npm run bench -- http` (autocannon), in a process of its own: the server's process
 * CPU time is then the server's alone, and CPU per request can be measured. Takes autocannon's options as its
 * one IPC message and answers with the figures the benchmark reads.
 */

type Autocannon = (opts: Record<string, unknown>) => Promise<LoadResult>;
// autocannon ships no types; this is the part of its programmatic API used here.

const autocannon = require('autocannon') as Autocannon;

export interface LoadResult {
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  requests: { total: number; average: number };
  latency: { p50: number; p99: number; average: number; max: number };
}

process.once('message', (opts: Record<string, unknown>) => {
  autocannon(opts).then(
    (r) => {
      const result: LoadResult = {
        duration: r.duration,
        errors: r.errors,
        timeouts: r.timeouts,
        mismatches: r.mismatches,
        non2xx: r.non2xx,
        requests: { total: r.requests.total, average: r.requests.average },
        latency: { p50: r.latency.p50, p99: r.latency.p99, average: r.latency.average, max: r.latency.max },
      };
      process.send!(result, () => process.exit(0));
    },
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
});
