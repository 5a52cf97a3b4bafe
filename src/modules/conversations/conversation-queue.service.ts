import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import type { AfterCommit } from '../../platform/db/transaction';
import { Forbidden } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { ALL_DEPARTMENTS, Topics } from '../../platform/realtime/topics';
import type { RequestScope } from '../../platform/request-scope';
import { Conversation, ConversationStatus } from './conversation.entity';
import {
  ConversationEventPayload,
  ConversationEventType,
  InboxEventPayload,
  InboxEventType,
  QueueChangePayload,
  QueueUpdatePayload,
  QueueUpdateStatus,
  StatusChange,
  toMessagePayload,
} from './conversation.events';
import type { Message } from './message.entity';
import { EFFECTIVE_RANK_SQL, ServicePriority } from './queue-policy';
import type { QueueEstimates } from './queue-estimates';
import type { QueueReason, WaitEstimateBasis } from './queue-reason';
import { QueueLine } from './seat-plan';

type QueuedRef = Pick<Conversation, 'id' | 'customerId' | 'priority' | 'agentId'>;

export enum ServiceRequestStatus {
  ASSIGNED = 'ASSIGNED',
  QUEUED = 'QUEUED',
  NO_CAPACITY = 'NO_CAPACITY',
}

export interface ServiceRequestResult {
  status: ServiceRequestStatus;
  conversation: Conversation | null;
  position: number | null;
  estimatedWaitSeconds: number | null;
  priority: ServicePriority;
  /** For QUEUED: why nobody took it now. */
  queueReason: QueueReason | null;
  /** For QUEUED: what the estimate was computed from. */
  estimateBasis: WaitEstimateBasis | null;
}

/**
 * The line of waiting requests: its order (effective priority, then time waited), everyone's position, what a
 * waiting customer and the supervisors are told, and the announcement that a request found its agent.
 */
