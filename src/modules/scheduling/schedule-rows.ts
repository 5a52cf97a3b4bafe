import { addDays, isBusinessDate } from '../../platform/clock';
import { InvalidInput } from '../../platform/errors';
import { Schedule, ScheduleStatus } from './schedule.entity';
import { MAX_RANGE_DAYS } from './schedule.inputs';

/** A schedule row as raw SQL returns it (with `date` formatted as YYYY-MM-DD). */
export type ScheduleRow = {
  id: string;
  agent_id: string;
  shift_id: string;
  date: string;
  starts_at: Date | string;
  ends_at: Date | string;
  status: ScheduleStatus;
  replaced_by_id: string | null;
  replacing_id: string | null;
  created_by_id: string | null;
  created_at: Date | string;
};

/** The columns to select for `scheduleFromRow`: every column of Schedule, so the output shows what is stored. */
export const SCHEDULE_COLUMNS = `s.id, s.agent_id, s.shift_id, to_char(s.date, 'YYYY-MM-DD') AS date, s.starts_at, s.ends_at, s.status,
  s.replaced_by_id, s.replacing_id, s.created_by_id, s.created_at`;

/**
 * A read-only Schedule for output, without entity hydration (lists of thousands stay cheap). Its fields
 * are its own, set before it takes Schedule's prototype: it is `instanceof Schedule` (type-graphql would
 * otherwise copy it into a new entity for every field resolver) without running the ORM's setters.
 */
export function outputSchedule(fields: Omit<Schedule, never>): Schedule {
  return Object.setPrototypeOf(fields, Schedule.prototype) as Schedule;
}

/**
 * A read-only schedule from a raw row (see SCHEDULE_COLUMNS). `instant` turns a timestamptz (text, as the
 * driver is configured to return it) into a Date; a caller reading thousands of rows may pass one that
 * shares a Date per distinct value.
 */
export function scheduleFromRow(r: ScheduleRow, instant: (value: Date | string) => Date = (value) => new Date(value)): Schedule {
  return outputSchedule({
    id: r.id,
    agentId: r.agent_id,
    shiftId: r.shift_id,
    date: r.date,
    startsAt: instant(r.starts_at),
    endsAt: instant(r.ends_at),
    status: r.status,
    replacedById: r.replaced_by_id,
    replacingId: r.replacing_id,
    createdById: r.created_by_id,
    createdAt: instant(r.created_at),
  });
}

export function checkRange(from: string, to: string): void {
  if (!isBusinessDate(from)) throw new InvalidInput('from', 'must be a real date YYYY-MM-DD');
  if (!isBusinessDate(to)) throw new InvalidInput('to', 'must be a real date YYYY-MM-DD');
  if (to < from) throw new InvalidInput('to', 'must not be before from');
  if (to > addDays(from, MAX_RANGE_DAYS - 1)) throw new InvalidInput('to', `must be at most ${MAX_RANGE_DAYS} days after from`);
}
