import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import type { PresenceRecord } from '../presence/presence.service';
import { Department } from '../accounts/department.entity';
import type { ConnectedClients } from './connected-clients';
import { agentPerformance, agentsOfScope, hourlyVolume, liveFigures, periodTotals, satisfactionTrend } from './dashboard-queries';
import type { DashboardPeriod, LiveDashboard } from './dashboard.types';

/** What the dashboard reads of presence (the presence service). */
export interface PresenceReader {
  read(userIds: string[]): Promise<PresenceRecord[]>;
}

export type PeriodName = 'today' | 'week';

/**
 * What these services need of a request (the request context satisfies it). Declared here rather than imported
 * from context.ts, which reaches the service registry: operations would otherwise sit in an import cycle.
 */
export interface OperationsScope {
  viewer: Viewer | null;
  em: EntityManager;
  traceId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

/**
 * The service dashboard: live figures (also pushed by DashboardPublisher and read by the alert evaluator) and
 * the today / week reports. Scope: managers their own department, admins any or all (null); nobody else.
 */
export class DashboardService {
  constructor(
    private readonly presence: PresenceReader,
    private readonly clients: ConnectedClients,
    private readonly businessTz: string,
  ) {}

  /** The department the viewer may see the dashboard of (null: all, admins only); checks it exists. */
  async scopeFor(em: EntityManager, viewer: Viewer, departmentId: string | null | undefined): Promise<string | null> {
    if (departmentId !== undefined && departmentId !== null && !isUuid(departmentId))
      throw new InvalidInput('departmentId', 'is not a department id');
    if (viewer.role === Role.ADMIN) {
      if (departmentId && !(await em.findOne(Department, { id: departmentId }, { fields: ['id'] })))
        throw new NotFound('Department', departmentId);
      return departmentId ?? null;
    }
    if (viewer.role !== Role.MANAGER) throw new Forbidden('The service dashboard is for managers and admins');
    if (!viewer.departmentId) throw new Forbidden('You belong to no department');
    if (departmentId && departmentId !== viewer.departmentId)
      throw new Forbidden('Managers see the dashboard of their own department only');
    return viewer.departmentId;
  }

  async dashboardScope(scope: OperationsScope, departmentId: string | null | undefined): Promise<string | null> {
    if (!scope.viewer) throw new Forbidden();
    return this.scopeFor(scope.em, scope.viewer, departmentId);
  }

  /** The live part, for a department already in scope (or null: all). */
  async live(em: EntityManager, departmentId: string | null): Promise<LiveDashboard> {
    const [agents, figures, clients] = await Promise.all([
      agentsOfScope(em, departmentId),
      liveFigures(em, departmentId),
      this.clients.cluster(),
    ]);
    const presence = new Map((await this.presence.read(agents.map((a) => a.id))).map((p) => [p.userId, p]));
    const now = Date.now();
    let onShift = 0;
    let online = 0;
    let available = 0;
    let busy = 0;
    let connected = 0;
    let seats = 0;
    let longestOffline = 0;
    for (const a of agents) {
      const p = presence.get(a.id);
      if (p?.online) connected++;
      if (!a.onShift) continue;
      onShift++;
      if (p?.online) {
        online++;
        if (p.status === 'AVAILABLE') {
          available++;
          seats += a.maxChats;
        } else busy++;
      } else {
        // Offline since they went offline (or were last seen), but not before their shift began.
        const since = Math.max(a.shiftStartedAt!.getTime(), (a.offlineSince ?? p?.lastSeenAt ?? a.shiftStartedAt!).getTime());
        longestOffline = Math.max(longestOffline, (now - since) / 1000);
      }
    }
    return {
      departmentId,
      computedAt: new Date(now),
      connectedCustomers: clients.CUSTOMER,
      connectedAgents: connected,
      agentsOnShift: onShift,
      agentsOnline: online,
      agentsAvailable: available,
      agentsBusy: busy,
      queueLength: figures.queueLength,
      longestWaitSeconds: figures.oldestQueuedAt ? Math.max(0, (now - figures.oldestQueuedAt.getTime()) / 1000) : null,
      messagesPerMinute: figures.messagesLast5Min / 5,
      avgFirstResponseSeconds: figures.avgFirstResponseSeconds,
      p90FirstResponseSeconds: figures.p90FirstResponseSeconds,
      openChats: figures.openChats,
      availableSeats: seats,
      utilisation: seats > 0 ? figures.openChats / seats : null,
      satisfaction: figures.satisfaction,
      ratings24h: figures.ratings24h,
      ticketsAtRisk: figures.ticketsAtRisk,
      ticketsBreached: figures.ticketsBreached,
      slaBreachesLastHour: figures.slaBreachesLastHour,
      longestOnShiftOfflineSeconds: longestOffline,
    };
  }

  /** Today (business day so far) or the week (the last 7 business days, today included). */
  async period(em: EntityManager, departmentId: string | null, name: PeriodName): Promise<DashboardPeriod> {
    const now = DateTime.now().setZone(this.businessTz);
    const start = (name === 'today' ? now : now.minus({ days: 6 })).startOf('day');
    const from = start.toJSDate();
    const to = now.toJSDate();
    const [totals, hourly, trend, agents] = await Promise.all([
      periodTotals(em, departmentId, from, to),
      hourlyVolume(em, departmentId, from, to),
      satisfactionTrend(em, departmentId, from, to, name === 'today' ? 'hour' : 'day', this.businessTz),
      agentPerformance(em, departmentId, from, to),
    ]);
    const ended = totals.handled + totals.abandoned;
    const sla = totals.slaMet + totals.slaBreached;
    const peakHours = hourly
      .filter((h) => h.conversations + h.tickets > 0)
      .sort((a, b) => b.conversations + b.tickets - (a.conversations + a.tickets) || a.hour.getTime() - b.hour.getTime())
      .slice(0, 3)
      .map((h) => h.hour);
    return {
      from,
      to,
      conversations: totals.conversations,
      conversationsHandled: totals.handled,
      conversationsAbandoned: totals.abandoned,
      ticketsCreated: totals.ticketsCreated,
      ticketsResolved: totals.ticketsResolved,
      resolutionRate: ended > 0 ? totals.handled / ended : null,
      slaAttainment: sla > 0 ? totals.slaMet / sla : null,
      avgFirstResponseSeconds: totals.avgFirstResponseSeconds,
      satisfaction: totals.satisfaction,
      hourly,
      peakHours,
      satisfactionTrend: trend,
      agents,
    };
  }
}
