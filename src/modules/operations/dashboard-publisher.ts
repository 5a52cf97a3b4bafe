import type { EntityManager } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';
import type { Logger } from '../../platform/logger';
import type { Metrics } from '../../platform/metrics';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { ALL_DEPARTMENTS, Topics } from '../../platform/realtime/topics';
import type { Scheduler } from '../../platform/scheduler';
import type { DashboardService } from './dashboard.service';
import type { IntervalLease } from './interval-lease';
import type { LiveDashboard } from './dashboard.types';

const WATCHED_KEY = 'ops:dashboard:watched';

/** The JSON of a live dashboard on pub/sub (dates as ISO strings). */
export type LiveDashboardEvent = Omit<LiveDashboard, 'computedAt'> & { computedAt: string };

/**
 * Pushes the live dashboard to `serviceDashboardUpdated` subscribers every interval, computed once per watched
 * department (or ALL) for the whole cluster: subscribers only listen on `DASHBOARD:<id>`. Each process reports
 * the topics its subscribers watch (to Redis, expiring after three intervals); the one process that claims
 * the interval (IntervalLease) computes every watched topic once and publishes it.
 */
export class DashboardPublisher {
  /** Subscribers of this process per topic id. */
  private readonly watched = new Map<string, number>();

  constructor(
    private readonly dashboard: DashboardService,
    private readonly pubsub: PubSubPort,
    private readonly redis: Redis | null,
    private readonly lease: IntervalLease,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
    private readonly intervalMs: number,
  ) {}

  start(scheduler: Scheduler): void {
    scheduler.every('dashboard-publish', this.intervalMs, () => this.tick());
  }

  /** A subscriber starts watching `topicId` (a department id or ALL); call the returned function when it ends. */
  watch(topicId: string): () => void {
    this.watched.set(topicId, (this.watched.get(topicId) ?? 0) + 1);
    this.reportWatched().catch((err) => this.logger.debug({ err }, 'dashboard: watched topics not reported'));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.watched.get(topicId) ?? 1) - 1;
      if (n > 0) this.watched.set(topicId, n);
      else this.watched.delete(topicId);
    };
  }

  /** One interval: report what this process watches; if this process won the interval, compute and publish. */
  async tick(): Promise<void> {
    await this.reportWatched().catch((err) => this.logger.debug({ err }, 'dashboard: watched topics not reported'));
    if (!(await this.lease.claim('dashboard', this.intervalMs))) return;
    const topics = await this.watchedInCluster();
    for (const topicId of topics) {
      const started = process.hrtime.bigint();
      const live = await this.dashboard.live(this.em(), topicId === ALL_DEPARTMENTS ? null : topicId);
      this.metrics.dashboardRefreshes.inc();
      this.metrics.dashboardRefreshSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.pubsub.publish(Topics.DASHBOARD, topicId, toEvent(live));
    }
  }

  private async reportWatched(): Promise<void> {
    if (!this.redis || !this.watched.size) return;
    const until = Date.now() + this.intervalMs * 3;
    await this.redis.zadd(WATCHED_KEY, ...[...this.watched.keys()].flatMap((id) => [until, id]));
  }

  private async watchedInCluster(): Promise<string[]> {
    const mine = [...this.watched.keys()];
    if (!this.redis) return mine;
    try {
      const now = Date.now();
      await this.redis.zremrangebyscore(WATCHED_KEY, '-inf', now);
      return [...new Set([...mine, ...(await this.redis.zrangebyscore(WATCHED_KEY, now, '+inf'))])];
    } catch {
      return mine;
    }
  }
}

export function toEvent(live: LiveDashboard): LiveDashboardEvent {
  return { ...live, computedAt: live.computedAt.toISOString() };
}

export function fromEvent(e: LiveDashboardEvent): LiveDashboard {
  return { ...e, computedAt: new Date(e.computedAt) };
}
