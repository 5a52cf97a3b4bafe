import type Redis from 'ioredis';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimited } from './errors';

/** Limiters count in Redis when the server runs as a cluster, in memory otherwise. */
export class RateLimiters {
  constructor(private readonly redis: Redis | null) {}

  create(name: string, points: number, durationSeconds: number): RateLimiterAbstract {
    const opts = { keyPrefix: `rl:${name}`, points, duration: durationSeconds };
    return this.redis ? new RateLimiterRedis({ ...opts, storeClient: this.redis }) : new RateLimiterMemory(opts);
  }
}

/** Takes one point from `key`, or throws RATE_LIMITED with the seconds until it may try again. */
export async function consumeOrThrow(limiter: RateLimiterAbstract, key: string, message?: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) throw new RateLimited(err.msBeforeNext / 1000, message);
    throw err;
  }
}
