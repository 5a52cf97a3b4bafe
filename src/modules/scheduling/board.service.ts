import type { FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../context';
import { Role } from '../../platform/auth/roles';
import { departmentScope, withRole } from '../../platform/auth/scope';
import { addDays, datesBetween } from '../../platform/clock';
import { Forbidden, InvalidInput } from '../../platform/errors';
import type { Viewer } from '../../platform/auth/roles';
import { User } from '../accounts/user.entity';
import type { PresenceService } from '../presence/presence.service';
import { toPresence } from '../presence/presence.service';
import { liveStateOf, ScheduleBoard } from './board.types';
import { checkRange, SCHEDULE_COLUMNS, scheduleFromRow, ScheduleRow } from './schedule.service';
import { Schedule } from './schedule.entity';

export const MAX_BOARD_DAYS = 31;

/** The schedule board: a row per agent with their schedules per day and their live state. */
export class BoardService {
  constructor(
    private readonly presence: PresenceService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Admins: any department or all; managers and agents: their own department. Four queries, whatever the size. */
  async board(scope: RequestScope, from: string, to: string, departmentId?: string | null): Promise<ScheduleBoard> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER, Role.AGENT);
    checkRange(from, to);
    if (to > addDays(from, MAX_BOARD_DAYS - 1)) throw new InvalidInput('to', `must be at most ${MAX_BOARD_DAYS} days after from`);
    const department = viewer.role === Role.AGENT ? ownDepartment(viewer, departmentId) : departmentScope(viewer, departmentId);

    const now = this.now();
    // The agents of the board, joined in SQL rather than passed back as a list of ids; read-only rows, no hydration.
    const agentsOf = `SELECT u.id FROM users u WHERE u.role = 'AGENT' AND u.active AND (?::uuid IS NULL OR u.department_id = ?::uuid)`;
    const [agents, inRange, current] = await Promise.all([
      scope.em.find(User, { role: Role.AGENT, active: true, ...(department ? { departmentId: department } : {}) }, {
        orderBy: { employeeCode: 'asc', displayName: 'asc' },
        disableIdentityMap: true,
      }),
      scope.em.execute<ScheduleRow[]>(
        `SELECT ${SCHEDULE_COLUMNS} FROM schedules s WHERE s.agent_id IN (${agentsOf}) AND s.date BETWEEN ? AND ? ORDER BY s.starts_at`,
        [department, department, from, to],
      ),
      scope.em.execute<Array<{ agent_id: string }>>(
        `SELECT s.agent_id FROM schedules s WHERE s.agent_id IN (${agentsOf}) AND s.status = 'NORMAL' AND s.period @> ?::timestamptz`,
        [department, department, now],
      ),
    ]);
    const presence = await this.presence.read(agents.map((a) => a.id));

    const onShift = new Set(current.map((s) => s.agent_id));
    const presenceOf = new Map(presence.map((p) => [p.userId, p]));
    const byAgentDay = new Map<string, Schedule[]>();
    for (const row of inRange) {
      const s = scheduleFromRow(row);
      const key = `${s.agentId}|${s.date}`;
      const list = byAgentDay.get(key);
      if (list) list.push(s);
      else byAgentDay.set(key, [s]);
    }
    const dates = datesBetween(from, to);
    return {
      from,
      to,
      generatedAt: now,
      rows: agents.map((agent) => {
        const p = presenceOf.get(agent.id)!;
        return {
          agent,
          presence: toPresence(p),
          liveState: liveStateOf(onShift.has(agent.id), p.online),
          days: dates.map((date) => ({ date, schedules: byAgentDay.get(`${agent.id}|${date}`) ?? [] })),
        };
      }),
    };
  }
}

/** Agents see their own department's board, and no other. */
function ownDepartment(viewer: Viewer, requested?: string | null): string {
  if (!viewer.departmentId || (requested && requested !== viewer.departmentId)) throw new Forbidden('You see your own department only');
  return viewer.departmentId;
}
