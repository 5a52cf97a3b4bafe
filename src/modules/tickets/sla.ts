import { DateTime, IANAZone } from 'luxon';
import { isBusinessDate } from '../../platform/clock';

/**
 * SLA time, pure: a due time is a start plus N minutes, counted either on the wall clock (24×7) or in
 * business minutes over a calendar of working hours and holidays in the business time zone.
 */

/** Working hours: ISO weekdays, the day's working ranges, holidays off, extra working dates (调休) on. */
export interface BusinessCalendar {
  /** ISO weekdays that are working days: 1 = Monday … 7 = Sunday. */
  weekdays: readonly number[];
  /** Working ranges of a working day in minutes after midnight, [start, end), sorted and disjoint; end may be 1440. */
  ranges: ReadonlyArray<{ start: number; end: number }>;
  /** Dates (YYYY-MM-DD) that are not working days, whatever their weekday. */
  holidays: ReadonlySet<string>;
  /** Dates that are working days although their weekday is not (make-up working days). */
  workdays: ReadonlySet<string>;
  /** IANA time zone the hours and dates are in. */
  zone: string;
}

const MINUTE = 60_000;
/** A calendar with no working time within this many days is refused when parsed, so walks always end. */
const MAX_WALK_DAYS = 3660;

/** `start + minutes`, on the wall clock or in business time. */
export function dueAt(start: Date, minutes: number, calendar: BusinessCalendar | null): Date {
  if (!calendar) return new Date(start.getTime() + minutes * MINUTE);
  return addBusinessMinutes(start, minutes, calendar);
}

/**
 * The instant at which `minutes` business minutes have passed since `start`. A due time falls inside (or
 * at the end of) a working range; a start outside working hours counts from the next working range.
 */
export function addBusinessMinutes(start: Date, minutes: number, calendar: BusinessCalendar): Date {
  if (!(minutes >= 0)) throw new RangeError('minutes must be zero or more');
  const t0 = start.getTime();
  let remaining = Math.round(minutes * MINUTE);
  let day = DateTime.fromMillis(t0, { zone: calendar.zone }).startOf('day');
  for (let i = 0; i < MAX_WALK_DAYS + 2; i++, day = day.plus({ days: 1 })) {
    if (!isWorkingDay(day, calendar)) continue;
    for (const range of calendar.ranges) {
      const rangeEnd = instantOf(day, range.end);
      if (rangeEnd <= t0) continue;
      const from = Math.max(instantOf(day, range.start), t0);
      // A range inside a DST gap (02:30–03:00 on a spring-forward day) does not exist: no time, not negative time.
      const available = Math.max(0, rangeEnd - from);
      if (available === 0) continue;
      if (remaining <= available) return new Date(from + remaining);
      remaining -= available;
    }
  }
  throw new Error('the business calendar has no working time');
}

/** Business minutes (fractional) between two instants: the working time inside [from, to). */
export function businessMinutesBetween(from: Date, to: Date, calendar: BusinessCalendar | null): number {
  const a = from.getTime();
  const b = to.getTime();
  if (b <= a) return 0;
  if (!calendar) return (b - a) / MINUTE;
  let total = 0;
  let day = DateTime.fromMillis(a, { zone: calendar.zone }).startOf('day');
  while (day.toMillis() < b) {
    if (isWorkingDay(day, calendar)) {
      for (const range of calendar.ranges) {
        const s = Math.max(instantOf(day, range.start), a);
        const e = Math.min(instantOf(day, range.end), b);
        if (e > s) total += e - s;
      }
    }
    day = day.plus({ days: 1 });
  }
  return total / MINUTE;
}

/** Whether an instant lies inside a working range (its end included: a due time may be 18:00 sharp). */
export function isWithinWorkingHours(instant: Date, calendar: BusinessCalendar): boolean {
  const t = instant.getTime();
  const day = DateTime.fromMillis(t, { zone: calendar.zone }).startOf('day');
  // A range ending at 24:00 ends at the next day's midnight: look at the day before too.
  for (const d of [day, day.minus({ days: 1 })]) {
    if (!isWorkingDay(d, calendar)) continue;
    if (calendar.ranges.some((r) => instantOf(d, r.start) <= t && t <= instantOf(d, r.end))) return true;
  }
  return false;
}

