import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF } from '../../platform/auth/roles';
import { signedIn, withRole } from '../../platform/auth/scope';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import { applyRating, checkRating, MAX_SCORE, requireRater } from '../conversations/rating.policy';
import { ServicePriority } from '../conversations/queue-policy';
import type { NotificationService } from '../notifications/notification.service';
import { supervisorsOf } from '../notifications/supervision.policy';
import type { TicketAssignmentService } from './ticket-assignment.service';
import { MAX_COMMENT_LENGTH, TicketComment } from './ticket-comment.entity';
import {
  canSee,
  computeDue,
  formatInstant,
  lockTicket,
  requireOpen,
  requireOwnerOrWorker,
  requireWorker,
  TICKET_FLOW,
  TicketTrail,
} from './ticket-common';
import { MAX_DESCRIPTION, MAX_REASON } from './ticket.inputs';
import { Ticket, TicketStatus } from './ticket.entity';
import type { TicketSettings } from './ticket.settings';

const STEP_UP: Partial<Record<ServicePriority, ServicePriority>> = {
  [ServicePriority.LOW]: ServicePriority.NORMAL,
  [ServicePriority.NORMAL]: ServicePriority.HIGH,
  [ServicePriority.HIGH]: ServicePriority.URGENT,
};

/** A ticket's life after intake: assign → escalate → resolve → close → reopen → rate, and its comments. */
export class TicketWorkflowService {
  constructor(
    private readonly trail: TicketTrail,
    private readonly assignment: TicketAssignmentService,
    private readonly notifications: NotificationService,
    private readonly settings: TicketSettings,
    private readonly businessTz: string,
  ) {}