export class ConversationQueue {
  private readonly pendingRefresh = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly config: Pick<Config['service'], 'ageingSeconds'>,
    private readonly pubsub: PubSubPort,
    private readonly estimates: QueueEstimates,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
  ) {}

  /**
   * The line as a routing batch finds it (read once, under the routing lock), grouped by department and
   * effective rank: the places newcomers take are computed from it in memory.
   */
  async line(em: EntityManager): Promise<QueueLine> {
    const rows = await em.execute<Array<{ department_id: string | null; effective_rank: number; n: number; last: Date | string | null }>>(
      `SELECT c.department_id, ${EFFECTIVE_RANK_SQL} AS effective_rank, count(*)::int AS n, max(c.queued_at) AS last
         FROM conversations c WHERE c.status = 'QUEUED' GROUP BY 1, 2`,
      [this.config.ageingSeconds],
    );
    return new QueueLine(
      rows.map((r) => ({ departmentId: r.department_id, rank: r.effective_rank, n: r.n, last: r.last === null ? null : new Date(r.last) })),
    );
  }

  /** The next request an agent of this department with these skills may serve, locked (SKIP LOCKED), or null. */
  async next(em: EntityManager, departmentId: string | null, skills: string): Promise<string | null> {
    const [next] = await em.execute<Array<{ id: string }>>(
      `SELECT c.id FROM conversations c
        WHERE c.status = 'QUEUED' AND (c.department_id IS NULL OR c.department_id = ?) AND (c.skill IS NULL OR c.skill = ANY(?::text[]))
        ORDER BY ${EFFECTIVE_RANK_SQL}, c.queued_at, c.id
        LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [departmentId, skills, this.config.ageingSeconds],
    );
    return next?.id ?? null;
  }

  /** The waiting requests of a department (null: those routed to no department), in the order they will be served. */
  async queue(scope: RequestScope, departmentId: string | null | undefined) {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    if (viewer.role === Role.MANAGER && departmentId !== viewer.departmentId) {
      if (departmentId !== undefined) throw new Forbidden('Managers see their own department’s queue only');
      departmentId = viewer.departmentId;
    }
    const rows = await this.positions(scope.em, departmentId ?? null);
    const conversations = await scope.em.find(Conversation, { id: { $in: rows.map((r) => r.id) } });
    const byId = new Map(conversations.map((c) => [c.id, c]));
    const figures = await this.estimates.figures(scope.em, departmentId ?? null);
    const now = Date.now();
    return rows.map((r) => {
      const c = byId.get(r.id)!;
      return {
        conversation: c,
        position: r.position,
        waitedSeconds: Math.floor((now - c.queuedAt.getTime()) / 1000),
        effectivePriority: [ServicePriority.URGENT, ServicePriority.HIGH, ServicePriority.NORMAL, ServicePriority.LOW][r.effective_rank],
        estimatedWaitSeconds: this.estimates.seconds(r.position, figures),
      };
    });
  }

  /** ASSIGNED (with the conversation) or QUEUED (with position and estimate) for an existing conversation. */
  async describe(em: EntityManager, c: Conversation): Promise<ServiceRequestResult> {
    if (c.status !== ConversationStatus.QUEUED) {
      return {
        status: ServiceRequestStatus.ASSIGNED,
        conversation: c,
        position: null,
        estimatedWaitSeconds: null,
        priority: c.priority,
        queueReason: null,
        estimateBasis: null,
      };
    }
    const [{ position, estimatedWaitSeconds, estimateBasis }, queueReason] = await Promise.all([
      this.placeOf(em, c),
      this.estimates.reason(em, c),
    ]);
    return {
      status: ServiceRequestStatus.QUEUED,
      conversation: c,
      position,
      estimatedWaitSeconds,
      priority: c.priority,
      queueReason,
      estimateBasis,
    };
  }

  /** Current snapshot for a customer subscribing to queueUpdates. */
  async currentUpdate(customerId: string): Promise<QueueUpdatePayload | null> {
    const em = this.em();
    const c = await em.findOne(Conversation, { customerId, status: ConversationStatus.QUEUED });
    if (!c) return null;
    const { position, estimatedWaitSeconds } = await this.placeOf(em, c);
    return queueUpdatePayload(c, QueueUpdateStatus.QUEUED, position, estimatedWaitSeconds);
  }

  private async placeOf(
    em: EntityManager,
    c: Conversation,
  ): Promise<{ position: number | null; estimatedWaitSeconds: number | null; estimateBasis: WaitEstimateBasis | null }> {
    const rows = await this.positions(em, c.departmentId, c.id);
    const position = rows[0]?.position ?? null;
    if (position === null) return { position: null, estimatedWaitSeconds: null, estimateBasis: null };
    return { position, ...this.estimates.estimate(position, await this.estimates.figures(em, c.departmentId)) };
  }

  /** Positions (1 = next) in a department's line, ordered as the queue's drain serves it. */
  private positions(em: EntityManager, departmentId: string | null, only?: string) {
    return em.execute<
      Array<{
        id: string;
        customer_id: string;
        priority: ServicePriority;
        agent_id: string | null;
        position: number;
        effective_rank: number;
      }>
    >(
      `SELECT * FROM (
         SELECT c.id, c.customer_id, c.priority, c.agent_id, ${EFFECTIVE_RANK_SQL} AS effective_rank,
                row_number() OVER (ORDER BY ${EFFECTIVE_RANK_SQL}, c.queued_at, c.id)::int AS position
           FROM conversations c
          WHERE c.status = 'QUEUED' AND c.department_id IS NOT DISTINCT FROM ?::uuid) q
        ${only ? 'WHERE q.id = ?' : ''}
        ORDER BY q.position`,
      only
        ? [this.config.ageingSeconds, this.config.ageingSeconds, departmentId, only]
        : [this.config.ageingSeconds, this.config.ageingSeconds, departmentId],
    );
  }

  /** Once `afterCommit` runs: the agent, the conversation's watchers and the customer hear it was assigned. */
  announceAssignment(afterCommit: AfterCommit, c: Conversation, first: Message | null): void {
    afterCommit(() => {
      const at = new Date().toISOString();
      this.pubsub.publish(Topics.INBOX, c.agentId, {
        type: InboxEventType.ASSIGNED,
        conversationId: c.id,
        ...(first ? { message: toMessagePayload(first) } : {}),
        at,
      } satisfies InboxEventPayload);
      this.pubsub.publish(Topics.CONVERSATION, c.id, {
        type: ConversationEventType.STATUS,
        conversationId: c.id,
        status: { change: StatusChange.ASSIGNED, status: c.status, agentId: c.agentId, endReason: null },
        at,
      } satisfies ConversationEventPayload);
      this.publishUpdate(c, QueueUpdateStatus.ASSIGNED, null, null);
      this.queueChanged(c.departmentId);
    });
  }

  /** One customer's queueUpdates event. */
  publishUpdate(c: QueuedRef, status: QueueUpdateStatus, position: number | null, estimate: number | null): void {
    this.pubsub.publish(Topics.QUEUE_CUSTOMER, c.customerId, queueUpdatePayload(c, status, position, estimate));
  }

  /**
   * The queue of a department changed: supervisors are told, and every waiting customer of it gets their
   * new position — coalesced to one refresh per department per 250 ms, however many changes arrive.
   */
  queueChanged(departmentId: string | null): void {
    const key = departmentId ?? ALL_DEPARTMENTS;
    if (this.pendingRefresh.has(key)) return;
    const timer = setTimeout(() => {
      this.pendingRefresh.delete(key);
      this.refresh(departmentId).catch((err) => this.logger.error({ err }, 'queue refresh failed'));
    }, 250);
    timer.unref();
    this.pendingRefresh.set(key, timer);
  }

  private async refresh(departmentId: string | null): Promise<void> {
    const em = this.em();
    const rows = await this.positions(em, departmentId);
    const change: QueueChangePayload = { departmentId, length: rows.length, at: new Date().toISOString() };
    if (departmentId) this.pubsub.publish(Topics.QUEUE, departmentId, change);
    this.pubsub.publish(Topics.QUEUE, ALL_DEPARTMENTS, change);
    if (!rows.length) return;
    const figures = await this.estimates.figures(em, departmentId);
    // Plain rows, not entities: at a flash sale this runs every 250 ms over hundreds of waiting requests.
    for (const r of rows) {
      const ref = { id: r.id, customerId: r.customer_id, priority: r.priority, agentId: r.agent_id };
      this.publishUpdate(ref, QueueUpdateStatus.QUEUED, r.position, this.estimates.seconds(r.position, figures));
    }
  }

  stop(): void {
    for (const t of this.pendingRefresh.values()) clearTimeout(t);
    this.pendingRefresh.clear();
  }
}

function queueUpdatePayload(c: QueuedRef, status: QueueUpdateStatus, position: number | null, estimate: number | null): QueueUpdatePayload {
  return {
    conversationId: c.id,
    status,
    position,
    estimatedWaitSeconds: estimate,
    priority: c.priority,
    agentId: c.agentId,
    at: new Date().toISOString(),
  };
}
