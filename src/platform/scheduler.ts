import type { Logger } from './logger';

/**
 * Periodic jobs of one process. A job that must run once per cluster decides that itself (a lease in
 * Redis or an advisory lock); this only keeps time, isolates failures and stops cleanly.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly logger: Logger) {}

  every(name: string, intervalMs: number, job: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return; // a slow run is not stacked on by the next tick
      busy = true;
      const run = job()
        .catch((err) => this.logger.error({ err, job: name }, 'scheduled job failed'))
        .finally(() => {
          busy = false;
          this.running.delete(run);
        });
      this.running.add(run);
    }, intervalMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Resolves once no job is running (those started meanwhile included): tests wait on it instead of sleeping. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}
