import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import { Schedule, ScheduleStatus } from '../scheduling/schedule.entity';
import { SwapConflict, SwapConflictReason } from './swap.inputs';

export const HOUR = 3_600_000;

/** The work rules every agent of a swap must still keep afterwards (SWAP_MIN_NOTICE_HOURS, MIN_REST_HOURS, MAX_WEEKLY_HOURS). */
export interface SwapRules {
  minNoticeHours: number;
  minRestHours: number;
  maxWeeklyHours: number;
}

/**
 * Rest and weekly hours of every receiver after the whole rotation (in a chain every agent is one): their
 * schedules, less those they hand on, plus those they get, around each schedule they get.
 */
export async function workRuleConflicts(
  em: EntityManager,
  steps: ReadonlyArray<{ schedule: Schedule; to: { id: string } }>,
  rules: SwapRules,
): Promise<SwapConflict[]> {
  const out: SwapConflict[] = [];
  const handedOn = new Set(steps.map((s) => s.schedule.id));
  const from = new Date(Math.min(...steps.map((s) => s.schedule.startsAt.getTime())) - 8 * 24 * HOUR);
  const to = new Date(Math.max(...steps.map((s) => s.schedule.endsAt.getTime())) + 8 * 24 * HOUR);
  const receivers = [...new Set(steps.map((s) => s.to.id))];
  const theirs = await em.find(Schedule, {
    agentId: { $in: receivers },
    status: ScheduleStatus.NORMAL,
    startsAt: { $lt: to },
    endsAt: { $gt: from },
  });
  const rest = rules.minRestHours * HOUR;
  for (const step of steps) {
    const s = step.schedule;
    const after = [
      ...theirs.filter((k) => k.agentId === step.to.id && !handedOn.has(k.id)),
      ...steps.filter((o) => o.to.id === step.to.id).map((o) => o.schedule),
    ].filter((k) => k.id !== s.id);
    const tooClose = after.find((k) => {
      const gap = Math.max(s.startsAt.getTime() - k.endsAt.getTime(), k.startsAt.getTime() - s.endsAt.getTime());
      return gap >= 0 && gap < rest;
    });
    if (tooClose) {
      out.push({
        scheduleId: s.id,
        toAgentId: step.to.id,
        reason: SwapConflictReason.REST_TOO_SHORT,
        message: `After the swap the receiver would rest less than ${rules.minRestHours} hours next to the schedule of ${tooClose.date}`,
        conflictingScheduleId: tooClose.id,
      });
    }
    const week = isoWeek(s.date);
    const hours = [s, ...after]
      .filter((k) => isoWeek(k.date) === week)
      .reduce((h, k) => h + (k.endsAt.getTime() - k.startsAt.getTime()) / HOUR, 0);
    if (hours > rules.maxWeeklyHours + 1e-9) {
      out.push({
        scheduleId: s.id,
        toAgentId: step.to.id,
        reason: SwapConflictReason.WEEKLY_HOURS,
        message: `After the swap the receiver would work ${Math.round(hours * 10) / 10} hours in the week of ${s.date} (at most ${rules.maxWeeklyHours})`,
      });
    }
  }
  return out;
}

/** "2027-W40": the Monday–Sunday week of a business date. */
function isoWeek(date: string): string {
  const d = DateTime.fromISO(date, { zone: 'UTC' });
  return `${d.weekYear}-W${d.weekNumber}`;
}
