import fc from 'fast-check';
import {
  businessDateOf,
  datesBetween,
  isBusinessDate,
  isClockTime,
  isOvernight,
  shiftInterval,
  shiftMinutes,
} from '../../src/platform/clock';

const SH = 'Asia/Shanghai';

describe('business time', () => {
  it('accepts only real calendar dates', () => {
    expect(isBusinessDate('2026-02-28')).toBe(true);
    expect(isBusinessDate('2028-02-29')).toBe(true);
    expect(isBusinessDate('2026-02-30')).toBe(false);
    expect(isBusinessDate('2026-13-01')).toBe(false);
    expect(isBusinessDate('2026-1-1')).toBe(false);
    expect(isBusinessDate('tomorrow')).toBe(false);
  });

  it('accepts only HH:mm clock times', () => {
    expect(isClockTime('00:00')).toBe(true);
    expect(isClockTime('23:59')).toBe(true);
    expect(isClockTime('24:00')).toBe(false);
    expect(isClockTime('25:00')).toBe(false);
    expect(isClockTime('9:00')).toBe(false);
    expect(isClockTime('09:60')).toBe(false);
  });

  it('places a day shift on its date in the business time zone', () => {
    const { startsAt, endsAt } = shiftInterval('2026-03-02', '09:00', '18:00', SH);
    expect(startsAt.toISOString()).toBe('2026-03-02T01:00:00.000Z');
    expect(endsAt.toISOString()).toBe('2026-03-02T10:00:00.000Z');
  });

  it('ends an overnight shift the next day', () => {
    expect(isOvernight('22:00', '06:00')).toBe(true);
    const { startsAt, endsAt } = shiftInterval('2026-03-02', '22:00', '06:00', SH);
    expect(startsAt.toISOString()).toBe('2026-03-02T14:00:00.000Z');
    expect(endsAt.toISOString()).toBe('2026-03-02T22:00:00.000Z');
    expect(shiftMinutes('22:00', '06:00')).toBe(480);
    expect(shiftMinutes('08:00', '08:00')).toBe(1440);
  });

  it('keeps wall-clock times across a DST change', () => {
    // Europe/Berlin springs forward on 2026-03-29: a 22:00–06:00 night is 7 hours long.
    const { startsAt, endsAt } = shiftInterval('2026-03-28', '22:00', '06:00', 'Europe/Berlin');
    expect((endsAt.getTime() - startsAt.getTime()) / 3600_000).toBe(7);
  });

  it('names the business date of an instant', () => {
    expect(businessDateOf(new Date('2026-03-02T16:30:00Z'), SH)).toBe('2026-03-03');
    expect(datesBetween('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
  });

  it('always gives an interval of the shift length that starts on its date (property)', () => {
    const time = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    const date = fc
      .date({ min: new Date('2020-01-01'), max: new Date('2035-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    fc.assert(
      fc.property(date, time, time, (d, start, end) => {
        const { startsAt, endsAt } = shiftInterval(d, start, end, SH);
        expect(endsAt.getTime() - startsAt.getTime()).toBe(shiftMinutes(start, end) * 60_000);
        expect(businessDateOf(startsAt, SH)).toBe(d);
      }),
    );
  });
});
