import type { Logger } from './logger';

/** Node's longest timer: a longer delay would fire after 1 ms (ARCHIVE_EVERY_MINUTES has no upper bound). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Periodic jobs of one process. A job that must run once per cluster decides that itself (a lease in
 * Redis or an advisory lock); this only keeps time, isolates failures and stops cleanly.
 *
 * Each job keeps a phase of its own: its first run comes one interval after `every` plus a random part of
 * another, then one interval apart. Jobs registered together at start-up with intervals that divide each other
 * (5 s, 10 s, 15 s, 60 s) would otherwise tick in the same instant for the life of the process: measured at
 * 1,000 chat messages/s, a dozen sweeps, the dashboard and the alert rules started at once every 10–60 s, and
 * the messages sent in that second were the slowest of the run.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly logger: Logger,
    /** 0 ≤ x < 1, the phase of each job within its interval (tests pass a fixed one). */
    private readonly random: () => number = Math.random,
  ) {}

  every(name: string, intervalMs: number, job: () => Promise<unknown>): void {
    let busy = false;
    const tick = () => {
      if (busy) return; // a slow run is not stacked on by the next tick
      busy = true;
      const run = job()
        .catch((err) => this.logger.error({ err, job: name }, 'scheduled job failed'))
        .finally(() => {
          busy = false;
          this.running.delete(run);
        });
      this.running.add(run);
    };
    const first = setTimeout(
      () => {
        this.timers.delete(first);
        tick();
        const timer = setInterval(tick, Math.min(intervalMs, MAX_TIMER_MS));
        timer.unref();
        this.timers.add(timer);
      },
      Math.min(intervalMs + Math.floor(this.random() * intervalMs), MAX_TIMER_MS),
    );
    first.unref();
    this.timers.add(first);
  }

  /** Resolves once no job is running (those started meanwhile included): tests wait on it instead of sleeping. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  async stop(): Promise<void> {
    // clearTimeout and clearInterval clear either kind of Node timer.
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}
