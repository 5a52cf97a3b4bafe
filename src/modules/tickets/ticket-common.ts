import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import { Role, Viewer } from '../../platform/auth/roles';
import { managesDepartment } from '../../platform/auth/scope';
import { Conflict, ConflictReason, Forbidden, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { TransitionTable } from '../../platform/state-machine';
import { User } from '../accounts/user.entity';
import type { AuditRecord, AuditService } from '../audit/audit.service';
import type { Conversation } from '../conversations/conversation.entity';
import { dueAt } from './sla';
import { OPEN_STATUSES, Ticket, TicketStatus } from './ticket.entity';
import { NEAR_BREACH_SHARE, TicketSettings } from './ticket.settings';

/** What the ticket services share: the life cycle, the limits, who may see and work on a ticket, the trail. */

type TicketAction = 'assign' | 'start' | 'resolve' | 'faqResolve' | 'close' | 'reopen';

/** The ticket life cycle, written once. Escalation and comments keep the state; see `requireOpen`. */
export const TICKET_FLOW = new TransitionTable<TicketStatus, TicketAction>('The ticket', {
  assign: { from: [TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED], to: TicketStatus.ASSIGNED },
  start: { from: [TicketStatus.ASSIGNED, TicketStatus.REOPENED], to: TicketStatus.IN_PROGRESS },
  resolve: { from: [TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED], to: TicketStatus.RESOLVED },
  // The system, on behalf of the customer who said the auto-answer helped (ticketAnswerHelped): waiting tickets too.
  faqResolve: { from: OPEN_STATUSES, to: TicketStatus.RESOLVED, verb: 'resolved by its FAQ answer' },
  close: { from: [TicketStatus.RESOLVED], to: TicketStatus.CLOSED },
  reopen: { from: [TicketStatus.RESOLVED], to: TicketStatus.REOPENED },
});

/** The audit entries a customer sees in a ticket's trail (no internal reasons). */
export const CUSTOMER_TRAIL_ACTIONS = ['ticket.create', 'ticket.resolve', 'ticket.close', 'ticket.reopen', 'ticket.rate'];

/** Who an audit entry names: a request's viewer, or the system (viewer null) within a request or a sweep. */
export interface Actor {
  viewer: Viewer | null;
  traceId: string;
}

/** A ticket's audit trail. One instance for all ticket services, as one transaction may pass through several. */
export class TicketTrail {
  /** Entries of one ticket written in one transaction get strictly increasing times, so its trail keeps their order. */
  private readonly lastAudit = new WeakMap<Ticket, number>();

  constructor(private readonly audit: AuditService) {}

  record(em: EntityManager, actor: Actor, ticket: Ticket, entry: AuditRecord): void {
    const row = this.audit.record(em, actor, entry);
    const last = this.lastAudit.get(ticket) ?? 0;
    if (row.createdAt.getTime() <= last) row.createdAt = new Date(last + 1);
    this.lastAudit.set(ticket, row.createdAt.getTime());
  }

  /**
   * A ticket RESOLVED through `action`, audited as ticket.resolve (a resolution without a first response counts
   * as one). Returns the department whose capacity it frees (its assignee's), if it was held.
   */
  async settle(
    em: EntityManager,
    actor: Actor,
    ticket: Ticket,
    action: 'resolve' | 'faqResolve',
    text: string,
    summary: string,
  ): Promise<string | null> {
    ticket.status = TICKET_FLOW.next(ticket.status, action);
    const now = new Date();
    ticket.resolvedAt = now;
    ticket.resolution = text;
    ticket.firstResponseAt ??= now;
    this.record(em, actor, ticket, {
      action: 'ticket.resolve',
      targetType: 'Ticket',
      targetId: ticket.id,
      summary: `${summary}${now > ticket.resolutionDueAt ? ' after the resolution due time' : ' within the SLA'}`,
      comment: text,
    });
    if (!ticket.assigneeId) return null;
    return (await em.findOne(User, { id: ticket.assigneeId }, { fields: ['departmentId'] }))?.departmentId ?? null;
  }
}

/** Customers: their own; agents: theirs and their department's unassigned ones; managers: their department; admins: all. */
export function canSee(viewer: Viewer, t: Pick<Ticket, 'customerId' | 'assigneeId' | 'departmentId'>): boolean {
  switch (viewer.role) {
    case Role.ADMIN:
      return true;
    case Role.MANAGER:
      return managesDepartment(viewer, t.departmentId);
    case Role.AGENT:
      return t.assigneeId === viewer.id || (t.assigneeId === null && t.departmentId !== null && t.departmentId === viewer.departmentId);
    case Role.CUSTOMER:
      return t.customerId === viewer.id;
    default:
      return false;
  }
}

/** Staff who may work on a ticket: its assignee, the managers of its department, admins. */
export function requireWorker(viewer: Viewer, ticket: Ticket): void {
  if (viewer.role === Role.ADMIN) return;
  if (viewer.role === Role.MANAGER && managesDepartment(viewer, ticket.departmentId)) return;
  if (viewer.role === Role.AGENT && ticket.assigneeId === viewer.id) return;
  throw new Forbidden('Only the ticket’s assignee, its department’s managers or an admin do this');
}

export function requireOwnerOrWorker(viewer: Viewer, ticket: Ticket): void {
  if (viewer.role === Role.CUSTOMER) {
    if (ticket.customerId !== viewer.id) throw new Forbidden('This ticket is not yours');
    return;
  }
  requireWorker(viewer, ticket);
}

/** Whether the viewer may make a ticket of a conversation: its customer, its agent, its department's managers. */
export function mayUseConversation(viewer: Viewer, c: Conversation): boolean {
  if (viewer.role === Role.CUSTOMER) return c.customerId === viewer.id;
  if (viewer.role === Role.AGENT) return c.agentId === viewer.id;
  return managesDepartment(viewer, c.departmentId);
}

export function requireOpen(ticket: Ticket, pastTense: string): void {
  if (!OPEN_STATUSES.includes(ticket.status)) {
    throw new Conflict(ConflictReason.INVALID_STATE, `The ticket is ${ticket.status}: it cannot be ${pastTense}`, {
      state: ticket.status,
      action: pastTense,
    });
  }
}

export async function lockTicket(em: EntityManager, id: string): Promise<Ticket> {
  const ticket = isUuid(id) ? await em.findOne(Ticket, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
  if (!ticket) throw new NotFound('Ticket', id);
  return ticket;
}

/** Due and warning times from the SLA of the ticket's priority; a recomputed deadline gets fresh sweep guards. */
export function computeDue(settings: TicketSettings, ticket: Ticket, which: { firstResponse: boolean; resolution: boolean }): void {
  const target = settings.sla[ticket.priority];
  const calendar = settings.calendar;
  if (which.firstResponse && !ticket.firstResponseAt) {
    ticket.firstResponseDueAt = dueAt(ticket.createdAt, target.firstResponseMinutes, calendar);
    ticket.firstResponseWarnAt = dueAt(ticket.createdAt, target.firstResponseMinutes * NEAR_BREACH_SHARE, calendar);
    ticket.firstResponseWarnedAt = null;
    ticket.firstResponseBreachNotifiedAt = null;
  }
  if (which.resolution) {
    ticket.resolutionDueAt = dueAt(ticket.resolutionStartedAt, target.resolutionMinutes, calendar);
    ticket.resolutionWarnAt = dueAt(ticket.resolutionStartedAt, target.resolutionMinutes * NEAR_BREACH_SHARE, calendar);
    ticket.resolutionWarnedAt = null;
    ticket.resolutionBreachNotifiedAt = null;
  }
  ticket.syncQueueKeys();
}

/** An instant as notifications show it, in the business time zone. */
export function formatInstant(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant, { zone }).toFormat('yyyy-MM-dd HH:mm');
}

/** At most n characters, marked as cut. */
export function cut(s: string, n: number): string {
  const chars = [...s];
  return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : s;
}
