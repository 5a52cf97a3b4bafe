import fc from 'fast-check';
import { DateTime } from 'luxon';
import { ConfigError, loadConfig } from '../../src/config';
import {
  addBusinessMinutes,
  BusinessCalendar,
  businessMinutesBetween,
  describeCalendar,
  dueAt,
  isWithinWorkingHours,
  parseCalendar,
} from '../../src/modules/tickets/sla';
import { AgentCandidate, chooseAgent, successRate } from '../../src/modules/tickets/ticket-routing';
import { nextDue, SlaStatus, slaStatus, TicketStatus } from '../../src/modules/tickets/ticket.entity';
import { TICKET_FLOW } from '../../src/modules/tickets/ticket.service';
import {
  DEFAULT_SLA,
  DEFAULT_TICKET_CATEGORIES,
  parseBusinessHours,
  parseSlaPolicy,
  parseTicketCategories,
} from '../../src/modules/tickets/ticket.settings';

const SH = 'Asia/Shanghai';
const at = (iso: string, zone = SH) => DateTime.fromISO(iso, { zone }).toJSDate();
const local = (d: Date, zone = SH) => DateTime.fromJSDate(d, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");

/** Mon–Fri 09:00–12:00 and 13:00–18:00 in Shanghai; 2026-10-01..07 (National Day) off, Sunday 2026-09-27 worked. */
const office = parseCalendar(
  {
    weekdays: [1, 2, 3, 4, 5],
    hours: ['09:00-12:00', '13:00-18:00'],
    holidays: ['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'],
    workdays: ['2026-09-27'],
  },
  SH,
);

describe('SLA due times', () => {
  it('on the wall clock are the start plus the minutes', () => {
    expect(dueAt(at('2026-11-23T23:50'), 60, null).toISOString()).toBe(at('2026-11-24T00:50').toISOString());
  });

  it('in business time count only working hours, across the lunch break, nights, weekends and holidays', () => {
    // Monday 10:00 + 60 min → 11:00; + 150 min → 10:00 … 12:00, then 13:00 … 13:30.
    expect(local(addBusinessMinutes(at('2026-11-23T10:00'), 60, office))).toBe('2026-11-23T11:00');
    expect(local(addBusinessMinutes(at('2026-11-23T10:00'), 150, office))).toBe('2026-11-23T13:30');
    // Friday 17:30 + 60 → Monday 09:30; a start at night counts from the next morning.
    expect(local(addBusinessMinutes(at('2026-11-27T17:30'), 60, office))).toBe('2026-11-30T09:30');
    expect(local(addBusinessMinutes(at('2026-11-24T02:00'), 5, office))).toBe('2026-11-24T09:05');
    // Saturday noon + 3 working days (8 h each): Wednesday 18:00.
    expect(local(addBusinessMinutes(at('2026-11-28T12:00'), 24 * 60, office))).toBe('2026-12-02T18:00');
    // Wednesday 2026-09-30 17:00 + 2 h: National Day holidays and the weekend are skipped, but 10-08 (Thursday) works.
    expect(local(addBusinessMinutes(at('2026-09-30T17:00'), 120, office))).toBe('2026-10-08T10:00');
    // The make-up Sunday 2026-09-27 is a working day.
    expect(local(addBusinessMinutes(at('2026-09-26T20:00'), 30, office))).toBe('2026-09-27T09:30');
    // Exactly the rest of the day ends at 18:00 sharp, not the next morning.
    expect(local(addBusinessMinutes(at('2026-11-23T17:00'), 60, office))).toBe('2026-11-23T18:00');
  });

  it('count real minutes across a DST change', () => {
    const berlin = parseCalendar({ weekdays: [1, 2, 3, 4, 5, 6, 7], hours: '00:00-24:00' }, 'Europe/Berlin');
    // 2026-03-29 is 23 hours long in Berlin.
    const start = at('2026-03-29T00:00', 'Europe/Berlin');
    expect(addBusinessMinutes(start, 24 * 60, berlin).getTime() - start.getTime()).toBe(24 * 3_600_000);
  });

  it('measure business minutes between two instants', () => {
    expect(businessMinutesBetween(at('2026-11-27T17:30'), at('2026-11-30T09:30'), office)).toBe(60);
    expect(businessMinutesBetween(at('2026-11-23T08:00'), at('2026-11-23T20:00'), office)).toBe(8 * 60);
    expect(businessMinutesBetween(at('2026-11-23T08:00'), at('2026-11-23T20:00'), null)).toBe(12 * 60);
  });

  it('parse a calendar and refuse bad ones, naming the problem', () => {
    expect(describeCalendar(parseCalendar({ hours: '13:00-18:00, 09:00-12:00' }, SH))).toEqual({
      weekdays: [1, 2, 3, 4, 5],
      hours: ['09:00-12:00', '13:00-18:00'],
      holidays: [],
      workdays: [],
      zone: SH,
    });
    expect(() => parseCalendar({ hours: ['18:00-09:00'] }, SH)).toThrow(/must end after it starts/);
    expect(() => parseCalendar({ hours: ['09:00-12:00', '11:00-13:00'] }, SH)).toThrow(/overlap/);
    expect(() => parseCalendar({ weekdays: [0] }, SH)).toThrow(/weekdays/);
    expect(() => parseCalendar({ holidays: ['2026-02-30'] }, SH)).toThrow(/holidays/);
    expect(() => parseCalendar({ zone: 'Mars/Base' }, SH)).toThrow(/zone/);
    expect(() => parseCalendar({ weekdays: [] }, SH)).toThrow(/no working day/);
    expect(() => parseCalendar({ hours: '9-18' }, SH)).toThrow(/HH:mm-HH:mm/);
    expect(() => parseCalendar({ weekday: [1] }, SH)).toThrow(/unknown field/);
    expect(parseBusinessHours('', SH)).toBeNull();
  });
});

describe('SLA properties', () => {
  const calendars = fc
    .record({
      weekdays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
      // 1–3 disjoint ranges on a 30-minute grid
      cuts: fc.uniqueArray(fc.integer({ min: 0, max: 48 }), { minLength: 2, maxLength: 6 }),
      holidays: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 8 }),
      zone: fc.constantFrom('Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'UTC'),
    })
    .filter((c) => c.cuts.length % 2 === 0)
    .map(({ weekdays, cuts, holidays, zone }): BusinessCalendar => {
      const sorted = [...cuts].sort((a, b) => a - b);
      const hhmm = (half: number) => (half === 48 ? '24:00' : `${String(Math.floor(half / 2)).padStart(2, '0')}:${half % 2 ? '30' : '00'}`);
      const hours: string[] = [];
      for (let i = 0; i < sorted.length; i += 2) hours.push(`${hhmm(sorted[i])}-${hhmm(sorted[i + 1])}`);
      const base = DateTime.fromISO('2026-01-01', { zone: 'UTC' });
      return parseCalendar({ weekdays, hours, holidays: holidays.map((d) => base.plus({ days: d }).toISODate()), zone }, 'UTC');
    });
  const starts = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 2, 1) }).map((ms) => new Date(ms));
  const minutes = fc.integer({ min: 1, max: 5000 });

  it('a business due time is never before the wall-clock one', () => {
    fc.assert(
      fc.property(calendars, starts, minutes, (cal, start, n) => dueAt(start, n, cal).getTime() >= dueAt(start, n, null).getTime()),
      { numRuns: 300 },
    );
  });

  it('a business due time falls inside working hours', () => {
    fc.assert(
      fc.property(calendars, starts, minutes, (cal, start, n) => isWithinWorkingHours(dueAt(start, n, cal), cal)),
      { numRuns: 300 },
    );
  });

  it('counts no working time for a range that falls in a DST gap (found by the property below)', () => {
    const cal = parseCalendar({ weekdays: [1, 7], hours: ['02:30-03:00'], zone: 'Europe/Berlin' }, 'UTC');
    const start = new Date('2026-01-01T00:00:00.000Z');
    expect(businessMinutesBetween(start, dueAt(start, 721, cal), cal)).toBeCloseTo(721, 6);
  });

  it('exactly N business minutes lie between the start and the due time', () => {
    fc.assert(
      fc.property(
        calendars,
        starts,
        minutes,
        (cal, start, n) => Math.abs(businessMinutesBetween(start, dueAt(start, n, cal), cal) - n) < 1e-6,
      ),
      { numRuns: 300 },
    );
  });

  it('adding a then b is adding a + b, and more minutes are never due earlier', () => {
    fc.assert(
      fc.property(calendars, starts, minutes, minutes, (cal, start, a, b) => {
        const stepwise = dueAt(dueAt(start, a, cal), b, cal).getTime();
        const once = dueAt(start, a + b, cal).getTime();
        return stepwise === once && once >= dueAt(start, a, cal).getTime();
      }),
      { numRuns: 300 },
    );
  });

  it('a 24×7 calendar is the wall clock', () => {
    fc.assert(
      fc.property(fc.constantFrom('Asia/Shanghai', 'Europe/Berlin', 'America/New_York'), starts, minutes, (zone, start, n) => {
        const always = parseCalendar({ weekdays: [1, 2, 3, 4, 5, 6, 7], hours: '00:00-24:00' }, zone);
        return dueAt(start, n, always).getTime() === dueAt(start, n, null).getTime();
      }),
      { numRuns: 200 },
    );
  });
});

