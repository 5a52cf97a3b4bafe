import type { RequestScope } from '../src/context';
import { addDays, businessDateOf } from '../src/platform/clock';
import { AssignMode } from '../src/modules/scheduling/schedule.inputs';
import type { ScheduleService } from '../src/modules/scheduling/schedule.service';
import { Shift } from '../src/modules/scheduling/shift.entity';
import type { ShiftService } from '../src/modules/scheduling/shift.service';

/**
 * The demo's roster: three back-to-back 8-hour shifts (for every department) cover the whole day, and every
 * demo agent is on all three, today and the next 7 days in the business time zone. Unrealistic for a real
 * desk, on purpose: whichever demo agent signs in, at whatever hour, is on duty, so routing (which gives
 * customers only to agents on a shift) answers the quick start's first request.
 */
export const DEMO_SHIFTS = [
  { code: 'DEMO_NIGHT', name: '演示夜班', startTime: '00:00', endTime: '08:00', color: '#5B6C8F' },
  { code: 'DEMO_DAY', name: '演示白班', startTime: '08:00', endTime: '16:00', color: '#4CAF50' },
  { code: 'DEMO_EVENING', name: '演示晚班', startTime: '16:00', endTime: '00:00', color: '#FF9800' },
];

/** Today and the next 7 days. */
export const DEMO_ROSTER_DAYS = 8;

export interface RosterOutcome {
  dates: string[];
  shiftsCreated: number;
  schedulesCreated: number;
  /** Agent-shift-days left as they were: already scheduled then (or overlapping another schedule, or on leave). */
  schedulesSkipped: number;
}

/**
 * Creates the demo shifts that are missing (matched by code) and schedules the agents on all of them for the
 * roster's dates, through the services as the admin (validation and audit as for any admin). Idempotent:
 * what is already scheduled is skipped, nothing is changed.
 */
export async function scheduleAroundTheClock(
  services: { shifts: ShiftService; schedules: ScheduleService },
  scope: () => RequestScope,
  agentIds: string[],
  zone: string,
  now: Date = new Date(),
): Promise<RosterOutcome> {
  const today = businessDateOf(now, zone);
  const dates = Array.from({ length: DEMO_ROSTER_DAYS }, (_, i) => addDays(today, i));
  const outcome: RosterOutcome = { dates, shiftsCreated: 0, schedulesCreated: 0, schedulesSkipped: 0 };
  if (!agentIds.length) return outcome;
  const existing = new Map((await scope().em.find(Shift, { code: { $in: DEMO_SHIFTS.map((s) => s.code) } })).map((s) => [s.code, s]));
  for (const s of DEMO_SHIFTS) {
    let shift = existing.get(s.code);
    if (!shift) {
      shift = await services.shifts.create(scope(), { ...s, departmentId: null, requiredSkills: [] });
      outcome.shiftsCreated += 1;
    }
    if (shift.archived) throw new Error(`the demo shift ${s.code} is archived: unarchive it or give it another code`);
    const result = await services.schedules.assign(scope(), { shiftId: shift.id, agentIds, dates, mode: AssignMode.SKIP_CONFLICTS });
    outcome.schedulesCreated += result.createdCount;
    outcome.schedulesSkipped += result.conflicts.length;
  }
  return outcome;
}
