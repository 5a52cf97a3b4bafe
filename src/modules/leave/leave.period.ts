import { DateTime } from 'luxon';

export type DayHalf = 'AM' | 'PM';

/**
 * A leave runs from a half-day to a half-day, both included: AM is 00:00–12:00 and PM 12:00–24:00 in
 * the business time zone. Its length counts halves as 0.5 days (calendar days; weekends included).
 */
export function leavePeriod(
  startDate: string,
  startHalf: DayHalf,
  endDate: string,
  endHalf: DayHalf,
  zone: string,
): { startsAt: Date; endsAt: Date; days: number } | null {
  const first = halfIndex(startDate, startHalf);
  const last = halfIndex(endDate, endHalf);
  if (last < first) return null;
  const start = DateTime.fromISO(startDate, { zone }).set({ hour: startHalf === 'AM' ? 0 : 12 });
  const endDay = DateTime.fromISO(endDate, { zone });
  const end = endHalf === 'AM' ? endDay.set({ hour: 12 }) : endDay.plus({ days: 1 }).startOf('day');
  return { startsAt: start.toJSDate(), endsAt: end.toJSDate(), days: (last - first + 1) / 2 };
}

function halfIndex(date: string, half: DayHalf): number {
  const day = Math.round(DateTime.fromISO(date, { zone: 'UTC' }).toMillis() / 86_400_000);
  return day * 2 + (half === 'PM' ? 1 : 0);
}