describe('SLA status of a deadline', () => {
  const due = new Date('2026-11-23T10:00:00Z');
  const warn = new Date('2026-11-23T09:48:00Z');
  it('is MET or BREACHED once done, else PENDING, AT_RISK (80% used) and BREACHED as time goes by', () => {
    expect(slaStatus(new Date('2026-11-23T10:00:00Z'), due, warn, new Date('2027-01-01'))).toBe(SlaStatus.MET);
    expect(slaStatus(new Date('2026-11-23T10:00:01Z'), due, warn, new Date('2026-11-23T10:00:01Z'))).toBe(SlaStatus.BREACHED);
    expect(slaStatus(null, due, warn, new Date('2026-11-23T09:47:59Z'))).toBe(SlaStatus.PENDING);
    expect(slaStatus(null, due, warn, new Date('2026-11-23T09:48:00Z'))).toBe(SlaStatus.AT_RISK);
    expect(slaStatus(null, due, warn, new Date('2026-11-23T10:00:01Z'))).toBe(SlaStatus.BREACHED);
  });

  it('queues by the nearest deadline still running', () => {
    const t = { firstResponseAt: null, firstResponseDueAt: new Date(1000), resolutionDueAt: new Date(5000) };
    expect(nextDue(t)).toEqual(new Date(1000));
    expect(nextDue({ ...t, firstResponseAt: new Date(900) })).toEqual(new Date(5000));
  });
});

