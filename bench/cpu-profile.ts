import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';

/**
 * BENCH_CPU_PROFILE=<directory>: the V8 CPU profile of this process's main thread (the server) while `fn` runs,
 * written there as <label>.cpuprofile (open it in Chrome DevTools or speedscope). The profiler samples the thread
 * by the wall clock, so on a busy machine time spent descheduled shows up in whatever was running. Off by
 * default: profiling slows what it measures.
 */
export async function profiled<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return fn();
  const file = path.join(dir, `${label}.cpuprofile`);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
