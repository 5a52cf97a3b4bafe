import { DateTime } from 'luxon';
import { ServicePriority } from '../../src/modules/conversations/queue-policy';
import { parseCalendar } from '../../src/modules/tickets/sla';
import { computeDue } from '../../src/modules/tickets/ticket-common';
import { Ticket } from '../../src/modules/tickets/ticket.entity';
import { DEFAULT_SLA, TicketSettings } from '../../src/modules/tickets/ticket.settings';

const SH = 'Asia/Shanghai';
const at = (iso: string) => DateTime.fromISO(iso, { zone: SH }).toJSDate();
const local = (d: Date) => DateTime.fromJSDate(d, { zone: SH }).toFormat("yyyy-MM-dd'T'HH:mm");

/**
 * The due times escalation and reopening set (computeDue, as ticket-workflow calls it), at fixed instants under
 * a business calendar: Mon–Fri 09:00–12:00 and 13:00–18:00 in Shanghai, Sunday 2026-09-27 worked, the National
 * Day holidays off. Every expected instant is counted by hand in the comments, not computed by the code under test.
 */
const settings: TicketSettings = {
  categories: {},
  sla: { ...DEFAULT_SLA, [ServicePriority.HIGH]: { firstResponseMinutes: 30, resolutionMinutes: 240 } },
  calendar: parseCalendar(
    {
      weekdays: [1, 2, 3, 4, 5],
      hours: ['09:00-12:00', '13:00-18:00'],
      holidays: ['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'],
      workdays: ['2026-09-27'],
    },
    SH,
  ),
  reopenWindowDays: 7,
  agentLimit: 20,
  sweepEveryMs: 30_000,
};

function ticketAt(created: string, priority: ServicePriority): Ticket {
  const t = new Ticket();
  t.createdAt = at(created);
  t.resolutionStartedAt = at(created);
  t.priority = priority;
  computeDue(settings, t, { firstResponse: true, resolution: true });
  return t;
}

describe('SLA due times at fixed instants under a business calendar', () => {
  it('escalation NORMAL → HIGH late on a Friday counts from the creation, over the weekend to the worked Sunday', () => {
    const t = ticketAt('2026-09-25T17:50', ServicePriority.NORMAL); // Friday
    t.priority = ServicePriority.HIGH;
    computeDue(settings, t, { firstResponse: true, resolution: true });
    // First response, 30 min: 10 on Friday (17:50–18:00), 20 on Sunday the 27th (a workday) → 09:20; warned at 24 → 09:14.
    expect(local(t.firstResponseDueAt)).toBe('2026-09-27T09:20');
    expect(local(t.firstResponseWarnAt)).toBe('2026-09-27T09:14');
    // Resolution, 240 min: 10 on Friday, 180 on Sunday morning, 50 after lunch → 13:50; warned at 192 → 13:02.
    expect(local(t.resolutionDueAt)).toBe('2026-09-27T13:50');
    expect(local(t.resolutionWarnAt)).toBe('2026-09-27T13:02');
    expect(t.priorityRank).toBe(1);
    expect(t.nextDueAt).toEqual(t.firstResponseDueAt); // no first response yet, and it is due first
  });

  it('a ticket reopened on the eve of the National Day holidays is due after them; the first response stays answered', () => {
    const t = ticketAt('2026-09-28T10:00', ServicePriority.HIGH); // Monday
    t.firstResponseAt = at('2026-09-28T10:05');
    const answeredDue = t.firstResponseDueAt;
    // Reopened Wednesday 2026-09-30 at 17:00: the resolution clock starts again then.
    t.resolutionStartedAt = at('2026-09-30T17:00');
    computeDue(settings, t, { firstResponse: false, resolution: true });
    // 240 min: 60 on Wednesday (17:00–18:00); Oct 1–7 off (holidays and the weekend); 180 on Thursday Oct 8 morning
    // → 12:00; warned at 192: 60 + 132 → Thursday 11:12.
    expect(local(t.resolutionDueAt)).toBe('2026-10-08T12:00');
    expect(local(t.resolutionWarnAt)).toBe('2026-10-08T11:12');
    expect(t.firstResponseDueAt).toEqual(answeredDue);
    expect(t.nextDueAt).toEqual(t.resolutionDueAt); // the first response is done: the resolution orders the queue
  });
});
