import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmbeddedDatabase } from '../../src/platform/db/embedded-postgres';

/** How long the run may take to stop its PostgreSQL and Redis before the process leaves anyway. */
const STOP_DEADLINE_MS = 60_000;

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  // A run that cannot stop (a PostgreSQL that crashed and hangs in recovery, a handle a suite left open) must still
  // end, with jest's exit code (set by its own 'exit' listener), instead of holding CI until its time limit.
  setTimeout(() => {
    process.stderr.write(`\njest teardown: still running ${STOP_DEADLINE_MS / 1000} s after the tests ended; exiting\n`);
    process.exit();
  }, STOP_DEADLINE_MS).unref();

  reportPostgresCrashes(g.__SHIFTDESK_PG_LOG__ as string | undefined);
  (g.__SHIFTDESK_REDIS__ as ChildProcess | undefined)?.kill('SIGTERM');
  const stopped = (g.__SHIFTDESK_PG__ as EmbeddedDatabase | undefined)?.stop();
  await Promise.race([stopped, sleep(STOP_DEADLINE_MS / 2, undefined, { ref: false })]);
  const runDir = g.__SHIFTDESK_TMP__ as string | undefined;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}

/**
 * The lines of the run's PostgreSQL log that explain a "database system is in recovery mode" in the results: a
 * backend that died (the OOM killer, a signal), a PANIC (e.g. no space left for WAL), the restart after it.
 */
function reportPostgresCrashes(logFile: string | undefined): void {
  if (!logFile || !existsSync(logFile)) return;
  const lines = readFileSync(logFile, 'utf8').split('\n');
  const crash = /PANIC|terminated by signal|was terminated|No space left|out of memory|database system was interrupted/;
  const hits = lines.filter((l) => crash.test(l));
  if (hits.length === 0) return;
  process.stderr.write(`\nThe run's PostgreSQL reported a crash (${logFile}):\n${hits.slice(0, 40).join('\n')}\n`);
}