  /**
   * Managers assign to their department's agents, admins to any agent; an agent takes an unassigned ticket
   * of their department for themselves. Never beyond TICKET_AGENT_LIMIT open tickets.
   */
  async assign(scope: RequestScope, id: string, agentId?: string | null): Promise<Ticket> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const targetId = agentId ?? (viewer.role === Role.AGENT ? viewer.id : null);
    if (!targetId) throw new InvalidInput('agentId', 'is required');
    if (!isUuid(targetId)) throw new InvalidInput('agentId', 'is not a user id');
    if (viewer.role === Role.AGENT && targetId !== viewer.id) throw new Forbidden('Agents take tickets for themselves only');
    let freed: string | null = null;
    const ticket = await inTransaction(scope.em, async (em, afterCommit) => {
      const ticket = await lockTicket(em, id);
      if (!canSee(viewer, ticket)) throw new Forbidden('This ticket is not yours to assign');
      const agent = await em.findOne(User, { id: targetId });
      if (!agent || agent.role !== Role.AGENT || !agent.active) throw new InvalidInput('agentId', 'must be an active agent');
      if (viewer.role === Role.MANAGER && agent.departmentId !== viewer.departmentId)
        throw new Forbidden('Managers assign to the agents of their own department');
      TICKET_FLOW.next(ticket.status, 'assign');
      if (ticket.assigneeId === agent.id)
        throw new Conflict(ConflictReason.ALREADY_ASSIGNED, `The ticket is already assigned to ${agent.displayName}`);
      const load = await this.assignment.lockedLoad(em, agent);
      const limit = this.assignment.agentLimit;
      if (load >= limit) {
        throw new Conflict(
          ConflictReason.AGENT_AT_LIMIT,
          `${agent.displayName} already holds ${load} open tickets (the limit is ${limit})`,
        );
      }
      if (ticket.assigneeId)
        freed = (await em.findOne(User, { id: ticket.assigneeId }, { fields: ['departmentId'] }))?.departmentId ?? null;
      this.assignment.applyAssignment(em, afterCommit, scope, ticket, agent, false);
      await em.flush();
      return ticket;
    });
    if (freed) await this.assignment.drainQuietly(freed);
    return ticket;
  }

  /** One priority step up (LOW → NORMAL → HIGH → URGENT); due times recomputed; the department's managers told. */
  async escalate(scope: RequestScope, id: string, reason: string): Promise<Ticket> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const why = reason.trim();
    if (!why || why.length > MAX_REASON) throw new InvalidInput('reason', `must be 1 to ${MAX_REASON} characters`);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const ticket = await lockTicket(em, id);
      requireWorker(viewer, ticket);
      requireOpen(ticket, 'escalated');
      const from = ticket.priority;
      const to = STEP_UP[from];
      if (!to)
        throw new Conflict(ConflictReason.TOP_PRIORITY, `The ticket is already ${from}, the highest priority: it cannot be escalated`);
      ticket.priority = to;
      computeDue(this.settings, ticket, { firstResponse: true, resolution: true });
      ticket.escalationCount += 1;
      ticket.escalatedAt = new Date();
      this.trail.record(em, scope, ticket, {
        action: 'ticket.escalate',
        targetType: 'Ticket',
        targetId: ticket.id,
        summary: `Escalated ${from} → ${to}; ${ticket.firstResponseAt ? '' : `first response due ${this.format(ticket.firstResponseDueAt)}, `}resolution due ${this.format(ticket.resolutionDueAt)}`,
        comment: why,
      });
      for (const userId of await supervisorsOf(em, ticket.departmentId, viewer.id)) {
        this.notifications.notify(em, afterCommit, {
          userId,
          kind: 'TICKET_ESCALATED',
          title: { id: 'notification.ticketEscalated.title', params: { priority: to, subject: ticket.subject } },
          body: { id: 'notification.ticketEscalated.body', params: { reason: why, due: this.format(ticket.resolutionDueAt) } },
        });
      }
      await em.flush();
      return ticket;
    });
  }

  /** The assignee, the department's managers or an admin resolve; the customer is told. */
  async resolve(scope: RequestScope, id: string, resolution: string): Promise<Ticket> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const text = resolution.trim();
    if (!text || text.length > MAX_DESCRIPTION) throw new InvalidInput('resolution', `must be 1 to ${MAX_DESCRIPTION} characters`);
    let freed: string | null = null;
    const ticket = await inTransaction(scope.em, async (em, afterCommit) => {
      const ticket = await lockTicket(em, id);
      requireWorker(viewer, ticket);
      freed = await this.trail.settle(em, scope, ticket, 'resolve', text, 'Resolved');
      this.notifications.notify(em, afterCommit, {
        userId: ticket.customerId,
        kind: 'TICKET_RESOLVED',
        title: { id: 'notification.ticketResolved.title', params: { subject: ticket.subject } },
        body: text,
      });
      await em.flush();
      return ticket;
    });
    if (freed) await this.assignment.drainQuietly(freed);
    return ticket;
  }

  /** A resolved ticket is closed by its customer or by the staff who may work on it. */
  close(scope: RequestScope, id: string): Promise<Ticket> {
    const viewer = signedIn(scope.viewer);
    return inTransaction(scope.em, async (em) => {
      const ticket = await lockTicket(em, id);
      requireOwnerOrWorker(viewer, ticket);
      ticket.status = TICKET_FLOW.next(ticket.status, 'close');
      ticket.closedAt = new Date();
      this.trail.record(em, scope, ticket, { action: 'ticket.close', targetType: 'Ticket', targetId: ticket.id, summary: 'Closed' });
      await em.flush();
      return ticket;
    });
  }

  /**
   * A resolved ticket comes back within TICKET_REOPEN_WINDOW_DAYS of its resolution: to its assignee when
   * they are active and below the limit, else to auto-assignment. The resolution clock starts again.
   */
  reopen(scope: RequestScope, id: string, reason?: string | null): Promise<Ticket> {
    const viewer = signedIn(scope.viewer);
    const why = reason?.trim() || null;
    if (why && why.length > MAX_REASON) throw new InvalidInput('reason', `must be at most ${MAX_REASON} characters`);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const ticket = await lockTicket(em, id);
      requireOwnerOrWorker(viewer, ticket);
      const status = TICKET_FLOW.next(ticket.status, 'reopen');
      const now = new Date();
      const windowEnds = new Date(ticket.resolvedAt!.getTime() + this.settings.reopenWindowDays * 86_400_000);
      if (now > windowEnds) {
        throw new Conflict(
          ConflictReason.REOPEN_WINDOW_PASSED,
          `The ticket was resolved more than ${this.settings.reopenWindowDays} day(s) ago: it can no longer be reopened`,
        );
      }
      ticket.status = status;
      ticket.reopenedAt = now;
      ticket.reopenCount += 1;
      ticket.resolvedAt = null;
      ticket.resolution = null;
      ticket.rating = null;
      ticket.ratingComment = null;
      ticket.ratedAt = null;
      ticket.resolutionStartedAt = now;
      computeDue(this.settings, ticket, { firstResponse: false, resolution: true });
      let kept = false;
      if (ticket.assigneeId) {
        const agent = await em.findOne(User, { id: ticket.assigneeId });
        if (agent?.active) kept = (await this.assignment.lockedLoad(em, agent)) < this.assignment.agentLimit;
        if (kept) {
          this.notifications.notify(em, afterCommit, {
            userId: agent!.id,
            kind: 'TICKET_REOPENED',
            title: { id: 'notification.ticketReopened.title', params: { subject: ticket.subject } },
            body: why ?? '',
          });
        } else {
          ticket.assigneeId = null;
          ticket.assignedAt = null;
        }
      }
      this.trail.record(em, scope, ticket, {
        action: 'ticket.reopen',
        targetType: 'Ticket',
        targetId: ticket.id,
        summary: `Reopened (${kept ? 'back to its assignee' : 'to the queue'}); resolution due ${this.format(ticket.resolutionDueAt)}`,
        comment: why,
      });
      if (!kept) await this.assignment.autoAssign(em, afterCommit, { viewer: null, traceId: scope.traceId }, ticket);
      await em.flush();
      return ticket;
    });
  }

  /**
   * Everyone who may see a ticket comments on it (customers never internally); closed tickets take no more.
   * The first public comment of the staff is the first response; any comment of the assignee starts the work.
   */
  comment(scope: RequestScope, id: string, body: string, internal: boolean): Promise<TicketComment> {
    const viewer = signedIn(scope.viewer);
    const text = body.trim();
    if (!text || text.length > MAX_COMMENT_LENGTH) throw new InvalidInput('body', `must be 1 to ${MAX_COMMENT_LENGTH} characters`);
    return inTransaction(scope.em, async (em) => {
      const ticket = await lockTicket(em, id);
      if (!canSee(viewer, ticket)) throw new Forbidden('This ticket is not yours');
      if (viewer.role === Role.CUSTOMER && internal) throw new Forbidden('Customers do not write internal notes');
      if (ticket.status === TicketStatus.CLOSED)
        throw new Conflict(ConflictReason.INVALID_STATE, 'The ticket is CLOSED: it takes no more comments', {
          state: ticket.status,
          action: 'comment',
        });
      const comment = em.create(TicketComment, { ticketId: ticket.id, authorId: viewer.id, authorRole: viewer.role, body: text, internal });
      const staff = viewer.role !== Role.CUSTOMER;
      if (staff && !internal && !ticket.firstResponseAt && ticket.isOpen) ticket.firstResponseAt = comment.createdAt;
      if (ticket.assigneeId === viewer.id && TICKET_FLOW.allowed(ticket.status).includes('start')) {
        ticket.status = TICKET_FLOW.next(ticket.status, 'start');
        this.trail.record(em, scope, ticket, {
          action: 'ticket.start',
          targetType: 'Ticket',
          targetId: ticket.id,
          summary: 'Work started (first comment of the assignee)',
        });
      }
      await em.flush();
      return comment;
    });
  }

  /** The customer rates a resolved (or closed) ticket once (the rating rule: conversations/rating.policy.ts). */
  rate(scope: RequestScope, id: string, score: number, comment?: string | null): Promise<Ticket> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    const rating = checkRating(score, comment);
    return inTransaction(scope.em, async (em) => {
      const ticket = await lockTicket(em, id);
      requireRater(viewer, ticket, 'ticket');
      if (ticket.status !== TicketStatus.RESOLVED && ticket.status !== TicketStatus.CLOSED) {
        throw new Conflict(ConflictReason.INVALID_STATE, `The ticket is ${ticket.status}: only a resolved or closed ticket is rated`, {
          state: ticket.status,
          action: 'rate',
        });
      }
      applyRating(ticket, rating, 'ticket');
      this.trail.record(em, scope, ticket, {
        action: 'ticket.rate',
        targetType: 'Ticket',
        targetId: ticket.id,
        summary: `Rated ${rating.score}/${MAX_SCORE}`,
        comment: rating.comment,
      });
      await em.flush();
      return ticket;
    });
  }

  private format(instant: Date): string {
    return formatInstant(instant, this.businessTz);
  }
}