describe('the ticket transition table', () => {
  it('allows exactly the documented moves', () => {
    // faqResolve: the customer said the auto-answer helped (ticketAnswerHelped), from any open state.
    expect(TICKET_FLOW.allowed(TicketStatus.NEW)).toEqual(['assign', 'faqResolve']);
    expect(TICKET_FLOW.allowed(TicketStatus.ASSIGNED).sort()).toEqual(['assign', 'faqResolve', 'resolve', 'start']);
    expect(TICKET_FLOW.allowed(TicketStatus.IN_PROGRESS).sort()).toEqual(['assign', 'faqResolve', 'resolve']);
    expect(TICKET_FLOW.allowed(TicketStatus.RESOLVED).sort()).toEqual(['close', 'reopen']);
    expect(TICKET_FLOW.allowed(TicketStatus.CLOSED)).toEqual([]);
    expect(TICKET_FLOW.allowed(TicketStatus.REOPENED).sort()).toEqual(['assign', 'faqResolve', 'resolve', 'start']);
    expect(TICKET_FLOW.next(TicketStatus.NEW, 'faqResolve')).toBe(TicketStatus.RESOLVED);
    expect(() => TICKET_FLOW.next(TicketStatus.CLOSED, 'resolve')).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }),
    );
  });
});

describe('auto-assignment choice', () => {
  const agent = (id: string, open: number, more: Partial<AgentCandidate> = {}): AgentCandidate => ({
    id,
    open,
    skillMatches: 0,
    resolved: 0,
    succeeded: 0,
    lastAssignedAt: null,
    ...more,
  });

  it('takes the fewest open tickets below the limit, then skills, then past success, then who waited longest', () => {
    expect(chooseAgent([agent('a', 3), agent('b', 1), agent('c', 2)], 20)?.id).toBe('b');
    expect(chooseAgent([agent('a', 3), agent('b', 3)], 3)).toBeNull();
    expect(chooseAgent([agent('a', 1), agent('b', 1, { skillMatches: 2 }), agent('c', 1, { skillMatches: 1 })], 20)?.id).toBe('b');
    // Skills do not beat a lighter load.
    expect(chooseAgent([agent('a', 0), agent('b', 1, { skillMatches: 3 })], 20)?.id).toBe('a');
    expect(chooseAgent([agent('a', 1, { resolved: 10, succeeded: 5 }), agent('b', 1, { resolved: 10, succeeded: 9 })], 20)?.id).toBe('b');
    expect(
      chooseAgent(
        [
          agent('a', 1, { lastAssignedAt: new Date(2000) }),
          agent('b', 1, { lastAssignedAt: new Date(1000) }),
          agent('c', 1, { lastAssignedAt: new Date(3000) }),
        ],
        20,
      )?.id,
    ).toBe('b');
    expect(chooseAgent([agent('a', 1, { lastAssignedAt: new Date(2000) }), agent('b', 1)], 20)?.id).toBe('b');
  });

  it('smooths the success rate: no history is 0.5', () => {
    expect(successRate({ resolved: 0, succeeded: 0 })).toBe(0.5);
    expect(successRate({ resolved: 8, succeeded: 8 })).toBe(0.9);
  });
});

