import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { addDays, startOfBusinessDate } from '../../platform/clock';
import { InvalidInput } from '../../platform/errors';
import { DEFAULT_MAX_CONCURRENT_CHATS } from '../accounts/user.entity';
import type { LeaveLookup } from '../scheduling/schedule.service';
import { averageWaitSeconds, requiredServers, serviceLevel, ServiceTarget } from './erlang';
import { checkForecastRange, ForecastRange, ForecastService } from './forecast.service';
import type { StaffingInterval, StaffingPlan } from './staffing.inputs';
import { serviceLevelProblem, StaffingSettings, targetSecondsProblem } from './staffing.settings';

export interface PlanOptions {
  serviceLevelTarget?: number | null;
  serviceLevelSeconds?: number | null;
}

/**
 * staffingPlan: per interval the forecast, the agents Erlang C requires and the agents scheduled.
 *
 * Chat concurrency: an agent holds up to maxConcurrentChats chats, each for its whole handling time (assignment
 * → end, which already includes the agent's slower replies while juggling). So the servers of Erlang's model
 * are chat seats: offered load A = conversations per second × handling seconds; the seats N meeting the
 * service level (and occupancy A/N ≤ MAX_OCCUPANCY) come from Erlang C; agents = ⌈N ÷ chats per agent ÷
 * (1 − SHRINKAGE)⌉. Limits: seats of one agent are treated as independent (an agent's first chat and fifth
 * chat are served equally fast), and the handling time was measured at the concurrency the agents actually
 * worked; planning with another maxConcurrentChats would need a handling time measured at that load.
 * Tickets are forecast alongside, but not in Erlang C: they wait for hours, not seconds.
 */
export class StaffingPlanService {
  constructor(
    private readonly forecasts: ForecastService,
    private readonly leave: LeaveLookup,
    private readonly settings: StaffingSettings,
    private readonly businessTz: string,
  ) {}

  async plan(scope: RequestScope, range: ForecastRange, options: PlanOptions = {}): Promise<StaffingPlan> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const target = this.target(options);
    checkForecastRange(range);
    await this.forecasts.department(scope.em, viewer, range.departmentId);
    return this.compute(scope.em, range, target);
  }

  /** The service target from the options, else the configuration; bad values are BAD_USER_INPUT. */
  target(options: PlanOptions): ServiceTarget {
    const level = options.serviceLevelTarget ?? this.settings.serviceLevelTarget;
    const seconds = options.serviceLevelSeconds ?? this.settings.serviceLevelSeconds;
    const problems = [];
    const levelProblem = serviceLevelProblem(level);
    if (levelProblem) problems.push({ field: 'serviceLevelTarget', message: levelProblem });
    const secondsProblem = targetSecondsProblem(seconds);
    if (secondsProblem) problems.push({ field: 'serviceLevelSeconds', message: secondsProblem });
    if (problems.length) throw new InvalidInput(problems);
    return { level, seconds, maxOccupancy: this.settings.maxOccupancy };
  }

  async compute(em: EntityManager, range: ForecastRange, target: ServiceTarget): Promise<StaffingPlan> {
    const forecast = await this.forecasts.compute(em, range);
    const chatsPerAgent = await this.chatsPerAgent(em, range.departmentId);
    const scheduled = await this.scheduledPerInterval(em, range, forecast.intervals);
    const productive = 1 - this.settings.shrinkage;
    const intervals: StaffingInterval[] = forecast.intervals.map((f, i) => {
      const seconds = range.intervalMinutes * 60;
      const load = (f.conversations / seconds) * f.handlingSeconds;
      const seats = requiredServers(load, f.handlingSeconds, target);
      const agentsRequired = seats === 0 ? 0 : Math.ceil(seats / chatsPerAgent / productive - 1e-9);
      const seatsScheduled = Math.floor(scheduled[i] * productive * chatsPerAgent + 1e-9);
      const wait = averageWaitSeconds(seatsScheduled, load, f.handlingSeconds);
      return {
        startsAt: f.startsAt,
        endsAt: f.endsAt,
        forecastConversations: f.conversations,
        forecastTickets: f.tickets,
        handlingSeconds: f.handlingSeconds,
        agentsRequired,
        agentsScheduled: scheduled[i],
        gap: scheduled[i] - agentsRequired,
        expectedServiceLevel: Math.round(serviceLevel(seatsScheduled, load, f.handlingSeconds, target.seconds) * 10000) / 10000,
        expectedWaitSeconds: Number.isFinite(wait) ? Math.round(wait * 10) / 10 : null,
      };
    });
    return {
      departmentId: range.departmentId,
      intervalMinutes: range.intervalMinutes,
      serviceLevelTarget: target.level,
      serviceLevelSeconds: target.seconds,
      maxOccupancy: target.maxOccupancy,
      shrinkage: this.settings.shrinkage,
      chatsPerAgent,
      intervals,
    };
  }

  /** The average maxConcurrentChats of the department's active agents. */
  async chatsPerAgent(em: EntityManager, departmentId: string): Promise<number> {
    const [row] = await em.execute<Array<{ k: number | null }>>(
      `SELECT avg(max_concurrent_chats)::float AS k FROM users WHERE department_id = ? AND role = 'AGENT' AND active`,
      [departmentId],
    );
    return row?.k && row.k > 0 ? Math.round(row.k * 100) / 100 : DEFAULT_MAX_CONCURRENT_CHATS;
  }

  /** Agents on a NORMAL schedule at each interval's middle, less those on approved leave then. */
  private async scheduledPerInterval(
    em: EntityManager,
    range: ForecastRange,
    intervals: Array<{ startsAt: Date; endsAt: Date }>,
  ): Promise<number[]> {
    const from = startOfBusinessDate(range.from, this.businessTz);
    const to = startOfBusinessDate(addDays(range.to, 1), this.businessTz);
    const rows = await em.execute<Array<{ agent_id: string; starts_at: string | Date; ends_at: string | Date }>>(
      `SELECT s.agent_id, s.starts_at, s.ends_at FROM schedules s JOIN users u ON u.id = s.agent_id
        WHERE u.department_id = ? AND s.status = 'NORMAL' AND s.period && tstzrange(?, ?, '[)')`,
      [range.departmentId, from, to],
    );
    const agents = [...new Set(rows.map((r) => r.agent_id))];
    const leave = agents.length
      ? await this.leave.approvedLeave(em, agents, from, to)
      : new Map<string, Array<{ start: Date; end: Date }>>();
    const spans = rows.map((r) => ({ agent: r.agent_id, start: new Date(r.starts_at).getTime(), end: new Date(r.ends_at).getTime() }));
    return intervals.map((iv) => {
      const middle = (iv.startsAt.getTime() + iv.endsAt.getTime()) / 2;
      const present = new Set<string>();
      for (const s of spans) {
        if (s.start > middle || middle >= s.end) continue;
        if ((leave.get(s.agent) ?? []).some((l) => l.start.getTime() <= middle && middle < l.end.getTime())) continue;
        present.add(s.agent);
      }
      return present.size;
    });
  }
}
