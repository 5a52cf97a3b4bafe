import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import type { RequestScope } from '../../platform/request-scope';
import { Role } from '../../platform/auth/roles';
import { managesDepartment, withRole } from '../../platform/auth/scope';
import { addDays, datesBetween, shiftInterval, startOfBusinessDate } from '../../platform/clock';
import { lockAgents } from '../../platform/db/agent-locks';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import type { AuditService } from '../audit/audit.service';
import type { BusinessCalendar } from '../tickets/sla';
import { AssignMode } from '../scheduling/schedule.inputs';
import type { LeaveLookup, ScheduleService } from '../scheduling/schedule.service';
import { Shift } from '../scheduling/shift.entity';
import { solveMip } from './highs-solver';
import { shiftCoverage, StoredUnmet, unmetCoverage } from './roster-shortfall';
import { assignAgents, buildLp, coverageOf, DEFAULT_WEIGHTS, KeptShift, RosterOption, RosterProblem } from './roster-model';
import { checkForecastRange, ForecastService } from './forecast.service';
import type { StaffingPlanService } from './staffing-plan.service';
import { ApplyScheduleProposalPayload, ProposeScheduleOptions, ScheduleProposal } from './staffing.inputs';
import { DEFAULT_INTERVAL_MINUTES, MAX_PROPOSAL_DAYS, StaffingSettings } from './staffing.settings';

interface StoredResult {
  assignments: ScheduleProposal['assignments'];
  removedScheduleIds?: string[];
  unmet: StoredUnmet;
  requiredAgentIntervals: number;
  coveredAgentIntervals: number;
  solverStatus: string;
  solveSeconds: number;
}

interface ProposalRow {
  id: string;
  department_id: string;
  from_date: string;
  to_date: string;
  status: string;
  basis: string;
  result: StoredResult;
  created_at: string | Date;
  applied_at: string | Date | null;
}

/**
 * proposeSchedule and applyScheduleProposal. A proposal adds schedules for existing shift types to the
 * department's agents; schedules that already exist are kept (they cover what they cover and count towards
 * every rule), unless `replaceExisting` lets it replace those of the range that took part in no swap (removed
 * through removeSchedules when it is applied). It is stored with a digest of the department's schedules when
 * it was computed, and applied only while that digest still holds, through assignSchedules (ALL_OR_NOTHING),
 * once, in one transaction.
 */
export class ProposalService {
  constructor(
    private readonly forecasts: ForecastService,
    private readonly plans: StaffingPlanService,
    private readonly schedules: ScheduleService,
    private readonly leave: LeaveLookup,
    private readonly audit: AuditService,
    private readonly settings: StaffingSettings,
    private readonly businessTz: string,
    private readonly calendar: BusinessCalendar | null,
  ) {}

  async propose(
    scope: RequestScope,
    departmentId: string,
    from: string,
    to: string,
    options: ProposeScheduleOptions = {},
  ): Promise<ScheduleProposal> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const intervalMinutes = options.intervalMinutes ?? DEFAULT_INTERVAL_MINUTES;
    const range = { departmentId, from, to, intervalMinutes };
    checkForecastRange(range, MAX_PROPOSAL_DAYS);
    const weights = {
      ...DEFAULT_WEIGHTS,
      understaffing: options.understaffingWeight ?? DEFAULT_WEIGHTS.understaffing,
      overstaffing: options.overstaffingWeight ?? DEFAULT_WEIGHTS.overstaffing,
    };
    if (!(weights.understaffing > 0 && weights.overstaffing >= 0 && weights.understaffing < 1e6 && weights.overstaffing < 1e6)) {
      throw new InvalidInput('options', 'weights must be 0 or more (understaffing above 0) and below 1,000,000');
    }
    const em = scope.em;
    await this.forecasts.department(em, viewer, departmentId);
    const shifts = await em.find(
      Shift,
      { archived: false, $or: [{ departmentId }, { departmentId: null }] },
      { orderBy: { startTime: 'asc', code: 'asc' } },
    );
    if (!shifts.length) {
      throw new InvalidInput('departmentId', 'the department has no shift types to schedule: create shifts for it (createShift) first');
    }
    const agents = await em.find(User, { departmentId, role: Role.AGENT, active: true }, { orderBy: { id: 'asc' } });
    const plan = await this.plans.compute(em, range, this.plans.target({}));
    const required = plan.intervals.map((i) => i.agentsRequired);
    const firstSlot = plan.intervals[0].startsAt.getTime();
    const dates = datesBetween(from, to);

