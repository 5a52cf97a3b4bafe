import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF, Viewer } from '../../platform/auth/roles';
import { departmentScope, managesDepartment, withRole } from '../../platform/auth/scope';
import { isBusinessDate, shiftInterval } from '../../platform/clock';
import { pgArray } from '../../platform/db/arrays';
import { lockAgents } from '../../platform/db/agent-locks';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import type { AuditService } from '../audit/audit.service';
import { Schedule, ScheduleStatus } from './schedule.entity';
import {
  AssignMode,
  AssignSchedulesInput,
  AssignSchedulesPayload,
  MAX_SCHEDULES_PER_CALL,
  ScheduleConflict,
  ScheduleConflictReason,
  ScheduleFilter,
} from './schedule.inputs';
import { checkRange, outputSchedule, SCHEDULE_COLUMNS, scheduleFromRow, ScheduleRow } from './schedule-rows';
import { Shift } from './shift.entity';
import { findShift } from './shift.service';

/** Tells whether agents are on approved leave at given instants; provided by the leave module. */
export interface LeaveLookup {
  /** For each agent, the approved-leave intervals intersecting [from, to). */
  approvedLeave(em: EntityManager, agentIds: string[], from: Date, to: Date): Promise<Map<string, Array<{ start: Date; end: Date }>>>;
}

interface Candidate {
  id: string;
  agentId: string;
  date: string;
  startsAt: Date;
  endsAt: Date;
}

/** Thrown inside the transaction to roll it back when ALL_OR_NOTHING meets a conflict raised by a concurrent writer. */
class RollBack extends Error {
  constructor(readonly conflicts: ScheduleConflict[]) {
    super('rolled back');
  }
}

export class ScheduleService {
  constructor(
    private readonly audit: AuditService,
    private readonly leave: LeaveLookup,
    private readonly businessTz: string,
  ) {}

  /**
   * Schedules agents for a shift on business dates, in one transaction. Conflicts are found up front; the
   * exclusion constraint `schedules_no_overlap` is the final arbiter against concurrent writers: rows it
   * refuses become OVERLAP conflicts too, never a 500.
   */
  async assign(scope: RequestScope, input: AssignSchedulesInput): Promise<AssignSchedulesPayload> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const dates = [...new Set(input.dates)].sort();
    const badDates = dates.filter((d) => !isBusinessDate(d));
    if (badDates.length) throw new InvalidInput('dates', `must be real dates YYYY-MM-DD (not ${badDates.slice(0, 3).join(', ')})`);
    const agentIds = [...new Set(input.agentIds)];
    const badIds = agentIds.filter((id) => !isUuid(id));
    if (badIds.length) throw new InvalidInput('agentIds', `contains unknown agents: ${badIds.slice(0, 3).join(', ')}`);
    if (agentIds.length * dates.length > MAX_SCHEDULES_PER_CALL) {
      throw new InvalidInput('dates', `agents × dates must be at most ${MAX_SCHEDULES_PER_CALL} per call`);
    }

    const shift = await findShift(scope.em, input.shiftId);
    if (shift.archived) throw new InvalidInput('shiftId', 'is an archived shift');
    if (!managesDepartment(viewer, shift.departmentId) && !(shift.departmentId === null && viewer.role === Role.MANAGER)) {
      throw new Forbidden('This shift belongs to another department');
    }

    const agents = await scope.em.find(User, { id: { $in: agentIds }, role: { $in: [Role.AGENT, Role.MANAGER] } });
    if (agents.length !== agentIds.length) {
      const found = new Set(agents.map((a) => a.id));
      throw new InvalidInput(
        'agentIds',
        `contains unknown agents: ${agentIds
          .filter((id) => !found.has(id))
          .slice(0, 3)
          .join(', ')}`,
      );
    }

    const conflicts: ScheduleConflict[] = [];
    const eligible: User[] = [];
    for (const agent of agents) {
      const reason = agentProblem(viewer, agent, shift);
      if (reason) for (const date of dates) conflicts.push({ agentId: agent.id, date, ...reason });
      else eligible.push(agent);
    }

