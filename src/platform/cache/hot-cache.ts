import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger';
import type { PubSubPort } from '../realtime/pubsub';
import { Topics } from '../realtime/topics';

/** The kinds of hot reads; a change invalidates all entries of its area, on every process. */
const CACHE_AREAS = ['departments', 'shifts', 'faqs', 'settings'] as const;
export type CacheArea = (typeof CACHE_AREAS)[number];

interface Entry {
  value: unknown;
}

/**
 * In-process cache (lru-cache) of reads that are asked for all the time and change rarely: departments, shift
 * types, published FAQs, settings. A service that changes one calls `invalidate(area)` after its commit: this
 * process drops the area at once and every other process when the CACHE_INVALIDATED event reaches it (Redis
 * pub/sub, milliseconds). Pub/sub is at-most-once, so entries also expire (CACHE_TTL_SECONDS), and everything is
 * dropped when delivery resumes after a Redis outage. Values are shared by every request: loaders read them
 * through an EntityManager fork of their own, and callers must not change what they get.
 */
export class HotCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Per area, bumped by each invalidation: a read that started before one does not store its result. */
  private readonly generations = new Map<CacheArea, number>();
  private readonly hits: Counter;
  private readonly misses: Counter;
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly pubsub: PubSubPort,
    private readonly logger: Logger,
    opts: { maxEntries: number; ttlMs: number },
    registry: Registry,
  ) {
    this.entries = new LRUCache({ max: opts.maxEntries, ttl: opts.ttlMs });
    this.hits = new Counter({
      name: 'shiftdesk_cache_hits_total',
      help: 'Hot reads answered from the in-process cache',
      labelNames: ['area'],
      registers: [registry],
    });
    this.misses = new Counter({
      name: 'shiftdesk_cache_misses_total',
      help: 'Hot reads that went to PostgreSQL',
      labelNames: ['area'],
      registers: [registry],
    });
  }

  /** The cached value of `key` in `area`, or what `load` reads (then kept, unless the area changed meanwhile). */
  async get<T>(area: CacheArea, key: string, load: () => Promise<T>): Promise<T> {
    const id = `${area}\u0000${key}`;
    const found = this.entries.get(id);
    if (found) {
      this.hits.inc({ area });
      return found.value as T;
    }
    this.misses.inc({ area });
    const generation = this.generation(area);
    const value = await load();
    if (this.generation(area) === generation) this.entries.set(id, { value });
    return value;
  }

  /** Call after the commit of a change: drops the area here and, through pub/sub, on every other process. */
  invalidate(area: CacheArea): void {
    this.drop(area);
    this.pubsub.publish(Topics.CACHE_INVALIDATED, { area, pid: process.pid });
  }

  /** Runs a change (its transaction) and invalidates `area` once it has committed. */
  async invalidateAfter<T>(area: CacheArea, change: Promise<T>): Promise<T> {
    const result = await change;
    this.invalidate(area);
    return result;
  }

  /** Follows the other processes' invalidations (and forgets everything when pub/sub delivery resumes). */
  async start(): Promise<void> {
    const events = await this.pubsub.listen(Topics.CACHE_INVALIDATED);
    const unresumed = this.pubsub.onResumed(() => this.dropAll());
    let running = true;
    const loop = (async () => {
      for await (const event of events as AsyncIterable<{ area?: CacheArea } | null>) {
        if (!running) break;
        if (event?.area) this.drop(event.area);
      }
    })().catch((err: unknown) => this.logger.error({ err }, 'cache invalidation listener failed'));
    this.stopListening = async () => {
      running = false;
      unresumed();
      await events.return?.();
      await loop;
    };
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
  }

  private generation(area: CacheArea): number {
    return this.generations.get(area) ?? 0;
  }

  private drop(area: CacheArea): void {
    this.generations.set(area, this.generation(area) + 1);
    const prefix = `${area}\u0000`;
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private dropAll(): void {
    for (const area of CACHE_AREAS) this.drop(area);
  }
}
