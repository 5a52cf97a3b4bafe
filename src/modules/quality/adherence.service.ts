import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { addDays, datesBetween, isBusinessDate, startOfBusinessDate } from '../../platform/clock';
import { pgArray } from '../../platform/db/arrays';
import { InvalidInput } from '../../platform/errors';
import type { PresenceHistory } from '../presence/presence-history';
import { adherenceOf, ScheduledShift } from './adherence';
import type { AgentAdherence } from './quality.types';
import { QualityRequest, staffScope } from './staff-scope';

export const MAX_ADHERENCE_DAYS = 31;

/** adherence: schedules (scheduling) against the presence history (presence), per agent and day. */
export class AdherenceService {
  constructor(
    private readonly history: PresenceHistory,
    private readonly settings: { businessTz: string; graceMs: number },
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Admins: any agent or department; managers: their department; agents: themselves. */
  async adherence(
    scope: QualityRequest,
    args: { agentId?: string | null; departmentId?: string | null; from: string; to: string },
  ): Promise<AgentAdherence[]> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER, Role.AGENT);
    if (!isBusinessDate(args.from)) throw new InvalidInput('from', 'must be a real date YYYY-MM-DD');
    if (!isBusinessDate(args.to)) throw new InvalidInput('to', 'must be a real date YYYY-MM-DD');
    if (args.to < args.from) throw new InvalidInput('to', 'must not be before from');
    if (args.to > addDays(args.from, MAX_ADHERENCE_DAYS - 1))
      throw new InvalidInput('to', `must be at most ${MAX_ADHERENCE_DAYS} days after from`);
    const { agentIds } = await staffScope(scope.em, viewer, args, { agentsSeeOwn: true });
    if (!agentIds.length) return [];

    const tz = this.settings.businessTz;
    const days = datesBetween(args.from, args.to).map((date) => ({
      date,
      start: startOfBusinessDate(date, tz).getTime(),
      end: startOfBusinessDate(addDays(date, 1), tz).getTime(),
    }));
    const rows = await scope.em.execute<Array<{ id: string; agent_id: string; date: string; starts_at: Date; ends_at: Date }>>(
      `SELECT id, agent_id, to_char(date, 'YYYY-MM-DD') AS date, starts_at, ends_at FROM schedules
        WHERE agent_id = ANY(?::uuid[]) AND date BETWEEN ? AND ? AND status = 'NORMAL' ORDER BY starts_at`,
      [pgArray(agentIds), args.from, args.to],
    );
    // Shifts of the last date may run past midnight: read presence up to the latest shift end too.
    const readFrom = Math.min(days[0].start, ...rows.map((r) => new Date(r.starts_at).getTime()));
    const readTo = Math.max(days[days.length - 1].end, ...rows.map((r) => new Date(r.ends_at).getTime()));
    const presence = await this.history.intervals(scope.em, agentIds, new Date(readFrom), new Date(readTo));

    const now = this.now().getTime();
    return agentIds.map((agentId) => {
      const shifts: ScheduledShift[] = rows
        .filter((r) => r.agent_id === agentId)
        .map((r) => ({ scheduleId: r.id, date: r.date, startsAt: new Date(r.starts_at), endsAt: new Date(r.ends_at) }));
      return adherenceOf({
        agentId,
        days,
        shifts,
        presence: presence.filter((p) => p.agentId === agentId),
        now,
        graceMs: this.settings.graceMs,
      });
    });
  }
}
