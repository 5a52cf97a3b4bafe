import fc from 'fast-check';
import { adherenceOf, clip, intersect, measure, Span, union } from '../../src/modules/quality/adherence';
import type { PresenceInterval, PresenceState } from '../../src/modules/presence/presence-history';

const H = 3_600_000;
const DAY = 24 * H;

/** Spans in [0, 2 days) as arbitrary (possibly overlapping, unsorted) pairs. */
const spans = fc.array(
  fc
    .tuple(fc.integer({ min: 0, max: 2 * DAY }), fc.integer({ min: 0, max: 6 * H }))
    .map(([a, len]): Span => [a, Math.min(2 * DAY, a + len)]),
  { maxLength: 12 },
);

/** A presence history: consecutive intervals from 0, the last one open. */
const history = fc
  .array(fc.tuple(fc.constantFrom<PresenceState>('AVAILABLE', 'BUSY', 'AWAY', 'OFFLINE'), fc.integer({ min: 1, max: 8 * H })), {
    minLength: 1,
    maxLength: 15,
  })
  .map((parts) => {
    let t = 0;
    return parts.map(([state, len], i): PresenceInterval => {
      const startedAt = new Date(t);
      t += len;
      return { agentId: 'a', state, startedAt, endedAt: i === parts.length - 1 ? null : new Date(t) };
    });
  });

describe('adherence interval maths', () => {
  it('union is sorted, disjoint and covers exactly what its inputs cover', () => {
    fc.assert(
      fc.property(spans, fc.integer({ min: 0, max: 2 * DAY }), (xs, probe) => {
        const u = union(xs);
        for (let i = 1; i < u.length; i++) expect(u[i][0]).toBeGreaterThan(u[i - 1][1]);
        const covered = (list: readonly Span[]) => list.some(([a, b]) => probe >= a && probe < b);
        expect(covered(u)).toBe(covered(xs));
      }),
    );
  });

  it('intersection is no larger than either side, and a span list split by another adds up', () => {
    fc.assert(
      fc.property(spans, spans, (xs, ys) => {
        const a = union(xs);
        const b = union(ys);
        const both = measure(intersect(a, b));
        expect(both).toBeLessThanOrEqual(Math.min(measure(a), measure(b)));
        expect(measure(intersect(a, b))).toBe(measure(intersect(b, a)));
        expect(measure(clip(a, 0, DAY)) + measure(clip(a, DAY, 2 * DAY))).toBe(measure(a));
      }),
    );
  });

  it('online in schedule + online outside = online in the period; in schedule never exceeds the schedule', () => {
    fc.assert(
      fc.property(history, spans, fc.integer({ min: 0, max: 3 * DAY }), (presence, shiftSpans, now) => {
        // Shifts inside the two days, disjoint (as the schedules' exclusion constraint keeps them).
        const shifts = union(shiftSpans).map(([a, b], i) => ({
          scheduleId: `s${i}`,
          date: a < DAY ? 'd1' : 'd2',
          startsAt: new Date(a),
          endsAt: new Date(b),
        }));
        const r = adherenceOf({
          agentId: 'a',
          days: [
            { date: 'd1', start: 0, end: DAY },
            { date: 'd2', start: DAY, end: 2 * DAY },
          ],
          shifts,
          presence,
          now,
          graceMs: 5 * 60_000,
        });
        const online = union(
          presence
            .filter((p) => p.state !== 'OFFLINE')
            .map((p): Span => [p.startedAt.getTime(), Math.min(p.endedAt?.getTime() ?? now, now)]),
        );
        const inPeriod = measure(clip(online, 0, Math.min(2 * DAY, now)));
        expect(Math.abs(r.onlineInScheduleSeconds + r.onlineOutsideScheduleSeconds - inPeriod / 1000)).toBeLessThanOrEqual(1);
        expect(r.onlineInScheduleSeconds).toBeLessThanOrEqual(r.scheduledSeconds);
        if (r.adherence !== null) expect(r.adherence).toBeLessThanOrEqual(1);
        for (const s of r.days.flatMap((d) => d.shifts))
          expect([s.absent && s.lateStart, s.absent && s.earlyLeave]).toEqual([false, false]);
      }),
    );
  });
});