    // The interval depends on the date only: computed once per date, not once per agent and date.
    const intervals = dates.map((date) => ({ date, ...shiftInterval(date, shift.startTime, shift.endTime, this.businessTz) }));
    const candidates: Candidate[] = [];
    for (const agent of eligible) {
      for (const interval of intervals) candidates.push({ id: randomUUID(), agentId: agent.id, ...interval });
    }

    try {
      return await inTransaction(scope.em, async (em) => {
        // Before reading their leave and schedules: a leave approval or swap for them waits, or is seen.
        await lockAgents(
          em,
          eligible.map((a) => a.id),
        );
        const clear = await this.withoutConflicts(em, candidates, conflicts);
        if (input.mode === AssignMode.ALL_OR_NOTHING && conflicts.length)
          return { created: [], createdCount: 0, conflicts: sortConflicts(conflicts) };

        const inserted = await insertSchedules(em, clear, shift.id, viewer.id);
        const refused = clear.filter((c) => !inserted.has(c.id));
        if (refused.length) {
          // A concurrent writer got there between our check and our insert.
          const raced = await this.overlapConflicts(em, refused);
          if (input.mode === AssignMode.ALL_OR_NOTHING) throw new RollBack(sortConflicts([...conflicts, ...raced]));
          conflicts.push(...raced);
        }
        const created = clear.filter((c) => inserted.has(c.id)).map((c) => toSchedule(c, shift.id, viewer.id));
        if (created.length) {
          this.audit.record(em, scope, {
            action: 'schedule.assign',
            targetType: 'Shift',
            targetId: shift.id,
            summary: `Scheduled ${created.length} × ${shift.code} (${eligible.length} agents, ${dates[0]}…${dates[dates.length - 1]})`,
          });
          await em.flush();
        }
        return { created, createdCount: created.length, conflicts: sortConflicts(conflicts) };
      });
    } catch (err) {
      if (err instanceof RollBack) return { created: [], createdCount: 0, conflicts: err.conflicts };
      throw err;
    }
  }

  /** Removes schedules in the caller's scope; a schedule that took part in a swap is kept (CONFLICT). */
  async remove(scope: RequestScope, ids: string[]): Promise<string[]> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    if (!ids.length) throw new InvalidInput('ids', 'must name at least one schedule');
    if (ids.some((id) => !isUuid(id))) throw new InvalidInput('ids', 'contains an id that is not a schedule');
    return inTransaction(scope.em, async (em) => {
      // The agents' locks first (a schedule never changes agent), like every other writer of schedules.
      const owners: Array<{ agent_id: string }> = await em.execute(`SELECT DISTINCT agent_id FROM schedules WHERE id = ANY(?::uuid[])`, [
        pgArray(ids),
      ]);
      await lockAgents(
        em,
        owners.map((o) => o.agent_id),
      );
      const schedules = await em.find(Schedule, { id: { $in: ids } }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (schedules.length !== new Set(ids).size) {
        const found = new Set(schedules.map((s) => s.id));
        throw new NotFound(
          'Schedule',
          ids.find((id) => !found.has(id)),
        );
      }
      const agents = await em.find(
        User,
        { id: { $in: [...new Set(schedules.map((s) => s.agentId))] } },
        { fields: ['id', 'departmentId'] },
      );
      const departmentOf = new Map(agents.map((a) => [a.id, a.departmentId]));
      for (const s of schedules) {
        if (!managesDepartment(viewer, departmentOf.get(s.agentId) ?? null))
          throw new Forbidden('A schedule belongs to another department');
        if (s.replacedById || s.replacingId)
          throw new Conflict(ConflictReason.KEPT_FOR_RECORD, `Schedule ${s.id} took part in a swap and is kept for the record`);
      }
      // Swap requests (of any status) keep the schedules they name.
      const [named]: Array<{ schedule_id: string }> = await em.execute(
        `SELECT schedule_id FROM swap_steps WHERE schedule_id = ANY(?::uuid[]) LIMIT 1`,
        [pgArray(schedules.map((s) => s.id))],
      );
      if (named)
        throw new Conflict(
          ConflictReason.KEPT_FOR_RECORD,
          `Schedule ${named.schedule_id} is named in a swap request and is kept for the record`,
        );
      for (const s of schedules) {
        this.audit.record(em, scope, {
          action: 'schedule.remove',
          targetType: 'Schedule',
          targetId: s.id,
          summary: `Removed the schedule of ${s.agentId} on ${s.date}`,
        });
        em.remove(s);
      }
      await em.flush();
      return schedules.map((s) => s.id);
    });
  }

  /** Agents read their own; managers their department's; admins everyone's. */
  async list(scope: RequestScope, filter: ScheduleFilter): Promise<Schedule[]> {
    const viewer = withRole(scope.viewer, ...STAFF);
    checkRange(filter.from, filter.to);
    const where: FilterQuery<Schedule> = { date: { $gte: filter.from, $lte: filter.to } };
    if (filter.status) where.status = filter.status;
    if (viewer.role === Role.AGENT) {
      if ((filter.agentId && filter.agentId !== viewer.id) || (filter.departmentId && filter.departmentId !== viewer.departmentId)) {
        throw new Forbidden('Agents read their own schedules only');
      }
      where.agentId = viewer.id;
    } else {
      const department = departmentScope(viewer, filter.departmentId);
      const agentIds = department ? await agentIdsOf(scope.em, department) : null;
      if (filter.agentId) {
        if (agentIds && !agentIds.includes(filter.agentId)) throw new Forbidden('Managers see their own department only');
        where.agentId = filter.agentId;
      } else if (agentIds) {
        where.agentId = { $in: agentIds };
      }
    }
    return scope.em.find(Schedule, where, { orderBy: { startsAt: 'asc', agentId: 'asc' } });
  }

  /**
   * Moves candidates that clash with what the database holds (or with approved leave) into `conflicts`
   * and returns the rest. One query for all agents' existing schedules in the window.
   */
  private async withoutConflicts(em: EntityManager, candidates: Candidate[], conflicts: ScheduleConflict[]): Promise<Candidate[]> {
    if (!candidates.length) return [];
    const from = new Date(Math.min(...candidates.map((c) => c.startsAt.getTime())));
    const to = new Date(Math.max(...candidates.map((c) => c.endsAt.getTime())));
    const agentIds = [...new Set(candidates.map((c) => c.agentId))];
    const existing = await existingSchedules(em, agentIds, from, to);
    const leave = await this.leave.approvedLeave(em, agentIds, from, to);
    const clear: Candidate[] = [];
    for (const c of candidates) {
      const onLeave = (leave.get(c.agentId) ?? []).some((l: { start: Date; end: Date }) => overlaps(c.startsAt, c.endsAt, l.start, l.end));
      if (onLeave) {
        conflicts.push({
          agentId: c.agentId,
          date: c.date,
          reason: ScheduleConflictReason.ON_LEAVE,
          message: 'The agent is on approved leave then',
        });
        continue;
      }
      const clash = (existing.get(c.agentId) ?? []).find((e) => overlaps(c.startsAt, c.endsAt, e.startsAt, e.endsAt));
      if (clash) {
        conflicts.push({
          agentId: c.agentId,
          date: c.date,
          reason: ScheduleConflictReason.OVERLAP,
          message: `Overlaps the schedule of ${clash.date} (${clash.startsAt.toISOString()} – ${clash.endsAt.toISOString()})`,
          existingSchedule: clash,
        });
        continue;
      }
      clear.push(c);
    }
    return clear;
  }

  private async overlapConflicts(em: EntityManager, refused: Candidate[]): Promise<ScheduleConflict[]> {
    const from = new Date(Math.min(...refused.map((c) => c.startsAt.getTime())));
    const to = new Date(Math.max(...refused.map((c) => c.endsAt.getTime())));
    const existing = await existingSchedules(em, [...new Set(refused.map((c) => c.agentId))], from, to);
    return refused.map((c) => {
      const clash = (existing.get(c.agentId) ?? []).find((e) => overlaps(c.startsAt, c.endsAt, e.startsAt, e.endsAt)) ?? null;
      return {
        agentId: c.agentId,
        date: c.date,
        reason: ScheduleConflictReason.OVERLAP,
        message: 'Overlaps a schedule written at the same moment by someone else',
        existingSchedule: clash,
      };
    });
  }
}

