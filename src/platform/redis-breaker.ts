import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll, type CircuitBreakerPolicy } from 'cockatiel';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger';

/** Runs a Redis call, or refuses it at once. What every Redis command of the request paths goes through. */
export interface RedisGuard {
  execute<T>(call: () => Promise<T>): Promise<T>;
}

/** No breaker (no Redis, or a test): every call runs. */
export const UNGUARDED: RedisGuard = { execute: (call) => call() };

/**
 * A circuit breaker (cockatiel) around the Redis commands of rate limits, presence and publishing. After
 * REDIS_BREAKER_FAILURES consecutive failures it opens: calls fail at once (BrokenCircuitError) and the
 * in-process fallbacks answer, instead of each waiting out REDIS_COMMAND_TIMEOUT_MS against a hung Redis.
 * After REDIS_BREAKER_HALF_OPEN_MS one call goes through to test it; its success closes the circuit.
 * One breaker per process: those commands all go to the one Redis.
 */
export class RedisBreaker implements RedisGuard {
  private readonly policy: CircuitBreakerPolicy;
  private readonly open: Gauge;
  private readonly refused: Counter;

  constructor(opts: { failures: number; halfOpenAfterMs: number }, logger: Logger, registry: Registry) {
    this.policy = circuitBreaker(handleAll, { halfOpenAfter: opts.halfOpenAfterMs, breaker: new ConsecutiveBreaker(opts.failures) });
    this.open = new Gauge({
      name: 'shiftdesk_redis_circuit_open',
      help: 'Whether the Redis circuit breaker is open (1): Redis calls fail at once',
      registers: [registry],
    });
    this.refused = new Counter({
      name: 'shiftdesk_redis_calls_refused_total',
      help: 'Redis calls refused at once by the open circuit breaker',
      registers: [registry],
    });
    this.policy.onBreak(() => {
      this.open.set(1);
      logger.warn(
        { halfOpenAfterMs: opts.halfOpenAfterMs },
        'Redis circuit breaker open: Redis calls fail at once, the in-process fallbacks answer',
      );
    });
    this.policy.onReset(() => {
      this.open.set(0);
      logger.info('Redis circuit breaker closed: Redis answers again');
    });
  }

  get isOpen(): boolean {
    return this.policy.state === CircuitState.Open;
  }

  async execute<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(call);
    } catch (err) {
      if (err instanceof BrokenCircuitError) this.refused.inc();
      throw err;
    }
  }
}
