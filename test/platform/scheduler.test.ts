import { createLogger } from '../../src/platform/logger';
import { Scheduler } from '../../src/platform/scheduler';

/** Run times (ms after `every`) of each job, under Jest's fake clock. */
async function runTimes(phases: number[], jobs: Array<{ name: string; intervalMs: number }>, untilMs: number) {
  const times = new Map<string, number[]>(jobs.map((j) => [j.name, []]));
  let next = 0;
  const scheduler = new Scheduler(createLogger('silent'), () => phases[next++]);
  const start = Date.now();
  for (const j of jobs) scheduler.every(j.name, j.intervalMs, async () => void times.get(j.name)!.push(Date.now() - start));
  await jest.advanceTimersByTimeAsync(untilMs);
  await scheduler.stop();
  return times;
}

describe('Scheduler', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('gives each job its own phase: jobs registered together with intervals that divide each other never tick together', async () => {
    const times = await runTimes(
      [0.1, 0.6, 0.35],
      [
        { name: 'sweep', intervalMs: 5_000 },
        { name: 'dashboard', intervalMs: 10_000 },
        { name: 'alerts', intervalMs: 15_000 },
      ],
      60_000,
    );
    // First run one interval plus the job's phase after start, then one interval apart.
    expect(times.get('sweep')).toEqual([5_500, 10_500, 15_500, 20_500, 25_500, 30_500, 35_500, 40_500, 45_500, 50_500, 55_500]);
    expect(times.get('dashboard')).toEqual([16_000, 26_000, 36_000, 46_000, 56_000]);
    expect(times.get('alerts')).toEqual([20_250, 35_250, 50_250]);
    const all = [...times.values()].flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('never runs a job before one interval has passed (tests and short-lived processes rely on it), nor after stop', async () => {
    const times = await runTimes([0], [{ name: 'job', intervalMs: 1_000 }], 999);
    expect(times.get('job')).toEqual([]);

    const scheduler = new Scheduler(createLogger('silent'), () => 0.5);
    let runs = 0;
    scheduler.every('job', 1_000, async () => void runs++);
    await jest.advanceTimersByTimeAsync(1_500);
    expect(runs).toBe(1);
    await scheduler.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(1);
  });

  it("a job of a very long interval waits (at most the longest timer), instead of overflowing Node's timer into 1 ms", async () => {
    const days = (n: number) => n * 86_400_000;
    const scheduler = new Scheduler(createLogger('silent'), () => 0.9);
    let runs = 0;
    scheduler.every('archive', days(20), async () => void runs++);
    await jest.advanceTimersByTimeAsync(days(1));
    expect(runs).toBe(0);
    await jest.advanceTimersByTimeAsync(days(24)); // 2^31 - 1 ms is 24.86 days
    expect(runs).toBe(1);
    await scheduler.stop();
  });

  it('does not stack a slow run on the next tick, and a failing job keeps its schedule', async () => {
    const scheduler = new Scheduler(createLogger('silent'), () => 0);
    let started = 0;
    scheduler.every('slow', 1_000, () => {
      started++;
      return new Promise((resolve) => setTimeout(resolve, 2_500));
    });
    let failures = 0;
    scheduler.every('failing', 1_000, async () => {
      failures++;
      throw new Error('boom');
    });
    await jest.advanceTimersByTimeAsync(5_000);
    // slow: starts at 1 s, busy until 3.5 s (ticks at 2 s and 3 s skipped), starts again at 4 s.
    expect(started).toBe(2);
    expect(failures).toBe(5);
    // stop() waits for the run in progress (until 6.5 s).
    const stopped = scheduler.stop();
    await jest.advanceTimersByTimeAsync(2_000);
    await stopped;
    expect(started).toBe(2);
  });
});
