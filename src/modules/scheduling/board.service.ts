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
import { checkRange } from './schedule.service';
import { Schedule, ScheduleStatus } from './schedule.entity';

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

    const agentWhere: FilterQuery<User> = { role: Role.AGENT, active: true };
    if (department) agentWhere.departmentId = department;
    const agents = await scope.em.find(User, agentWhere, { orderBy: { employeeCode: 'asc', displayName: 'asc' } });
    const ids = agents.map((a) => a.id);
    const now = this.now();

    const [inRange, current, presence] = await Promise.all([
      ids.length ? scope.em.find(Schedule, { agentId: { $in: ids }, date: { $gte: from, $lte: to } }, { orderBy: { startsAt: 'asc' } }) : [],
      ids.length
        ? scope.em.find(Schedule, { agentId: { $in: ids }, status: ScheduleStatus.NORMAL, startsAt: { $lte: now }, endsAt: { $gt: now } }, { fields: ['id', 'agentId'] })
        : [],
      this.presence.read(ids),
    ]);

    const onShift = new Set(current.map((s) => s.agentId));
    const presenceOf = new Map(presence.map((p) => [p.userId, p]));
    const byAgentDay = new Map<string, Schedule[]>();
    for (const s of inRange) {
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