    // Kept schedules from the Monday before `from` to the Sunday after `to`: they count for the weekly rules.
    const windowFrom = mondayOf(addDays(from, -1));
    const windowTo = addDays(mondayOf(addDays(to, 1)), 7);
    const { kept, basis, replaceable } = await this.keptSchedules(em, departmentId, agents, {
      from,
      to,
      windowFrom,
      windowTo,
      replace: options.replaceExisting ?? false,
    });
    const leave = agents.length
      ? await this.leave.approvedLeave(
          em,
          agents.map((a) => a.id),
          startOfBusinessDate(from, this.businessTz),
          startOfBusinessDate(addDays(to, 2), this.businessTz),
        )
      : new Map();
    const preference = new Map((options.preferences ?? []).map((p) => [`${p.agentId}_${p.shiftId}`, p.prefer ? 1 : -1]));

    const options_: RosterOption[] = [];
    agents.forEach((agent, a) => {
      dates.forEach((date, day) => {
        shifts.forEach((shift, s) => {
          if (shift.requiredSkills.some((k) => !agent.skills.includes(k))) return;
          const { startsAt, endsAt } = shiftInterval(date, shift.startTime, shift.endTime, this.businessTz);
          const onLeave = (leave.get(agent.id) ?? []).some((l: { start: Date; end: Date }) => l.start < endsAt && startsAt < l.end);
          if (onLeave) return;
          options_.push({
            agent: a,
            day,
            shift: s,
            start: startsAt.getTime(),
            end: endsAt.getTime(),
            night: shift.overnight || shift.startTime < '06:00',
            weekend: this.isWeekend(date),
            preference: preference.get(`${agent.id}_${shift.id}`) ?? 0,
          });
        });
      });
    });
    const problem: RosterProblem = {
      firstSlot,
      slotMinutes: intervalMinutes,
      required,
      agentCount: agents.length,
      weekOf: (day) => Math.floor(daysFrom(windowFrom, addDays(from, day)) / 7),
      options: options_,
      kept,
      rules: {
        minRestHours: this.settings.minRestHours,
        maxDaysPerWeek: this.settings.maxDaysPerWeek,
        maxWeeklyHours: this.settings.maxWeeklyHours,
      },
      weights,
    };

    const built = buildLp(problem);
    const solved = built.groups.size
      ? await solveMip(built.lp, { timeLimitSeconds: this.settings.proposalTimeLimitSeconds, prefix: 'y' })
      : { status: 'OPTIMAL', objective: 0, values: new Map<string, number>(), seconds: 0 };
    const counts = new Map([...solved.values].map(([name, v]) => [name.slice(1), Math.round(v)]));
    const chosen = assignAgents(problem, built, counts);
    const cover = coverageOf(problem, chosen);

