import type { PresenceInterval } from '../presence/presence-history';
import type { AdherenceDay, AgentAdherence, PresenceStateValue, ShiftAdherence } from './quality.types';

/** Half-open [start, end) in epoch milliseconds. */
export type Span = readonly [number, number];

export interface ScheduledShift {
  scheduleId: string;
  date: string;
  startsAt: Date;
  endsAt: Date;
}

/** Sorted, non-overlapping union of spans (empty ones dropped). */
export function union(spans: Span[]): Span[] {
  const sorted = spans.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The parts of sorted, disjoint `spans` inside [from, to). */
export function clip(spans: readonly Span[], from: number, to: number): Span[] {
  const out: Span[] = [];
  for (const [a, b] of spans) {
    const s = Math.max(a, from);
    const e = Math.min(b, to);
    if (e > s) out.push([s, e]);
  }
  return out;
}

/** Intersection of two sorted, disjoint span lists. */
export function intersect(x: readonly Span[], y: readonly Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const s = Math.max(x[i][0], y[j][0]);
    const e = Math.min(x[i][1], y[j][1]);
    if (e > s) out.push([s, e]);
    if (x[i][1] < y[j][1]) i++;
    else j++;
  }
  return out;
}

export function measure(spans: readonly Span[]): number {
  return spans.reduce((n, [a, b]) => n + (b - a), 0);
}

const seconds = (ms: number) => Math.round(ms / 1000);

/**
 * One agent's adherence over business dates `days` (each with its [start, end) instants): scheduled time, time
 * online in and outside the schedules, late starts, early leaves and absences (`graceMs` either way), and a
 * timeline per day. Presence intervals still open run until `now`; nothing after `now` counts.
 */
export function adherenceOf(input: {
  agentId: string;
  days: Array<{ date: string; start: number; end: number }>;
  shifts: ScheduledShift[];
  presence: PresenceInterval[];
  now: number;
  graceMs: number;
}): AgentAdherence {
  const { now, graceMs } = input;
  const windowStart = input.days[0].start;
  const windowEnd = Math.min(input.days[input.days.length - 1].end, now);
  const segments = input.presence.map((p) => ({
    state: p.state,
    span: [p.startedAt.getTime(), Math.min(p.endedAt?.getTime() ?? now, now)] as Span,
  }));
  const online = union(segments.filter((s) => s.state !== 'OFFLINE').map((s) => s.span));
  const scheduled = union(input.shifts.map((s) => [s.startsAt.getTime(), s.endsAt.getTime()] as Span));

  const shiftResults = new Map<string, ShiftAdherence>();
  for (const s of input.shifts) {
    const start = s.startsAt.getTime();
    const end = s.endsAt.getTime();
    const on = clip(online, start, Math.min(end, now));
    const started = start <= now;
    const first = on.length ? on[0][0] : null;
    const last = on.length ? on[on.length - 1][1] : null;
    shiftResults.set(s.scheduleId, {
      scheduleId: s.scheduleId,
      startsAt: s.startsAt,
      endsAt: s.endsAt,
      onlineSeconds: seconds(measure(on)),
      firstOnlineAt: first === null ? null : new Date(first),
      lastOnlineAt: last === null ? null : new Date(last),
      lateStart: first !== null && first > start + graceMs,
      earlyLeave: last !== null && end <= now && last < end - graceMs,
      absent: started && first === null && Math.min(end, now) - start > graceMs,
    });
  }

  const days: AdherenceDay[] = input.days.map(({ date, start, end }) => {
    const until = Math.min(end, now);
    const onlineToday = clip(online, start, until);
    const shifts = input.shifts.filter((s) => s.date === date);
    const planned = union(shifts.map((s) => [s.startsAt.getTime(), s.endsAt.getTime()] as Span));
    return {
      date,
      scheduledSeconds: seconds(measure(planned)),
      onlineInScheduleSeconds: seconds(measure(intersect(clip(online, start, until), clip(scheduled, start, until)))),
      onlineOutsideScheduleSeconds: seconds(measure(onlineToday) - measure(intersect(onlineToday, scheduled))),
      shifts: shifts.map((s) => shiftResults.get(s.scheduleId)!),
      timeline: segments
        .map((seg) => ({ state: seg.state as PresenceStateValue, span: clip([seg.span], start, until)[0] }))
        .filter((seg) => seg.span)
        .map((seg) => ({ state: seg.state, startsAt: new Date(seg.span[0]), endsAt: new Date(seg.span[1]) })),
    };
  });

  const onlineInWindow = clip(online, windowStart, windowEnd);
  const inSchedule = intersect(online, scheduled);
  const elapsedScheduled = measure(clip(scheduled, -Infinity, now));
  const results = [...shiftResults.values()];
  return {
    agentId: input.agentId,
    scheduledSeconds: seconds(measure(scheduled)),
    onlineInScheduleSeconds: seconds(measure(inSchedule)),
    onlineOutsideScheduleSeconds: seconds(measure(onlineInWindow) - measure(intersect(onlineInWindow, scheduled))),
    adherence: elapsedScheduled > 0 ? Math.round((measure(inSchedule) / elapsedScheduled) * 1000) / 1000 : null,
    lateStarts: results.filter((r) => r.lateStart).length,
    earlyLeaves: results.filter((r) => r.earlyLeave).length,
    absences: results.filter((r) => r.absent).length,
    days,
  };
}
