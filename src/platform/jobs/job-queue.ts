import PgBoss from 'pg-boss';
import type { Logger } from '../logger';

/** How a kind of job is retried and how long one run may take (pg-boss queue options). */
export interface JobKind {
  /** Queue name: lowercase words and dashes, e.g. `records-export`. */
  name: string;
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** Exponential backoff between retries, starting at retryDelaySeconds. */
  retryBackoff?: boolean;
  /** A run taking longer is failed (and retried if attempts remain). */
  expireInSeconds?: number;
  /** Jobs of this kind one process runs at once (one pg-boss worker each); default 1. */
  concurrency?: number;
}

export type JobHandler<T> = (data: T, job: { id: string; retryCount: number }) => Promise<void>;

interface Registered {
  kind: JobKind;
  handler: JobHandler<never>;
}

/**
 * Background jobs that survive restarts and run once in a cluster: pg-boss on the application's own PostgreSQL
 * (schema `pgboss`, created on first start). Features `define` their kinds while services are built; `start`
 * creates the queues and starts polling, `stop` lets running jobs finish. Use it for work that must happen
 * even if the process that asked for it dies (exports, webhook deliveries); periodic sweeps stay on the
 * Scheduler.
 */
export class JobQueue {
  private readonly kinds = new Map<string, Registered>();
  private readonly workerIds = new Map<string, string[]>();
  private boss: PgBoss | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly opts: { pollingIntervalSeconds: number; maxConnections?: number },
  ) {}

  /** Registers a kind of job and its handler; call before `start`. */
  define<T extends object>(kind: JobKind, handler: JobHandler<T>): void {
    if (this.kinds.has(kind.name)) throw new Error(`job kind ${kind.name} is defined twice`);
    if (this.boss) throw new Error(`job kind ${kind.name} defined after the job queue started`);
    this.kinds.set(kind.name, { kind, handler: handler as JobHandler<never> });
  }

  async start(): Promise<void> {
    if (this.boss) return;
    const boss = new PgBoss({ connectionString: this.databaseUrl, max: this.opts.maxConnections ?? 4, application_name: 'shiftdesk-jobs' });
    boss.on('error', (err) => this.logger.error({ err }, 'job queue error'));
    await boss.start();
    this.boss = boss;
    for (const { kind, handler } of this.kinds.values()) {
      await createQueueOnce(boss, {
        name: kind.name,
        retryLimit: kind.retryLimit ?? 3,
        retryDelay: kind.retryDelaySeconds ?? 5,
        retryBackoff: kind.retryBackoff ?? true,
        expireInSeconds: kind.expireInSeconds ?? 15 * 60,
      });
      const ids: string[] = [];
      for (let i = 0; i < (kind.concurrency ?? 1); i++) {
        let workerId = '';
        workerId = await boss.work<never>(
          kind.name,
          { pollingIntervalSeconds: this.opts.pollingIntervalSeconds, includeMetadata: true },
          async (jobs) => {
            // A worker that found a job asks again at once (a queue drains at its own pace), and only waits
            // out its polling interval when the queue is empty.
            boss.notifyWorker(workerId);
            // batchSize is 1: one job per call. A throw fails the job; pg-boss retries it per the queue's options.
            for (const job of jobs) await handler(job.data, { id: job.id, retryCount: job.retryCount });
          },
        );
        ids.push(workerId);
      }
      this.workerIds.set(kind.name, ids);
    }
  }

  /** Queues a job of a defined kind; resolves to its id. `singletonKey` keeps one queued job per key. */
  async send<T extends object>(kindName: string, data: T, options: { singletonKey?: string; startAfter?: Date } = {}): Promise<string> {
    if (!this.kinds.has(kindName)) throw new Error(`unknown job kind ${kindName}`);
    if (!this.boss) throw new Error('the job queue has not started');
    const id = await this.boss.send(kindName, data, options);
    if (!id) throw new Error(`job of kind ${kindName} was not queued (a singleton is already queued)`);
    // A worker waits out its polling interval after each job: wake this process's, so a job due now starts now.
    if (!options.startAfter) for (const worker of this.workerIds.get(kindName) ?? []) this.boss.notifyWorker(worker);
    return id;
  }

  /** Stops polling and waits (up to `timeoutMs`) for running jobs; what did not finish is retried later. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const boss = this.boss;
    this.boss = null;
    if (!boss) return;
    await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
  }
}

/**
 * Creates a queue unless it exists. Processes of a cluster starting together on a new database all create the
 * same queues, and pg-boss's CREATE of a queue's partition can deadlock with another's (or lose the race to
 * it): that is retried, after a short random pause, until the queue is there.
 */
async function createQueueOnce(boss: PgBoss, queue: PgBoss.Queue): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await boss.getQueue(queue.name)) return;
    try {
      await boss.createQueue(queue.name, queue);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const raced = code === '40P01' || code === '23505' || code === '42P07';
      if (!raced || attempt >= 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * attempt));
    }
  }
}
