import { randomUUID } from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF, Viewer } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { Forbidden, InvalidInput } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { ALL_DEPARTMENTS, Topics } from '../../platform/realtime/topics';
import type { Scheduler } from '../../platform/scheduler';
import { isUuid } from '../../platform/ids';
import { consumeOrThrow } from '../../platform/rate-limit';
import { User } from '../accounts/user.entity';
import { PresenceHistory, presenceStateOf } from './presence-history';
import type { PresenceRecord, PresenceStore } from './presence.store';

export type { PresenceRecord };
import { Presence, PresenceChange, PresenceEventPayload, PresenceStatusValue } from './presence.types';

export interface PresenceTimings {
  /** A heartbeat keeps an agent online this long (clients send one every 30 s). */
  heartbeatTtlMs: number;
  /** A connection's lease: renewed while open, so a crashed process's connections lapse. */
  connectionLeaseMs: number;
  /** How often leases are renewed and expiry is swept. */
  renewEveryMs: number;
  sweepEveryMs: number;
}

/** presence(agentIds): the most agents one query may name. */
export const MAX_AGENTS_ASKED = 1000;

export const DEFAULT_PRESENCE_TIMINGS: PresenceTimings = {
  heartbeatTtlMs: 90_000,
  connectionLeaseMs: 90_000,
  renewEveryMs: 30_000,
  sweepEveryMs: 10_000,
};

const TRACKED_ROLES = new Set([Role.AGENT, Role.MANAGER]);

/** Live presence of agents and managers: connections, heartbeats and the status they set. */
export class PresenceService {
  /** This process's open connections of tracked users. */
  private readonly local = new Map<string, { userId: string; departmentId: string | null }>();
  private readonly listeners = new Set<(e: PresenceEventPayload) => void>();

  constructor(
    private readonly store: PresenceStore,
    private readonly pubsub: PubSubPort,
    private readonly logger: Logger,
    private readonly timings: PresenceTimings = DEFAULT_PRESENCE_TIMINGS,
    /** Where every announced transition is also written (adherence reads it); none in unit tests. */
    private readonly history: PresenceHistory | null = null,
    /** Status changes per agent (RATE_SET_PRESENCE_PER_MINUTE): each AVAILABLE may start routing. None: unlimited. */
    private readonly statusLimiter: RateLimiterAbstract | null = null,
  ) {}

  /** Starts lease renewal and the expiry sweep (one sweeper per interval across a cluster). */
  start(scheduler: Scheduler): void {
    scheduler.every('presence-renew', this.timings.renewEveryMs, () => this.renew());
    scheduler.every('presence-sweep', this.timings.sweepEveryMs, () => this.sweep());
  }

  /** Called for every authenticated WebSocket; returns the id to pass to `disconnected`. */
  async connected(viewer: Viewer): Promise<string | null> {
    if (!TRACKED_ROLES.has(viewer.role)) return null;
    const connectionId = randomUUID();
    this.local.set(connectionId, { userId: viewer.id, departmentId: viewer.departmentId });
    await this.store.addConnection(viewer.id, connectionId, this.timings.connectionLeaseMs);
    if (await this.store.markOnline(viewer.id, viewer.departmentId))
      await this.announce(viewer.id, viewer.departmentId, PresenceChange.CONNECTED);
    return connectionId;
  }

  async disconnected(connectionId: string | null): Promise<void> {
    const conn = connectionId ? this.local.get(connectionId) : undefined;
    if (!conn || !connectionId) return;
    this.local.delete(connectionId);
    await this.store.removeConnection(conn.userId, connectionId);
    if (!(await this.store.isOnline(conn.userId)) && (await this.store.markOffline(conn.userId))) {
      await this.announce(conn.userId, conn.departmentId, PresenceChange.DISCONNECTED);
    }
  }

  async heartbeat(scope: RequestScope): Promise<Presence> {
    const viewer = withRole(scope.viewer, Role.AGENT, Role.MANAGER);
    await this.store.heartbeat(viewer.id, this.timings.heartbeatTtlMs);
    if (await this.store.markOnline(viewer.id, viewer.departmentId))
      await this.announce(viewer.id, viewer.departmentId, PresenceChange.HEARTBEAT);
    return toPresence((await this.store.read([viewer.id]))[0]);
  }