    const result: StoredResult = {
      assignments: chosen
        .map((o) => ({ agentId: agents[o.agent].id, date: dates[o.day], shiftId: shifts[o.shift].id, shiftCode: shifts[o.shift].code }))
        .sort((x, y) => x.date.localeCompare(y.date) || x.shiftCode.localeCompare(y.shiftCode) || x.agentId.localeCompare(y.agentId)),
      removedScheduleIds: replaceable,
      unmet: unmetCoverage(problem, cover, plan.intervals, shiftCoverage(problem, shifts, dates, this.businessTz)),
      requiredAgentIntervals: required.reduce((s, r) => s + r, 0),
      coveredAgentIntervals: required.reduce((s, r, i) => s + Math.min(r, cover[i]), 0),
      solverStatus: solved.status,
      solveSeconds: Math.round(solved.seconds * 1000) / 1000,
    };
    const id = randomUUID();
    await inTransaction(em, async (tx) => {
      await tx.execute(
        `INSERT INTO schedule_proposals (id, department_id, from_date, to_date, basis, result, created_by_id) VALUES (?, ?, ?, ?, ?, ?::jsonb, ?)`,
        [id, departmentId, from, to, basis, JSON.stringify(result), viewer.id],
      );
      this.audit.record(tx, scope, {
        action: 'schedule_proposal.create',
        targetType: 'ScheduleProposal',
        targetId: id,
        summary: `Proposed ${result.assignments.length} schedules for ${from}…${to} (coverage ${result.coveredAgentIntervals}/${result.requiredAgentIntervals})`,
      });
      await tx.flush();
    });
    return this.get(scope, id);
  }

  async get(scope: RequestScope, id: string): Promise<ScheduleProposal> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const row = await findProposal(scope.em, id, false);
    if (!managesDepartment(viewer, row.department_id)) throw new Forbidden('Managers see their own department’s proposals only');
    return toProposal(row);
  }

  async apply(scope: RequestScope, id: string): Promise<ApplyScheduleProposalPayload> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return inTransaction(scope.em, async (em) => {
      const row = await findProposal(em, id, true);
      if (!managesDepartment(viewer, row.department_id)) throw new Forbidden('Managers apply their own department’s proposals only');
      if (row.status === 'APPLIED') throw new Conflict(ConflictReason.ALREADY_APPLIED, 'This proposal has already been applied');
      const agents = await em.find(User, { departmentId: row.department_id, role: Role.AGENT, active: true }, { orderBy: { id: 'asc' } });
      await lockAgents(
        em,
        agents.map((a) => a.id),
      );
      const windowFrom = mondayOf(addDays(row.from_date, -1));
      const windowTo = addDays(mondayOf(addDays(row.to_date, 1)), 7);
      const { basis } = await this.keptSchedules(em, row.department_id, agents, {
        from: row.from_date,
        to: row.to_date,
        windowFrom,
        windowTo,
        replace: false,
      });
      if (basis !== row.basis)
        throw new Conflict(ConflictReason.STALE_PROPOSAL, 'The department’s schedules changed since this proposal was made; propose again');

      const groups = new Map<string, { shiftId: string; date: string; agentIds: string[] }>();
      for (const a of row.result.assignments) {
        const key = `${a.shiftId}_${a.date}`;
        const g = groups.get(key) ?? { shiftId: a.shiftId, date: a.date, agentIds: [] };
        g.agentIds.push(a.agentId);
        groups.set(key, g);
      }
      const removed = row.result.removedScheduleIds ?? [];
      if (removed.length) await this.schedules.remove({ ...scope, em }, removed);
      let createdCount = 0;
      for (const g of groups.values()) {
        const out = await this.schedules.assign(
          { ...scope, em },
          { shiftId: g.shiftId, agentIds: g.agentIds, dates: [g.date], mode: AssignMode.ALL_OR_NOTHING },
        );
        if (out.conflicts.length)
          throw new Conflict(ConflictReason.SCHEDULE_CONFLICTS, 'The proposal no longer fits the schedules; nothing was written', {
            conflicts: out.conflicts,
          });
        createdCount += out.createdCount;
      }
      await em.execute(`UPDATE schedule_proposals SET status = 'APPLIED', applied_at = now(), applied_by_id = ? WHERE id = ?`, [
        viewer.id,
        row.id,
      ]);
      this.audit.record(em, scope, {
        action: 'schedule_proposal.apply',
        targetType: 'ScheduleProposal',
        targetId: row.id,
        summary: `Applied: ${createdCount} schedules (${removed.length} replaced) for ${row.from_date}…${row.to_date}`,
      });
      await em.flush();
      return { proposal: toProposal(await findProposal(em, row.id, false)), createdCount };
    });
  }

  /**
   * The department's agents' schedules in the window as kept shifts, and a digest of them all (the proposal's
   * basis). With `replace`, NORMAL schedules of the range that took part in no swap are not kept but returned
   * as replaceable.
   */
  private async keptSchedules(
    em: EntityManager,
    departmentId: string,
    agents: User[],
    w: { from: string; to: string; windowFrom: string; windowTo: string; replace: boolean },
  ) {
    const rows = await em.execute<
      Array<{
        id: string;
        agent_id: string;
        date: string;
        starts_at: string | Date;
        ends_at: string | Date;
        status: string;
        swapped: boolean;
      }>
    >(
      `SELECT s.id, s.agent_id, to_char(s.date, 'YYYY-MM-DD') AS date, s.starts_at, s.ends_at, s.status,
              (s.replaced_by_id IS NOT NULL OR s.replacing_id IS NOT NULL OR EXISTS (SELECT 1 FROM swap_steps st WHERE st.schedule_id = s.id)) AS swapped
         FROM schedules s JOIN users u ON u.id = s.agent_id
        WHERE u.department_id = ? AND s.date >= ? AND s.date < ?
        ORDER BY s.id`,
      [departmentId, w.windowFrom, w.windowTo],
    );
    const index = new Map(agents.map((a, i) => [a.id, i]));
    const replaceable = w.replace
      ? rows.filter((r) => r.status === 'NORMAL' && !r.swapped && r.date >= w.from && r.date <= w.to).map((r) => r.id)
      : [];
    const replaced = new Set(replaceable);
    const kept: KeptShift[] = rows
      .filter((r) => r.status === 'NORMAL' && index.has(r.agent_id) && !replaced.has(r.id))
      .map((r) => ({
        agent: index.get(r.agent_id)!,
        day: daysFrom(w.from, r.date),
        start: new Date(r.starts_at).getTime(),
        end: new Date(r.ends_at).getTime(),
      }));
    const basis =
      rows.map((r) => `${r.id}:${r.status}:${new Date(r.starts_at).toISOString()}`).join(',') +
      `|agents:${agents.map((a) => a.id).join(',')}`;
    return { kept, replaceable, basis: createHash('sha256').update(basis).digest('hex') };
  }

  private isWeekend(date: string): boolean {
    if (this.calendar?.holidays.has(date)) return true;
    if (this.calendar?.workdays.has(date)) return false;
    return DateTime.fromISO(date, { zone: 'UTC' }).weekday >= 6;
  }
}

