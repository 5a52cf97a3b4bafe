import type { EntityManager } from '@mikro-orm/postgresql';
import { ALL_DEPARTMENTS } from '../../platform/realtime/topics';
import type { AgentPool, Target } from './agent-pool';
import { DEFAULT_HANDLING_SECONDS, estimateWaitSeconds } from './queue-policy';
import { HandlingTimeSource, QueueReason, queueReasonOf, RECENT_CHATS_AVERAGED, WaitEstimateBasis } from './queue-reason';

/** The average handling time the estimates use, and how many chats it is the average of (0: the default). */
export interface HandlingTime {
  seconds: number;
  chats: number;
  /** URGENT requests of the department per second over the last 30 minutes: they go ahead of those waiting. */
  overtakingPerSecond: number;
}

/** A department's figures behind every estimate of its line: its agents' capacity now and the handling time. */
export interface LineFigures {
  capacity: number;
  handling: HandlingTime;
}

/** How long a waiting customer will wait, what that was computed from, and why they wait at all. */
export class QueueEstimates {
  private readonly handlingCache = new Map<string, HandlingTime & { until: number }>();

  constructor(private readonly pool: AgentPool) {}

  /** The figures of a department's line; `available` when the caller has read it already. */
  async figures(em: EntityManager, departmentId: string | null, available?: string[]): Promise<LineFigures> {
    const [capacity, handling] = await Promise.all([
      this.pool.capacity(em, departmentId, available ?? (await this.pool.available())),
      this.handlingTime(em, departmentId),
    ]);
    return { capacity, handling };
  }

  /** The estimate for a place in line, with its basis. */
  estimate(position: number, f: LineFigures): { estimatedWaitSeconds: number | null; estimateBasis: WaitEstimateBasis } {
    return {
      estimatedWaitSeconds: this.seconds(position, f),
      estimateBasis: {
        position,
        averageHandlingSeconds: Math.round(f.handling.seconds),
        handlingTimeSource: f.handling.chats ? HandlingTimeSource.RECENT_CHATS : HandlingTimeSource.DEFAULT,
        recentChats: f.handling.chats,
        eligibleCapacity: f.capacity,
      },
    };
  }

  seconds(position: number, f: LineFigures): number | null {
    return estimateWaitSeconds(position, f.capacity, f.handling.seconds, f.handling.overtakingPerSecond);
  }

  /**
   * Why a waiting request was not taken: the agents of its department / with its skill are counted step by
   * step — active, on duty, online — and the first step nobody passes is the reason (past them all: busy).
   */
  async reason(em: EntityManager, target: Target): Promise<QueueReason> {
    return queueReasonOf(await this.pool.funnel(em, target));
  }

  /**
   * Average handling time of the last RECENT_CHATS_AVERAGED chats of the department that ended in the past day, with how many chats it
   * averages (0: none, the default is used), and the live rate of URGENT requests (cached 30 s).
   */
  private async handlingTime(em: EntityManager, departmentId: string | null): Promise<HandlingTime> {
    const key = departmentId ?? ALL_DEPARTMENTS;
    const hit = this.handlingCache.get(key);
    if (hit && hit.until > Date.now()) return hit;
    const [{ seconds, chats }] = await em.execute<Array<{ seconds: number | null; chats: number }>>(
      `SELECT avg(extract(epoch from (ended_at - assigned_at)))::float AS seconds, count(*)::int AS chats FROM (
         SELECT ended_at, assigned_at FROM conversations
          WHERE status = 'ENDED' AND assigned_at IS NOT NULL AND ended_at > now() - interval '1 day'
            AND department_id IS NOT DISTINCT FROM ?::uuid
          ORDER BY ended_at DESC LIMIT ?) recent`,
      [departmentId, RECENT_CHATS_AVERAGED],
    );
    const [{ urgent }] = await em.execute<Array<{ urgent: number }>>(
      `SELECT count(*)::int AS urgent FROM conversations
        WHERE created_at > now() - interval '30 minutes' AND priority = 'URGENT' AND department_id IS NOT DISTINCT FROM ?::uuid`,
      [departmentId],
    );
    const overtakingPerSecond = urgent / 1800;
    const value: HandlingTime =
      seconds && seconds > 0
        ? { seconds, chats, overtakingPerSecond }
        : { seconds: DEFAULT_HANDLING_SECONDS, chats: 0, overtakingPerSecond };
    this.handlingCache.set(key, { ...value, until: Date.now() + 30_000 });
    return value;
  }
}
