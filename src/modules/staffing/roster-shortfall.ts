import { addDays, shiftInterval } from '../../platform/clock';
import type { Shift } from '../scheduling/shift.entity';
import { coveredSlots, keptCoverage, RosterProblem, withoutKeptClashes } from './roster-model';
import { UnmetCoverage, UnmetReason } from './staffing.inputs';

/** Uncovered intervals as a proposal stores them (instants as ISO text). */
export type StoredUnmet = Array<Omit<UnmetCoverage, 'startsAt' | 'endsAt'> & { startsAt: string; endsAt: string }>;

/** Whether any shift type (on any date of the range, or the day before) covers each interval. */
export function shiftCoverage(p: RosterProblem, shifts: Shift[], dates: string[], zone: string): boolean[] {
  const covers = new Array<boolean>(p.required.length).fill(false);
  for (const date of [addDays(dates[0], -1), ...dates]) {
    for (const shift of shifts) {
      const { startsAt, endsAt } = shiftInterval(date, shift.startTime, shift.endTime, zone);
      for (const i of coveredSlots(p, startsAt.getTime(), endsAt.getTime())) covers[i] = true;
    }
  }
  return covers;
}

/**
 * The intervals left short, and why: no shift type covers them; every agent who may work then (skills, leave,
 * kept schedules) already does; or agents exist but the work rules (rest, days and hours a week) hold them.
 */
export function unmetCoverage(
  p: RosterProblem,
  cover: number[],
  intervals: Array<{ startsAt: Date; endsAt: Date }>,
  shiftCovers: boolean[],
): StoredUnmet {
  const kept = keptCoverage(p);
  const agentsFor = p.required.map(() => new Set<number>());
  for (const o of withoutKeptClashes(p)) for (const i of coveredSlots(p, o.start, o.end)) agentsFor[i].add(o.agent);
  const out: StoredUnmet = [];
  p.required.forEach((r, i) => {
    if (cover[i] >= r) return;
    const reason = !shiftCovers[i]
      ? UnmetReason.NO_SHIFT_COVERS
      : agentsFor[i].size + kept[i] <= cover[i]
        ? UnmetReason.NOT_ENOUGH_AGENTS
        : UnmetReason.WORK_RULES;
    out.push({
      startsAt: intervals[i].startsAt.toISOString(),
      endsAt: intervals[i].endsAt.toISOString(),
      required: r,
      covered: cover[i],
      reason,
    });
  });
  return out;
}