async function findProposal(em: EntityManager, id: string, lock: boolean): Promise<ProposalRow> {
  const [row] = isUuid(id)
    ? await em.execute<ProposalRow[]>(
        `SELECT id, department_id, to_char(from_date, 'YYYY-MM-DD') AS from_date, to_char(to_date, 'YYYY-MM-DD') AS to_date, status, basis, result, created_at, applied_at
           FROM schedule_proposals WHERE id = ?${lock ? ' FOR UPDATE' : ''}`,
        [id],
      )
    : [];
  if (!row) throw new NotFound('Schedule proposal', id);
  return row;
}

function toProposal(row: ProposalRow): ScheduleProposal {
  const r = row.result;
  return {
    id: row.id,
    departmentId: row.department_id,
    from: row.from_date,
    to: row.to_date,
    status: row.status,
    assignments: r.assignments,
    removedScheduleIds: r.removedScheduleIds ?? [],
    unmet: r.unmet.map((u) => ({ ...u, startsAt: new Date(u.startsAt), endsAt: new Date(u.endsAt) })),
    requiredAgentIntervals: r.requiredAgentIntervals,
    coveredAgentIntervals: r.coveredAgentIntervals,
    coverage: r.requiredAgentIntervals ? Math.round((r.coveredAgentIntervals / r.requiredAgentIntervals) * 10000) / 10000 : 1,
    solverStatus: r.solverStatus,
    solveSeconds: r.solveSeconds,
    createdAt: new Date(row.created_at),
    appliedAt: row.applied_at ? new Date(row.applied_at) : null,
  };
}

function mondayOf(date: string): string {
  return DateTime.fromISO(date, { zone: 'UTC' }).startOf('week').toISODate()!;
}

function daysFrom(from: string, date: string): number {
  return Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