export function isWorkingDay(day: DateTime, calendar: BusinessCalendar): boolean {
  const date = day.toISODate()!;
  if (calendar.holidays.has(date)) return false;
  return calendar.workdays.has(date) || calendar.weekdays.includes(day.weekday);
}

/** The instant of `minutes` after midnight on `day` (local wall time; a time in a DST gap moves forward). */
function instantOf(day: DateTime, minutes: number): number {
  if (minutes >= 1440) return day.plus({ days: 1 }).startOf('day').toMillis();
  return day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60, second: 0, millisecond: 0 }).toMillis();
}

const RANGE = /^([01]\d|2[0-3]):([0-5]\d)\s*-\s*(([01]\d|2[0-3]):([0-5]\d)|24:00)$/;

/**
 * Reads a calendar from its JSON form:
 * `{"weekdays": [1,2,3,4,5], "hours": ["09:00-12:00", "13:00-18:00"], "holidays": ["2026-10-01"], "workdays": ["2026-09-27"], "zone": "Asia/Shanghai"}`.
 * `hours` may also be one string ("09:00-18:00" or "09:00-12:00,13:00-18:00"); `zone` defaults to `defaultZone`.
 * Any problem throws an Error naming the field.
 */
export function parseCalendar(raw: unknown, defaultZone: string): BusinessCalendar {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('must be a JSON object {weekdays, hours, holidays, zone}');
  const o = raw as Record<string, unknown>;
  const known = new Set(['weekdays', 'hours', 'holidays', 'workdays', 'zone']);
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`unknown field(s): ${unknown.join(', ')}`);

  const weekdays = o.weekdays ?? [1, 2, 3, 4, 5];
  if (!Array.isArray(weekdays) || weekdays.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) {
    throw new Error('weekdays must be a list of ISO weekdays, 1 (Monday) to 7 (Sunday)');
  }

  const hoursRaw = o.hours ?? ['09:00-18:00'];
  const parts = typeof hoursRaw === 'string' ? hoursRaw.split(',') : hoursRaw;
  if (!Array.isArray(parts) || parts.length === 0 || parts.some((p) => typeof p !== 'string')) {
    throw new Error('hours must be "HH:mm-HH:mm" or a list of them');
  }
  const ranges = (parts as string[]).map((p) => {
    const m = RANGE.exec(p.trim());
    if (!m) throw new Error(`hours: "${p.trim()}" is not HH:mm-HH:mm`);
    const start = Number(m[1]) * 60 + Number(m[2]);
    const end = m[3] === '24:00' ? 1440 : Number(m[4]) * 60 + Number(m[5]);
    if (end <= start) throw new Error(`hours: "${p.trim()}" must end after it starts (ranges do not cross midnight)`);
    return { start, end };
  });
  ranges.sort((x, y) => x.start - y.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].start < ranges[i - 1].end) throw new Error('hours: ranges must not overlap');
  }

  const dates = (field: 'holidays' | 'workdays'): Set<string> => {
    const v = o[field] ?? [];
    if (!Array.isArray(v) || v.some((d) => typeof d !== 'string' || !isBusinessDate(d)))
      throw new Error(`${field} must be a list of dates YYYY-MM-DD`);
    return new Set(v as string[]);
  };
  const holidays = dates('holidays');
  const workdays = dates('workdays');

  const zone = o.zone ?? defaultZone;
  if (typeof zone !== 'string' || !IANAZone.isValidZone(zone)) throw new Error(`zone: not an IANA time zone: ${String(zone)}`);
  if (weekdays.length === 0 && workdays.size === 0) throw new Error('the calendar has no working day');

  return { weekdays: [...new Set(weekdays as number[])].sort(), ranges, holidays, workdays, zone };
}

/** The calendar in its JSON form again (for the API and the examples in docs/tickets.md). */
export function describeCalendar(c: BusinessCalendar): {
  weekdays: number[];
  hours: string[];
  holidays: string[];
  workdays: string[];
  zone: string;
} {
  const hhmm = (m: number) => (m >= 1440 ? '24:00' : `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
  return {
    weekdays: [...c.weekdays],
    hours: c.ranges.map((r) => `${hhmm(r.start)}-${hhmm(r.end)}`),
    holidays: [...c.holidays].sort(),
    workdays: [...c.workdays].sort(),
    zone: c.zone,
  };
}
