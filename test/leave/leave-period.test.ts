import { leavePeriod } from '../../src/modules/leave/leave.period';

const SH = 'Asia/Shanghai';

describe('leave periods', () => {
  it('counts halves as half days', () => {
    expect(leavePeriod('2027-03-01', 'AM', '2027-03-01', 'AM', SH)?.days).toBe(0.5);
    expect(leavePeriod('2027-03-01', 'AM', '2027-03-01', 'PM', SH)?.days).toBe(1);
    expect(leavePeriod('2027-03-01', 'PM', '2027-03-03', 'AM', SH)?.days).toBe(2);
    expect(leavePeriod('2027-02-27', 'AM', '2027-03-02', 'PM', SH)?.days).toBe(4);
  });

  it('runs from 00:00 or 12:00 to 12:00 or 24:00 business time', () => {
    const p = leavePeriod('2027-03-01', 'PM', '2027-03-02', 'PM', SH)!;
    expect(p.startsAt.toISOString()).toBe('2027-03-01T04:00:00.000Z');
    expect(p.endsAt.toISOString()).toBe('2027-03-02T16:00:00.000Z');
    const am = leavePeriod('2027-03-01', 'AM', '2027-03-01', 'AM', SH)!;
    expect(am.startsAt.toISOString()).toBe('2027-02-28T16:00:00.000Z');
    expect(am.endsAt.toISOString()).toBe('2027-03-01T04:00:00.000Z');
  });

  it('has no period when the end is before the start', () => {
    expect(leavePeriod('2027-03-02', 'AM', '2027-03-01', 'PM', SH)).toBeNull();
    expect(leavePeriod('2027-03-01', 'PM', '2027-03-01', 'AM', SH)).toBeNull();
  });
});
