import type Redis from 'ioredis';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimited } from './errors';
import { RedisGuard, UNGUARDED } from './redis-breaker';

/**
 * Limiters count in Redis when the server runs as a cluster, in memory otherwise. A Redis limiter is insured
 * by an in-process one: while Redis is unreachable each process counts on its own (a client may get up to
 * points × processes in a window) instead of every limited operation failing.
 */
export class RateLimiters {
  constructor(
    private readonly redis: Redis | null,
    private readonly guard: RedisGuard = UNGUARDED,
  ) {}

  create(name: string, points: number, durationSeconds: number): RateLimiterAbstract {
    const opts = { keyPrefix: `rl:${name}`, points, duration: durationSeconds };
    if (!this.redis) return new RateLimiterMemory(opts);
    return guarded(
      this.guard,
      new RateLimiterRedis({
        ...opts,
        storeClient: this.redis,
        // Straight to the insurance while the connection is down, rather than waiting for a command to fail.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(opts),
      }),
    );
  }
}

type StoreMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * Sends the limiter's Redis calls (rate-limiter-flexible's store methods) through the circuit breaker: while it
 * is open they fail at once, and the limiter answers from its insurance limiter as it does for any Redis error.
 */
function guarded(guard: RedisGuard, limiter: RateLimiterRedis): RateLimiterRedis {
  const store = limiter as unknown as Record<'_upsert' | '_get' | '_delete', StoreMethod>;
  for (const method of ['_upsert', '_get', '_delete'] as const) {
    const original = store[method].bind(limiter);
    store[method] = (...args) => guard.execute(() => original(...args));
  }
  return limiter;
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