function agentProblem(viewer: Viewer, agent: User, shift: Shift): { reason: ScheduleConflictReason; message: string } | null {
  if (!managesDepartment(viewer, agent.departmentId)) {
    return { reason: ScheduleConflictReason.OUT_OF_SCOPE, message: 'The agent belongs to another department' };
  }
  if (shift.departmentId && agent.departmentId !== shift.departmentId) {
    return { reason: ScheduleConflictReason.OUT_OF_SCOPE, message: "The shift belongs to another department than the agent's" };
  }
  if (!agent.active) return { reason: ScheduleConflictReason.INACTIVE_AGENT, message: 'The agent is deactivated' };
  const missing = shift.requiredSkills.filter((s) => !agent.skills.includes(s));
  if (missing.length) return { reason: ScheduleConflictReason.MISSING_SKILL, message: `The agent lacks ${missing.join(', ')}` };
  return null;
}

/** Active (not swapped-out) schedules of `agentIds` that intersect [from, to), by agent. */
async function existingSchedules(em: EntityManager, agentIds: string[], from: Date, to: Date): Promise<Map<string, Schedule[]>> {
  const rows: ScheduleRow[] = await em.execute(
    `SELECT ${SCHEDULE_COLUMNS}
       FROM schedules s
      WHERE s.agent_id = ANY(?::uuid[]) AND s.status <> 'SWAPPED_OUT' AND s.period && tstzrange(?, ?, '[)')`,
    [pgArray(agentIds), from, to],
  );
  const byAgent = new Map<string, Schedule[]>();
  for (const r of rows) {
    const s = scheduleFromRow(r);
    const list = byAgent.get(r.agent_id) ?? [];
    list.push(s);
    byAgent.set(r.agent_id, list);
  }
  return byAgent;
}