  async setStatus(scope: RequestScope, status: PresenceStatusValue): Promise<Presence> {
    const viewer = withRole(scope.viewer, Role.AGENT, Role.MANAGER);
    if (this.statusLimiter) await consumeOrThrow(this.statusLimiter, viewer.id, 'Too many presence status changes; slow down');
    await this.store.setStatus(viewer.id, status);
    await this.store.markOnline(viewer.id, viewer.departmentId);
    await this.announce(viewer.id, viewer.departmentId, PresenceChange.STATUS_CHANGED);
    return toPresence((await this.store.read([viewer.id]))[0]);
  }

  /** Staff: agents of their own department; admins: anyone. */
  async presence(scope: RequestScope, agentIds: string[]): Promise<Presence[]> {
    const viewer = withRole(scope.viewer, ...STAFF);
    if (agentIds.length > MAX_AGENTS_ASKED) throw new InvalidInput('agentIds', `must name at most ${MAX_AGENTS_ASKED} agents`);
    const ids = [...new Set(agentIds)];
    if (ids.some((id) => !isUuid(id))) throw new InvalidInput('agentIds', 'contains an id that is not an agent');
    if (viewer.role !== Role.ADMIN) {
      const users = await scope.em.find(User, { id: { $in: ids } }, { fields: ['id', 'departmentId'] });
      if (users.some((u) => u.departmentId !== viewer.departmentId))
        throw new Forbidden('You see the presence of your own department only');
    }
    return (await this.store.read(ids)).map(toPresence);
  }

  /** Raw records, for the schedule board and routing. */
  read(userIds: string[]): Promise<PresenceRecord[]> {
    return this.store.read(userIds);
  }

  /** The topic id a viewer may watch: their department, or (admins) any department or all. */
  topicFor(viewer: Viewer, departmentId: string | null | undefined): string {
    if (viewer.role === Role.ADMIN) return departmentId ?? ALL_DEPARTMENTS;
    if (viewer.role === Role.CUSTOMER) throw new Forbidden();
    if (departmentId && departmentId !== viewer.departmentId) throw new Forbidden('You watch your own department only');
    if (!viewer.departmentId) throw new Forbidden('You belong to no department');
    return viewer.departmentId;
  }

  /** In-process listeners (routing uses them to drain the queue the moment capacity appears). */
  onChange(listener: (e: PresenceEventPayload) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async renew(): Promise<void> {
    const conns = [...this.local].map(([connectionId, c]) => ({ connectionId, userId: c.userId }));
    await this.store.renewConnections(conns, this.timings.connectionLeaseMs);
    // Heals a lost announcement (a connect racing a disconnect elsewhere).
    for (const c of new Map([...this.local.values()].map((c) => [c.userId, c])).values()) {
      if (await this.store.markOnline(c.userId, c.departmentId)) await this.announce(c.userId, c.departmentId, PresenceChange.CONNECTED);
    }
  }

  /** Notices expired heartbeats and lapsed connection leases (a crashed process). */
  async sweep(): Promise<void> {
    if (!(await this.store.claim('presence-sweep', Math.max(1000, this.timings.sweepEveryMs - 500)))) return;
    for (const { userId, departmentId } of await this.store.announced()) {
      if (!(await this.store.isOnline(userId)) && (await this.store.markOffline(userId))) {
        await this.announce(userId, departmentId, PresenceChange.EXPIRED);
      }
    }
  }

  private async announce(userId: string, departmentId: string | null, change: PresenceChange): Promise<void> {
    const [record] = await this.store.read([userId]);
    const event: PresenceEventPayload = {
      agentId: userId,
      departmentId,
      online: record.online,
      status: record.status as PresenceStatusValue,
      change,
      at: new Date().toISOString(),
    };
    // Before publishing: whoever reacts to the event finds the history already saying the same.
    await this.history?.tryRecord(
      userId,
      () => this.store.read([userId]).then(([r]) => presenceStateOf(r.online, r.status)),
      new Date(event.at),
    );
    if (departmentId) this.pubsub.publish(Topics.PRESENCE, departmentId, event);
    this.pubsub.publish(Topics.PRESENCE, ALL_DEPARTMENTS, event);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err }, 'presence listener failed');
      }
    }
  }
}

export function toPresence(r: PresenceRecord): Presence {
  return { agentId: r.userId, online: r.online, status: r.status as PresenceStatusValue, lastSeenAt: r.lastSeenAt };
}
