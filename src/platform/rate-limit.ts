import type Redis from 'ioredis';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimited } from './errors';

/**
 * Limiters count in Redis when the server runs as a cluster, in memory otherwise. A Redis limiter is insured
 * by an in-process one: while Redis is unreachable each process counts on its own (a client may get up to
 * points × processes in a window) instead of every limited operation failing.
 */
export class RateLimiters {
  constructor(private readonly redis: Redis | null) {}

  create(name: string, points: number, durationSeconds: number): RateLimiterAbstract {
    const opts = { keyPrefix: `rl:${name}`, points, duration: durationSeconds };
    if (!this.redis) return new RateLimiterMemory(opts);
    return new RateLimiterRedis({
      ...opts,
      storeClient: this.redis,
      // Straight to the insurance while the connection is down, rather than waiting for a command to fail.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(opts),
    });
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
