import { registerEnumType } from 'type-graphql';
import { queueWaitSeconds } from '../staffing/erlang';

export enum ServicePriority {
  URGENT = 'URGENT',
  HIGH = 'HIGH',
  NORMAL = 'NORMAL',
  LOW = 'LOW',
}
registerEnumType(ServicePriority, { name: 'ServicePriority' });

/** 0 is served first. */
export const PRIORITY_RANK: Record<ServicePriority, number> = { URGENT: 0, HIGH: 1, NORMAL: 2, LOW: 3 };

export interface PriorityRule {
  pattern: RegExp;
  priority: ServicePriority;
}

/** The reference system's keywords: complaints, faults, urgency, refunds and "cannot use" are urgent. */
export const DEFAULT_PRIORITY_RULES = JSON.stringify([
  { pattern: '投诉|故障|紧急|退款|无法使用|不能用|崩溃', priority: 'URGENT' },
  { pattern: '着急|尽快|马上|催|怎么还没', priority: 'HIGH' },
]);

/** Parses PRIORITY_RULES (JSON); a bad pattern or priority is a configuration error naming the rule. */
export function parsePriorityRules(json: string): PriorityRule[] {
  const raw = JSON.parse(json || DEFAULT_PRIORITY_RULES) as Array<{ pattern: string; priority: string }>;
  if (!Array.isArray(raw)) throw new Error('PRIORITY_RULES must be a JSON array');
  return raw.map((r, i) => {
    if (!(r.priority in PRIORITY_RANK))
      throw new Error(`PRIORITY_RULES[${i}].priority must be one of ${Object.keys(PRIORITY_RANK).join(', ')}`);
    try {
      return { pattern: new RegExp(r.pattern, 'iu'), priority: r.priority as ServicePriority };
    } catch (err) {
      throw new Error(`PRIORITY_RULES[${i}].pattern is not a regular expression: ${(err as Error).message}`, { cause: err });
    }
  });
}

/**
 * The priority of a new request: the higher of what the customer chose (default NORMAL) and what the
 * first message's keywords say. A customer can raise their priority by their words, never lower it.
 */
export function classifyPriority(message: string, requested: ServicePriority | null | undefined, rules: PriorityRule[]): ServicePriority {
  let best = requested ?? ServicePriority.NORMAL;
  for (const rule of rules) {
    if (rule.pattern.test(message) && PRIORITY_RANK[rule.priority] < PRIORITY_RANK[best]) best = rule.priority;
  }
  return best;
}

/**
 * Ageing: every full `ageingSeconds` waited lifts a request one level (LOW → NORMAL → HIGH → URGENT), so
 * no one starves. The queue is ordered by this effective rank, then by when the request joined.
 */
export function effectiveRank(priorityRank: number, waitedSeconds: number, ageingSeconds: number): number {
  return Math.max(0, priorityRank - Math.floor(Math.max(0, waitedSeconds) / ageingSeconds));
}

/**
 * The same rule in SQL, for ORDER BY over the conversations table (alias `c`); `?` is the ageing interval.
 * Time waited is clamped at 0 as in effectiveRank: `now()` is when the transaction began (a routing decision
 * may have waited for the lock meanwhile) and `queued_at` comes from the application's clock, so a request
 * that just joined can look as if it joined in the future — unclamped, floor() of that is -1, which would
 * lower its rank by one level and put it behind requests of its own priority.
 */
export const EFFECTIVE_RANK_SQL = `GREATEST(0, c.priority_rank - floor(GREATEST(0, extract(epoch from (now() - c.queued_at))) / ?)::int)`;

/**
 * Expected wait, from the staffing model (Erlang's M/M/N, see queueWaitSeconds in staffing/erlang.ts): with every
 * eligible seat busy, seats free up at seats ÷ AHT per second, less the seats taken meanwhile by urgent requests
 * arriving at `overtakingPerSecond` (they go ahead): position × AHT ÷ (seats − λ_urgent × AHT). With no eligible
 * agent the estimate is null (unknown), not a made-up number.
 */
export function estimateWaitSeconds(
  position: number,
  eligibleCapacity: number,
  averageHandlingSeconds: number,
  overtakingPerSecond = 0,
): number | null {
  return queueWaitSeconds(position, eligibleCapacity, averageHandlingSeconds, overtakingPerSecond);
}

/** When there is no history yet. */
export const DEFAULT_HANDLING_SECONDS = 300;
