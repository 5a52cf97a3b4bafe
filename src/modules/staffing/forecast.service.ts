import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { managesDepartment, withRole } from '../../platform/auth/scope';
import { addDays, businessDateOf, datesBetween, isBusinessDate, startOfBusinessDate } from '../../platform/clock';
import { inTransaction } from '../../platform/db/transaction';
import { Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { Department } from '../accounts/department.entity';
import type { AuditService } from '../audit/audit.service';
import type { BusinessCalendar } from '../tickets/sla';
import { fitForecast, HistoryDay, predictDay } from './forecast-model';
import { ForecastOverride } from './staffing.entity';
import { MAX_OVERRIDE_FACTOR, MAX_OVERRIDE_REASON } from './staffing.inputs';
import type { ContactForecast, ForecastInterval } from './staffing.inputs';
import { DEFAULT_HANDLING_SECONDS, intervalProblem, MAX_FORECAST_DAYS, StaffingSettings } from './staffing.settings';

/** Handling time of a weekly slot counts when at least this many chats were measured there. */
const MIN_CHATS_PER_SLOT = 5;

export interface ForecastRange {
  departmentId: string;
  from: string;
  to: string;
  intervalMinutes: number;
}

/**
 * forecastContacts and its overrides. History: conversations (by creation; handling time from assignment to
 * end) and tickets (by creation) of the department over the last FORECAST_HISTORY_WEEKS weeks before the
 * forecast's first day (or today, if earlier). The model is in forecast-model.ts.
 */
export class ForecastService {
  constructor(
    private readonly audit: AuditService,
    private readonly settings: StaffingSettings,
    private readonly businessTz: string,
    private readonly calendar: BusinessCalendar | null,
  ) {}

  async forecast(scope: RequestScope, range: ForecastRange): Promise<ContactForecast> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    checkForecastRange(range);
    await this.department(scope.em, viewer, range.departmentId);
    return this.compute(scope.em, range);
  }

  /** The forecast without the caller's checks (staffingPlan and proposeSchedule have made them). */
  async compute(em: EntityManager, range: ForecastRange): Promise<ContactForecast> {
    const slotsPerDay = 1440 / range.intervalMinutes;
    const slotMs = range.intervalMinutes * 60_000;
    const today = businessDateOf(new Date(), this.businessTz);
    const historyEnd = range.from < today ? range.from : today; // exclusive
    const historyStart = addDays(historyEnd, -7 * this.settings.historyWeeks);
    const origin = startOfBusinessDate(historyStart, this.businessTz);
    const historyDates = datesBetween(historyStart, addDays(historyEnd, -1));
    const endOfHistory = startOfBusinessDate(historyEnd, this.businessTz);

    const [conversations, tickets, handling] = await Promise.all([
      this.counts(em, 'conversations', range.departmentId, origin, endOfHistory, slotMs),
      this.counts(em, 'tickets', range.departmentId, origin, endOfHistory, slotMs),
      this.handling(em, range.departmentId, origin, endOfHistory, slotMs),
    ]);
    // A department younger than the history window learns from its first day with contacts on, not from
    // empty weeks before it existed.
    const slots = [...conversations.keys(), ...tickets.keys()];
    const firstDay = slots.length ? Math.max(0, Math.floor(Math.min(...slots) / slotsPerDay)) : historyDates.length;
    const historyOf = (counts: Map<number, number>): HistoryDay[] =>
      historyDates
        .map((date, day) => ({
          index: day,
          profile: this.profileOf(date),
          excluded: this.calendar?.holidays.has(date) ?? false,
          counts: Array.from({ length: slotsPerDay }, (_, s) => counts.get(day * slotsPerDay + s) ?? 0),
        }))
        .filter((d) => d.index >= firstDay);
    const conversationModel = fitForecast(historyOf(conversations), slotsPerDay);
    const ticketModel = fitForecast(historyOf(tickets), slotsPerDay);

    // Handling time by profile and slot of the day, else the department's mean, else the default.
    const byProfileSlot = new Map<string, { seconds: number; chats: number }>();
    let allSeconds = 0;
    let allChats = 0;
    for (const [slot, h] of handling) {
      const key = `${this.profileOf(historyDates[Math.floor(slot / slotsPerDay)] ?? historyStart)}_${slot % slotsPerDay}`;
      const acc = byProfileSlot.get(key) ?? { seconds: 0, chats: 0 };
      acc.seconds += h.seconds;
      acc.chats += h.chats;
      byProfileSlot.set(key, acc);
      allSeconds += h.seconds;
      allChats += h.chats;
    }
    const meanHandling = allChats ? allSeconds / allChats : DEFAULT_HANDLING_SECONDS;

    const rangeStart = startOfBusinessDate(range.from, this.businessTz);
    const rangeEnd = startOfBusinessDate(addDays(range.to, 1), this.businessTz);
    const overrides = await em.find(ForecastOverride, {
      departmentId: range.departmentId,
      startsAt: { $lt: rangeEnd },
      endsAt: { $gt: rangeStart },
    });

    const intervals: ForecastInterval[] = [];
    for (const date of datesBetween(range.from, range.to)) {
      const index = historyDates.length + daysBetween(historyEnd, date);
      const profile = this.profileOf(date);
      const conv = predictDay(conversationModel, index, profile);
      const tick = predictDay(ticketModel, index, profile);
      const dayStart = startOfBusinessDate(date, this.businessTz).getTime();
      for (let s = 0; s < slotsPerDay; s++) {
        const startsAt = dayStart + s * slotMs;
        const middle = startsAt + slotMs / 2;
        const factor = overrides
          .filter((o) => o.startsAt.getTime() <= middle && middle < o.endsAt.getTime())
          .reduce((f, o) => f * o.factor, 1);
        const measured = byProfileSlot.get(`${profile}_${s}`);
        intervals.push({
          startsAt: new Date(startsAt),
          endsAt: new Date(startsAt + slotMs),
          conversations: round2(conv[s] * factor),
          tickets: round2(tick[s] * factor),
          handlingSeconds: Math.round(measured && measured.chats >= MIN_CHATS_PER_SLOT ? measured.seconds / measured.chats : meanHandling),
          overrideFactor: factor,
        });
      }
    }
    return {
      departmentId: range.departmentId,
      intervalMinutes: range.intervalMinutes,
      method:
        'seasonal regression: weekday × time-of-day profile, multiplicative trend, holidays from the business calendar, spikes left out',
      historyDays: historyDates.length - firstDay,
      weeklyGrowth: round4(Math.exp(conversationModel.growthPerDay * 7) - 1),
      intervals,
    };
  }

  async addOverride(
    scope: RequestScope,
    input: { departmentId: string; from: Date; to: Date; factor: number; reason: string },
  ): Promise<ForecastOverride> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const reason = input.reason.trim();
    const problems = [];
    if (!(input.to > input.from)) problems.push({ field: 'to', message: 'must be after from' });
    else if (input.to.getTime() - input.from.getTime() > MAX_FORECAST_DAYS * 86_400_000)
      problems.push({ field: 'to', message: `must be at most ${MAX_FORECAST_DAYS} days after from` });
    if (!(Number.isFinite(input.factor) && input.factor > 0 && input.factor <= MAX_OVERRIDE_FACTOR)) {
      problems.push({ field: 'factor', message: `must be above 0 and at most ${MAX_OVERRIDE_FACTOR} (3 = three times the forecast)` });
    }
    if (!reason || reason.length > MAX_OVERRIDE_REASON)
      problems.push({ field: 'reason', message: `must be 1–${MAX_OVERRIDE_REASON} characters` });
    if (problems.length) throw new InvalidInput(problems);
    await this.department(scope.em, viewer, input.departmentId);
    return inTransaction(scope.em, async (em) => {
      const row = em.create(ForecastOverride, {
        departmentId: input.departmentId,
        startsAt: input.from,
        endsAt: input.to,
        factor: input.factor,
        reason,
        createdById: viewer.id,
      });
      this.audit.record(em, scope, {
        action: 'forecast.override',
        targetType: 'Department',
        targetId: input.departmentId,
        summary: `Forecast × ${input.factor} from ${input.from.toISOString()} to ${input.to.toISOString()}`,
        comment: reason,
      });
      await em.flush();
      return row;
    });
  }

  async removeOverride(scope: RequestScope, id: string): Promise<string> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return inTransaction(scope.em, async (em) => {
      const row = isUuid(id) ? await em.findOne(ForecastOverride, { id }) : null;
      if (!row) throw new NotFound('Forecast override', id);
      if (!managesDepartment(viewer, row.departmentId)) throw new Forbidden('Managers change their own department’s forecast only');
      this.audit.record(em, scope, {
        action: 'forecast.override_remove',
        targetType: 'Department',
        targetId: row.departmentId,
        summary: `Removed the override × ${row.factor} (${row.reason})`,
      });
      em.remove(row);
      await em.flush();
      return id;
    });
  }

  async overrides(scope: RequestScope, departmentId: string): Promise<ForecastOverride[]> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    await this.department(scope.em, viewer, departmentId);
    return scope.em.find(ForecastOverride, { departmentId }, { orderBy: { startsAt: 'asc', id: 'asc' } });
  }

  /** The department, when it exists and the viewer manages it. */
  async department(em: EntityManager, viewer: Viewer, departmentId: string): Promise<Department> {
    const department = isUuid(departmentId) ? await em.findOne(Department, { id: departmentId }) : null;
    if (!department) throw new NotFound('Department', departmentId);
    if (!managesDepartment(viewer, department.id)) throw new Forbidden('Managers plan their own department only');
    return department;
  }

  /** The weekday whose profile a date follows: holidays that of the first day off, make-up working days Monday's. */
  private profileOf(date: string): number {
    const weekday = DateTime.fromISO(date, { zone: 'UTC' }).weekday;
    if (!this.calendar) return weekday;
    if (this.calendar.holidays.has(date)) return [7, 6, 5, 4, 3, 2, 1].find((d) => !this.calendar!.weekdays.includes(d)) ?? 7;
    if (this.calendar.workdays.has(date)) return this.calendar.weekdays[0] ?? 1;
    return weekday;
  }

  private async counts(
    em: EntityManager,
    table: 'conversations' | 'tickets',
    departmentId: string,
    from: Date,
    to: Date,
    slotMs: number,
  ): Promise<Map<number, number>> {
    const rows = await em.execute<Array<{ slot: number; n: number }>>(
      `SELECT floor(extract(epoch from (created_at - ?::timestamptz)) * 1000 / ?)::int AS slot, count(*)::int AS n
         FROM ${table} WHERE department_id = ? AND created_at >= ? AND created_at < ? GROUP BY 1`,
      [from, slotMs, departmentId, from, to],
    );
    return new Map(rows.map((r) => [r.slot, r.n]));
  }

  /** Per slot of assignment: the chats' summed seconds from assignment to end, and how many. */
  private async handling(
    em: EntityManager,
    departmentId: string,
    from: Date,
    to: Date,
    slotMs: number,
  ): Promise<Map<number, { seconds: number; chats: number }>> {
    const rows = await em.execute<Array<{ slot: number; seconds: number; chats: number }>>(
      `SELECT floor(extract(epoch from (assigned_at - ?::timestamptz)) * 1000 / ?)::int AS slot,
              sum(extract(epoch from (ended_at - assigned_at)))::float AS seconds, count(*)::int AS chats
         FROM conversations
        WHERE department_id = ? AND assigned_at >= ? AND assigned_at < ? AND ended_at IS NOT NULL AND ended_at > assigned_at
        GROUP BY 1`,
      [from, slotMs, departmentId, from, to],
    );
    return new Map(rows.map((r) => [r.slot, { seconds: r.seconds, chats: r.chats }]));
  }
}

/** The checks every forecast-based query shares: dates, at most MAX_FORECAST_DAYS days, an interval dividing a day. */
export function checkForecastRange(range: ForecastRange, maxDays = MAX_FORECAST_DAYS): void {
  const problems = [];
  if (!isBusinessDate(range.from)) problems.push({ field: 'from', message: 'must be a real date YYYY-MM-DD' });
  if (!isBusinessDate(range.to)) problems.push({ field: 'to', message: 'must be a real date YYYY-MM-DD' });
  else if (isBusinessDate(range.from)) {
    if (range.to < range.from) problems.push({ field: 'to', message: 'must not be before from' });
    else if (daysBetween(range.from, range.to) + 1 > maxDays)
      problems.push({ field: 'to', message: `the range must be at most ${maxDays} days` });
  }
  const interval = intervalProblem(range.intervalMinutes);
  if (interval) problems.push({ field: 'intervalMinutes', message: interval });
  if (problems.length) throw new InvalidInput(problems);
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const round4 = (n: number) => Math.round(n * 10000) / 10000;