describe('ticket settings', () => {
  it('have the reference defaults', () => {
    const config = loadConfig({});
    expect(config.tickets).toMatchObject({
      categories: DEFAULT_TICKET_CATEGORIES,
      sla: DEFAULT_SLA,
      calendar: null,
      reopenWindowDays: 7,
      agentLimit: 20,
      sweepEveryMs: 30_000,
    });
    expect(DEFAULT_SLA).toEqual({
      URGENT: { firstResponseMinutes: 5, resolutionMinutes: 60 },
      HIGH: { firstResponseMinutes: 30, resolutionMinutes: 240 },
      NORMAL: { firstResponseMinutes: 60, resolutionMinutes: 1440 },
      LOW: { firstResponseMinutes: 120, resolutionMinutes: 2880 },
    });
  });

  it('take overrides: categories, SLA per priority (any case, others kept), business hours in BUSINESS_TZ', () => {
    expect(parseTicketCategories('{"发票": "order"}')).toEqual({ 发票: 'order' });
    expect(parseSlaPolicy('{"urgent": {"firstResponse": 10}}').URGENT).toEqual({ firstResponseMinutes: 10, resolutionMinutes: 60 });
    expect(parseSlaPolicy('{"urgent": {"firstResponse": 10}}').LOW).toEqual(DEFAULT_SLA.LOW);
    const config = loadConfig({ BUSINESS_TZ: 'Europe/Berlin', TICKET_BUSINESS_HOURS: '{"hours": "08:00-16:00"}', TICKET_AGENT_LIMIT: '3' });
    expect(config.tickets.calendar && describeCalendar(config.tickets.calendar)).toMatchObject({
      hours: ['08:00-16:00'],
      zone: 'Europe/Berlin',
    });
    expect(config.tickets.agentLimit).toBe(3);
  });

  it.each([
    ['TICKET_CATEGORIES', '[1]'],
    ['TICKET_CATEGORIES', '{"x": "Not A Code"}'],
    ['TICKET_SLA', '{"asap": {"firstResponse": 1}}'],
    ['TICKET_SLA', '{"high": {"firstResponse": 300, "resolution": 60}}'],
    ['TICKET_SLA', '{"high": {"firstResponse": 0}}'],
    ['TICKET_SLA', 'nope'],
    ['TICKET_BUSINESS_HOURS', '{"hours": "18:00-09:00"}'],
    ['TICKET_REOPEN_WINDOW_DAYS', '0'],
    ['TICKET_AGENT_LIMIT', 'many'],
  ])('refuse %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });
});
