import { ChildProcess, spawn } from 'node:child_process';

/**
 * BENCH_BURN (0 to 0.9): a child process that busy-loops that fraction of every 100 ms and sleeps the rest,
 * so `npm run bench -- realtime` measures the headroom left when something else holds part of a core.
 */
export function burnFraction(): number {
  const raw = process.env.BENCH_BURN;
  if (raw === undefined || raw === '') return 0;
  const fraction = Number(raw);
  if (!(fraction >= 0 && fraction <= 0.9)) throw new Error(`BENCH_BURN must be a number from 0 to 0.9 (got ${raw})`);
  return fraction;
}

const BURN_SCRIPT = `
const busy = Number(process.argv[1]) * 100;
(function tick() {
  const start = Date.now();
  while (Date.now() - start < busy) {}
  setTimeout(tick, Math.max(0, 100 - (Date.now() - start)));
})();`;

/** Starts the burner; stop() ends it. Its pid lets the benchmark report the CPU it really took. */
export function startBurner(fraction: number): { pid: number; stop: () => Promise<void> } {
  const child: ChildProcess = spawn(process.execPath, ['-e', BURN_SCRIPT, String(fraction)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