/**
 * One multi-row INSERT (rows sent as one JSON parameter). ON CONFLICT DO NOTHING lets the exclusion
 * constraint refuse overlapping rows one by one instead of failing the statement; RETURNING says which
 * rows went in.
 */
async function insertSchedules(em: EntityManager, rows: Candidate[], shiftId: string, createdById: string): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const now = new Date();
  const inserted: Array<{ id: string }> = await em.execute(
    `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at, status, created_by_id, created_at)
     SELECT id, agent_id, ?::uuid, date, starts_at, ends_at, 'NORMAL', ?::uuid, ?::timestamptz
       FROM jsonb_to_recordset(?::jsonb) AS t(id uuid, agent_id uuid, date date, starts_at timestamptz, ends_at timestamptz)
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [
      shiftId,
      createdById,
      now,
      JSON.stringify(rows.map((r) => ({ id: r.id, agent_id: r.agentId, date: r.date, starts_at: r.startsAt, ends_at: r.endsAt }))),
    ],
  );
  return new Set(inserted.map((r) => r.id));
}

/** A plain object for output: thousands of ORM entity instances would cost more than the insert itself. */
function toSchedule(c: Candidate, shiftId: string, createdById: string): Schedule {
  return outputSchedule({
    id: c.id,
    agentId: c.agentId,
    shiftId,
    date: c.date,
    startsAt: c.startsAt,
    endsAt: c.endsAt,
    status: ScheduleStatus.NORMAL,
    replacedById: null,
    replacingId: null,
    createdById,
    createdAt: new Date(),
  } as Schedule);
}

function overlaps(aStart: Date, aEnd: Date, bStart: Date, bEnd: Date): boolean {
  return aStart < bEnd && bStart < aEnd;
}

function sortConflicts(conflicts: ScheduleConflict[]): ScheduleConflict[] {
  return conflicts.sort((a, b) => (a.date === b.date ? a.agentId.localeCompare(b.agentId) : a.date.localeCompare(b.date)));
}

/** Ids of the staff of a department (hundreds at most). */
export async function agentIdsOf(em: EntityManager, departmentId: string): Promise<string[]> {
  const rows = await em.find(User, { departmentId, role: { $in: [Role.AGENT, Role.MANAGER] } }, { fields: ['id'] });
  return rows.map((r) => r.id);
}
