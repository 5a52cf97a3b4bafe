import { DateTime } from 'luxon';

/** `HH:mm`, 00:00–23:59. */
export const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
/** `YYYY-MM-DD`. */
export const BUSINESS_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar date written `YYYY-MM-DD` (so not 2026-02-30). */
export function isBusinessDate(value: string): boolean {
  return BUSINESS_DATE.test(value) && DateTime.fromISO(value, { zone: 'UTC' }).isValid;
}

export function isClockTime(value: string): boolean {
  return CLOCK_TIME.test(value);
}

/** Minutes after midnight of an `HH:mm` time. */
export function minutesOfDay(time: string): number {
  const [h, m] = time.split(':').map(Number);
  return h * 60 + m;
}

/** A shift whose end is not after its start ends the next day (22:00–06:00; 08:00–08:00 is 24 hours). */
export function isOvernight(startTime: string, endTime: string): boolean {
  return minutesOfDay(endTime) <= minutesOfDay(startTime);
}

export function shiftMinutes(startTime: string, endTime: string): number {
  const d = minutesOfDay(endTime) - minutesOfDay(startTime);
  return d > 0 ? d : d + 24 * 60;
}

/**
 * The instants a shift occupies on a business date, in the business time zone: the start is the wall
 * clock time on that date, the end on the same date or (overnight) the next one. A wall time that does
 * not exist (a DST gap) moves forward, as luxon does.
 */
export function shiftInterval(date: string, startTime: string, endTime: string, zone: string): { startsAt: Date; endsAt: Date } {
  const day = DateTime.fromISO(date, { zone });
  const [sh, sm] = startTime.split(':').map(Number);
  const [eh, em] = endTime.split(':').map(Number);
  const start = day.set({ hour: sh, minute: sm });
  const endDay = isOvernight(startTime, endTime) ? day.plus({ days: 1 }) : day;
  const end = endDay.set({ hour: eh, minute: em });
  return { startsAt: start.toJSDate(), endsAt: end.toJSDate() };
}

/** The business date (`YYYY-MM-DD`) an instant falls on. */
export function businessDateOf(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant, { zone }).toISODate()!;
}

/** Midnight at the start of a business date, as an instant. */
export function startOfBusinessDate(date: string, zone: string): Date {
  return DateTime.fromISO(date, { zone }).startOf('day').toJSDate();
}

/** Every business date from `from` to `to`, both included. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let d = DateTime.fromISO(from, { zone: 'UTC' });
  const end = DateTime.fromISO(to, { zone: 'UTC' });
  while (d <= end) {
    out.push(d.toISODate()!);
    d = d.plus({ days: 1 });
  }
  return out;
}

export function addDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate()!;
}
