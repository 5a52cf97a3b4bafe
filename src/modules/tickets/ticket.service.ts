import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import type { RequestScope } from '../../context';
import { Role, Viewer } from '../../platform/auth/roles';
import { departmentScope, managesDepartment, signedIn, withRole } from '../../platform/auth/scope';
import { addDays, isBusinessDate, startOfBusinessDate } from '../../platform/clock';
import { AfterCommit, inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, FieldProblem, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { Page, paginate } from '../../platform/pagination';
import type { Scheduler } from '../../platform/scheduler';
import { TransitionTable } from '../../platform/state-machine';
import { isUuid } from '../accounts/account.service';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';
import type { AuditRecord, AuditService } from '../audit/audit.service';
import { AutoAnswerState, Conversation } from '../conversations/conversation.entity';
import { Message, MessageKind } from '../conversations/message.entity';
import { PRIORITY_RANK, ServicePriority } from '../conversations/queue-policy';
import type { RoutingAssist } from '../conversations/routing.service';
import { AUTO_ANSWER_QUESTION } from '../conversations/routing.service';
import { isStronglyNegative } from '../knowledge/classifier';
import { Faq } from '../knowledge/faq.entity';
import type { NotificationService } from '../notifications/notification.service';
import { SlaSweep, SlaSweepResult } from './sla-sweep';
import { dueAt } from './sla';
import { MAX_COMMENT_LENGTH, TicketComment } from './ticket-comment.entity';
import { candidatesFor, chooseAgent, lockAssignments, openLoad } from './ticket-routing';
import { OPEN_STATUSES, Ticket, TicketStatus } from './ticket.entity';
import type { CreateTicketInput, TicketCategory, TicketFilter, TicketStats } from './ticket.inputs';
import { TicketOrder } from './ticket.inputs';
import { GENERAL_DEPARTMENT, NEAR_BREACH_SHARE, TicketSettings } from './ticket.settings';
import { ticketStats } from './ticket-stats';

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

export const MAX_SUBJECT = 200;
export const MAX_DESCRIPTION = 5000;
export const MAX_TAGS = 10;
export const MAX_TAG_LENGTH = 30;
export const MAX_REASON = 500;
export const MAX_RATING_COMMENT = 1000;
/** A ticket from a conversation quotes at most this many of its latest messages. */
export const TRANSCRIPT_MESSAGES = 200;
/**
 * The sweep's drain (a backstop for capacity nobody announced, such as a new agent) takes tickets that have
 * waited this long; a newer one was just offered to the agents when it was created, reopened or freed.
 */
const SWEEP_DRAIN_AFTER_SECONDS = 10;
/** Waiting tickets one drain assigns at most (the next drain or sweep takes the rest). */
const DRAIN_BATCH = 100;
/** The audit entries a customer sees in a ticket's trail (no internal reasons). */
export const CUSTOMER_TRAIL_ACTIONS = ['ticket.create', 'ticket.resolve', 'ticket.close', 'ticket.reopen', 'ticket.rate'];

const STEP_UP: Partial<Record<ServicePriority, ServicePriority>> = {
  [ServicePriority.LOW]: ServicePriority.NORMAL,
  [ServicePriority.NORMAL]: ServicePriority.HIGH,
  [ServicePriority.HIGH]: ServicePriority.URGENT,
};

/** The knowledge base's part in a new ticket: the classifier's priority and alarm, and auto-answers from FAQs. */
export type TicketAssist = Pick<RoutingAssist, 'faqs' | 'classifier' | 'autoAnswerThreshold'>;

interface Actor {
  viewer: Viewer | null;
  traceId: string;
}

interface NewTicket {
  customerId: string;
  subject: string;
  description: string;
  category: string;
  priority: ServicePriority;
  tags: string[];
  conversationId: string | null;
}

export class TicketService {
  readonly sweeper: SlaSweep;

  constructor(
    private readonly audit: AuditService,
    private readonly notifications: NotificationService,
    readonly settings: TicketSettings,
    private readonly businessTz: string,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
    private readonly assist: TicketAssist,
  ) {
    this.sweeper = new SlaSweep(notifications, settings, businessTz, logger, em);
  }

  categories(): TicketCategory[] {
    return Object.entries(this.settings.categories).map(([name, departmentCode]) => ({ name, departmentCode }));
  }

  /**
   * Customers for themselves; staff for a customer (customerId). Auto-assigned at once when an agent has room.
   * Without a priority, the classifier's of subject and description. A strongly negative one is flagged to
   * the department's managers; a customer's own that a published FAQ answers well enough gets that answer
   * at once (a system comment) and the question whether it helped (ticketAnswerHelped).
   */
  async create(scope: RequestScope, input: CreateTicketInput): Promise<Ticket> {
    const viewer = signedIn(scope.viewer);
    const problems: FieldProblem[] = [];
    const subject = input.subject.trim();
    if (!subject || subject.length > MAX_SUBJECT) problems.push({ field: 'subject', message: `must be 1 to ${MAX_SUBJECT} characters` });
    const description = input.description.trim();
    if (description.length > MAX_DESCRIPTION) problems.push({ field: 'description', message: `must be at most ${MAX_DESCRIPTION} characters` });
    const category = input.category.trim();
    if (!Object.hasOwn(this.settings.categories, category)) problems.push({ field: 'category', message: `must be one of ${Object.keys(this.settings.categories).join(', ')}` });
    if (input.priority != null && !Object.hasOwn(PRIORITY_RANK, input.priority)) problems.push({ field: 'priority', message: 'must be URGENT, HIGH, NORMAL or LOW' });
    const tags = normaliseTags(input.tags ?? [], problems);
    if (input.conversationId && !isUuid(input.conversationId)) problems.push({ field: 'conversationId', message: 'is not a conversation id' });
    let customerId: string;
    if (viewer.role === Role.CUSTOMER) {
      if (input.customerId && input.customerId !== viewer.id) throw new Forbidden('Customers open tickets for themselves only');
      customerId = viewer.id;
    } else {
      customerId = input.customerId ?? '';
      if (!customerId) problems.push({ field: 'customerId', message: 'is required when the staff open a ticket' });
      else if (!isUuid(customerId)) problems.push({ field: 'customerId', message: 'is not a user id' });
    }
    if (problems.length) throw new InvalidInput(problems);

    const classification = this.assist.classifier.classify(description ? `${subject}\n${description}` : subject);
    const priority = input.priority ?? classification.priority;
    // Looked up before the transaction (the search may need a connection of its own to catch its index up);
    // the use is counted in the transaction.
    const answer = viewer.role === Role.CUSTOMER ? await this.autoAnswerFor(scope.em, subject, description) : null;
    return inTransaction(scope.em, async (em, afterCommit) => {
      if (viewer.role !== Role.CUSTOMER) {
        const customer = await em.findOne(User, { id: customerId }, { fields: ['id', 'role', 'active'] });
        if (!customer || customer.role !== Role.CUSTOMER || !customer.active) throw new InvalidInput('customerId', 'must be an active customer');
      }
      if (input.conversationId) {
        const conversation = await em.findOne(Conversation, { id: input.conversationId });
        if (!conversation) throw new InvalidInput('conversationId', 'is not a conversation');
        if (conversation.customerId !== customerId) throw new InvalidInput('conversationId', 'must be a conversation of the ticket’s customer');
        if (!mayUseConversation(viewer, conversation)) throw new Forbidden('This conversation is not yours');
      }
      const ticket = await this.insert(
        em,
        afterCommit,
        scope,
        { customerId, subject, description, category, priority, tags, conversationId: input.conversationId ?? null },
        input.priority ? '' : '; priority by the classifier',
      );
      if (answer) await this.answerWithFaq(em, ticket, answer);
      if (isStronglyNegative(classification)) await this.flagNegative(em, afterCommit, ticket, viewer.id);
      return ticket;
    });
  }

  /**
   * A ticket that carries a conversation on: its customer, priority and topic, and the transcript as the
   * description. Asked again for the same conversation, it returns the ticket already made.
   */
  async fromConversation(scope: RequestScope, conversationId: string): Promise<Ticket> {
    const viewer = signedIn(scope.viewer);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const conversation = isUuid(conversationId) ? await em.findOne(Conversation, { id: conversationId }) : null;
      if (!conversation) throw new NotFound('Conversation', conversationId);
      if (!mayUseConversation(viewer, conversation)) throw new Forbidden('This conversation is not yours');
      const existing = await em.findOne(Ticket, { conversationId });
      if (existing) {
        if (!canSee(viewer, existing)) throw new Conflict('This conversation already has a ticket', { ticketId: existing.id });
        return existing;
      }
      const messages = (
        await em.find(Message, { conversationId, kind: MessageKind.TEXT }, { orderBy: { seq: 'desc' }, limit: TRANSCRIPT_MESSAGES })
      ).reverse();
      const senders = new Map(
        (await em.find(User, { id: { $in: [...new Set(messages.map((m) => m.senderId).filter((id): id is string => Boolean(id)))] } }, { fields: ['id', 'displayName'] })).map((u) => [
          u.id,
          u.displayName,
        ]),
      );
      const firstWords = messages.find((m) => m.senderRole === Role.CUSTOMER)?.content.replace(/\s+/g, ' ').trim();
      const subject = cut(firstWords ? `${conversation.topic}：${firstWords}` : conversation.topic, 100) || '会话转工单';
      const lines = messages.map((m) => transcriptLine(m, m.senderId ? (senders.get(m.senderId) ?? '') : '系统', this.businessTz));
      const department = conversation.departmentId ? await em.findOne(Department, { id: conversation.departmentId }, { fields: ['code'] }) : null;
      return this.insert(em, afterCommit, scope, {
        customerId: conversation.customerId,
        subject,
        description: lastChars(lines.join('\n'), MAX_DESCRIPTION),
        category: this.categoryFor(conversation.topic, department?.code ?? null),
        priority: conversation.priority,
        tags: conversation.skill ? [cut(conversation.skill, MAX_TAG_LENGTH)] : [],
        conversationId,
      });
    });
  }

  async get(scope: RequestScope, id: string): Promise<Ticket> {
    const viewer = signedIn(scope.viewer);
    const ticket = isUuid(id) ? await scope.em.findOne(Ticket, { id }) : null;
    if (!ticket) throw new NotFound('Ticket', id);
    if (!canSee(viewer, ticket)) throw new Forbidden('This ticket is not yours to see');
    return ticket;
  }

  /**
   * Customers: their own. Agents: theirs and their department's unassigned queue. Managers: their
   * department. Admins: all. In queue order (priority, then the nearest due time) unless NEWEST is asked.
   */
  async list(scope: RequestScope, filter: TicketFilter, first: number, after?: string | null): Promise<Page<Ticket>> {
    const viewer = signedIn(scope.viewer);
    const and: Array<FilterQuery<Ticket>> = [];
    for (const field of ['departmentId', 'assigneeId', 'customerId'] as const) {
      if (filter[field] && !isUuid(filter[field]!)) throw new InvalidInput(field, 'is not an id');
    }
    switch (viewer.role) {
      case Role.CUSTOMER:
        if (filter.customerId && filter.customerId !== viewer.id) throw new Forbidden('Customers see their own tickets only');
        and.push({ customerId: viewer.id });
        break;
      case Role.AGENT:
        if (filter.assigneeId && filter.assigneeId !== viewer.id) throw new Forbidden('Agents see their own tickets and their department’s queue');
        if (filter.departmentId && filter.departmentId !== viewer.departmentId) throw new Forbidden('Agents see their own department’s queue only');
        and.push(viewer.departmentId ? { $or: [{ assigneeId: viewer.id }, { departmentId: viewer.departmentId, assigneeId: null }] } : { assigneeId: viewer.id });
        break;
      case Role.MANAGER: {
        const department = departmentScope(viewer, filter.departmentId);
        if (!department) return { nodes: [], pageInfo: { endCursor: null, hasNextPage: false } };
        and.push({ departmentId: department });
        break;
      }
      case Role.ADMIN:
        if (filter.departmentId) and.push({ departmentId: filter.departmentId });
        break;
    }
    if (filter.status?.length) and.push({ status: { $in: filter.status } });
    if (filter.priority) and.push({ priority: filter.priority });
    if (filter.category) and.push({ category: filter.category });
    if (filter.assigneeId) and.push({ assigneeId: filter.assigneeId });
    if (filter.customerId) and.push({ customerId: filter.customerId });
    if (filter.unassigned === true) and.push({ assigneeId: null });
    if (filter.unassigned === false) and.push({ assigneeId: { $ne: null } });
    if (filter.tag) and.push({ tags: { $overlap: [filter.tag.trim()] } });
    const where = (and.length === 1 ? and[0] : { $and: and }) as FilterQuery<Ticket>;
    const orderBy =
      filter.order === TicketOrder.NEWEST
        ? ({ createdAt: 'desc', id: 'desc' } as const)
        : ({ priorityRank: 'asc', nextDueAt: 'asc', id: 'asc' } as const);
    return paginate(scope.em, Ticket, where, { first, after, orderBy });
  }

  /**
   * Managers assign to their department's agents, admins to any agent; an agent takes an unassigned ticket
   * of their department for themselves. Never beyond TICKET_AGENT_LIMIT open tickets.
   */
  async assign(scope: RequestScope, id: string, agentId?: string | null): Promise<Ticket> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER, Role.AGENT);
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
      if (viewer.role === Role.MANAGER && agent.departmentId !== viewer.departmentId) throw new Forbidden('Managers assign to the agents of their own department');
      TICKET_FLOW.next(ticket.status, 'assign');
      if (ticket.assigneeId === agent.id) throw new Conflict(`The ticket is already assigned to ${agent.displayName}`);
      await lockAssignments(em, agent.departmentId);
      const load = await openLoad(em, agent.id);
      if (load >= this.settings.agentLimit) {
        throw new Conflict(`${agent.displayName} already holds ${load} open tickets (the limit is ${this.settings.agentLimit})`, { reason: 'AGENT_AT_LIMIT' });
      }
      if (ticket.assigneeId) freed = (await em.findOne(User, { id: ticket.assigneeId }, { fields: ['departmentId'] }))?.departmentId ?? null;
      this.applyAssignment(em, afterCommit, scope, ticket, agent, false);
      await em.flush();
      return ticket;
    });
    if (freed) await this.drainQuietly(freed);
    return ticket;
  }

  /** One priority step up (LOW → NORMAL → HIGH → URGENT); due times recomputed; the department's managers told. */
  async escalate(scope: RequestScope, id: string, reason: string): Promise<Ticket> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER, Role.AGENT);
    const why = reason.trim();
    if (!why || why.length > MAX_REASON) throw new InvalidInput('reason', `must be 1 to ${MAX_REASON} characters`);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const ticket = await lockTicket(em, id);
      this.requireWorker(viewer, ticket);
      requireOpen(ticket, 'escalated');
      const from = ticket.priority;
      const to = STEP_UP[from];
      if (!to) throw new Conflict(`The ticket is already ${from}, the highest priority: it cannot be escalated`, { reason: 'TOP_PRIORITY' });
      ticket.priority = to;
      this.computeDue(ticket, { firstResponse: true, resolution: true });
      ticket.escalationCount += 1;
      ticket.escalatedAt = new Date();
      this.record(em, scope, ticket, {
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
          title: `工单升级为 ${to}：${ticket.subject}`,
          body: `${why}（解决截止 ${this.format(ticket.resolutionDueAt)}）`,
        });
      }
      await em.flush();
      return ticket;
    });
  }

  /** The assignee, the department's managers or an admin resolve; the customer is told. */
  async resolve(scope: RequestScope, id: string, resolution: string): Promise<Ticket> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER, Role.AGENT);
    const text = resolution.trim();
    if (!text || text.length > MAX_DESCRIPTION) throw new InvalidInput('resolution', `must be 1 to ${MAX_DESCRIPTION} characters`);
    let freed: string | null = null;
    const ticket = await inTransaction(scope.em, async (em, afterCommit) => {
      const ticket = await lockTicket(em, id);
      this.requireWorker(viewer, ticket);
      freed = await this.settle(em, scope, ticket, 'resolve', text, 'Resolved');
      this.notifications.notify(em, afterCommit, {
        userId: ticket.customerId,
        kind: 'TICKET_RESOLVED',
        title: `工单已解决：${ticket.subject}`,
        body: text,
      });
      await em.flush();
      return ticket;
    });
    if (freed) await this.drainQuietly(freed);
    return ticket;
  }

  /**
   * The customer's reply to a ticket's auto-answer, once: their feedback on the FAQ is recorded. Helped: the
   * ticket is RESOLVED (by the system on their behalf), its owner told and their capacity offered to the
   * department's queue. Not helped: NOT_HELPED, and the ticket stays exactly where it was.
   */
  async answerHelped(scope: RequestScope, id: string, helped: boolean): Promise<Ticket> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    let freed: string | null = null;
    const ticket = await inTransaction(scope.em, async (em, afterCommit) => {
      const ticket = await lockTicket(em, id);
      if (ticket.customerId !== viewer.id) throw new Forbidden('Only the ticket’s customer answers this');
      if (!ticket.autoAnswerFaqId || ticket.autoAnswerState !== AutoAnswerState.ASKED) {
        throw new Conflict('There is no auto-answer awaiting a reply', { reason: ticket.autoAnswerState ? 'ALREADY_ANSWERED' : 'NOT_ASKED' });
      }
      await this.assist.faqs.voteById(em, ticket.autoAnswerFaqId, viewer.id, helped, ticket.subject);
      if (helped) {
        const faq = await em.findOne(Faq, { id: ticket.autoAnswerFaqId }, { fields: ['question'] });
        const text = `客户确认常见问题“${faq?.question ?? ''}”的回答已解决问题。`;
        freed = await this.settle(em, scope, ticket, 'faqResolve', text, 'Resolved by the FAQ auto-answer (the customer said it helped)');
        if (ticket.assigneeId) {
          this.notifications.notify(em, afterCommit, { userId: ticket.assigneeId, kind: 'TICKET_RESOLVED_BY_FAQ', title: `工单已由常见问题解决：${ticket.subject}`, body: text });
        }
      }
      ticket.autoAnswerState = helped ? AutoAnswerState.HELPED : AutoAnswerState.NOT_HELPED;
      await em.flush();
      return ticket;
    });
    if (freed) await this.drainQuietly(freed);
    return ticket;
  }

  /** A resolved ticket is closed by its customer or by the staff who may work on it. */
  close(scope: RequestScope, id: string): Promise<Ticket> {
    const viewer = signedIn(scope.viewer);
    return inTransaction(scope.em, async (em) => {
      const ticket = await lockTicket(em, id);
      this.requireOwnerOrWorker(viewer, ticket);
      ticket.status = TICKET_FLOW.next(ticket.status, 'close');
      ticket.closedAt = new Date();
      this.record(em, scope, ticket, { action: 'ticket.close', targetType: 'Ticket', targetId: ticket.id, summary: 'Closed' });
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
      this.requireOwnerOrWorker(viewer, ticket);
      const status = TICKET_FLOW.next(ticket.status, 'reopen');
      const now = new Date();
      const windowEnds = new Date(ticket.resolvedAt!.getTime() + this.settings.reopenWindowDays * 86_400_000);
      if (now > windowEnds) {
        throw new Conflict(`The ticket was resolved more than ${this.settings.reopenWindowDays} day(s) ago: it can no longer be reopened`, { reason: 'REOPEN_WINDOW_PASSED' });
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
      this.computeDue(ticket, { firstResponse: false, resolution: true });
      let kept = false;
      if (ticket.assigneeId) {
        const agent = await em.findOne(User, { id: ticket.assigneeId });
        if (agent?.active) {
          await lockAssignments(em, agent.departmentId);
          kept = (await openLoad(em, agent.id)) < this.settings.agentLimit;
        }
        if (kept) {
          this.notifications.notify(em, afterCommit, { userId: agent!.id, kind: 'TICKET_REOPENED', title: `工单被重新打开：${ticket.subject}`, body: why ?? '' });
        } else {
          ticket.assigneeId = null;
          ticket.assignedAt = null;
        }
      }
      this.record(em, scope, ticket, {
        action: 'ticket.reopen',
        targetType: 'Ticket',
        targetId: ticket.id,
        summary: `Reopened (${kept ? 'back to its assignee' : 'to the queue'}); resolution due ${this.format(ticket.resolutionDueAt)}`,
        comment: why,
      });
      if (!kept) await this.autoAssign(em, afterCommit, { viewer: null, traceId: scope.traceId }, ticket);
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
      if (ticket.status === TicketStatus.CLOSED) throw new Conflict('The ticket is CLOSED: it takes no more comments', { state: ticket.status, action: 'comment' });
      const comment = em.create(TicketComment, { ticketId: ticket.id, authorId: viewer.id, authorRole: viewer.role, body: text, internal });
      const staff = viewer.role !== Role.CUSTOMER;
      if (staff && !internal && !ticket.firstResponseAt && ticket.isOpen) ticket.firstResponseAt = comment.createdAt;
      if (ticket.assigneeId === viewer.id && TICKET_FLOW.allowed(ticket.status).includes('start')) {
        ticket.status = TICKET_FLOW.next(ticket.status, 'start');
        this.record(em, scope, ticket, { action: 'ticket.start', targetType: 'Ticket', targetId: ticket.id, summary: 'Work started (first comment of the assignee)' });
      }
      await em.flush();
      return comment;
    });
  }

  /** The customer rates a resolved (or closed) ticket once: 1–5. */
  rate(scope: RequestScope, id: string, score: number, comment?: string | null): Promise<Ticket> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    const problems: FieldProblem[] = [];
    if (!Number.isInteger(score) || score < 1 || score > 5) problems.push({ field: 'score', message: 'must be a whole number from 1 to 5' });
    const text = comment?.trim() || null;
    if (text && text.length > MAX_RATING_COMMENT) problems.push({ field: 'comment', message: `must be at most ${MAX_RATING_COMMENT} characters` });
    if (problems.length) throw new InvalidInput(problems);
    return inTransaction(scope.em, async (em) => {
      const ticket = await lockTicket(em, id);
      if (ticket.customerId !== viewer.id) throw new Forbidden('Customers rate their own tickets only');
      if (ticket.status !== TicketStatus.RESOLVED && ticket.status !== TicketStatus.CLOSED) {
        throw new Conflict(`The ticket is ${ticket.status}: only a resolved or closed ticket is rated`, { state: ticket.status, action: 'rate' });
      }
      if (ticket.rating !== null) throw new Conflict('The ticket is rated already', { state: ticket.status, action: 'rate' });
      ticket.rating = score;
      ticket.ratingComment = text;
      ticket.ratedAt = new Date();
      this.record(em, scope, ticket, { action: 'ticket.rate', targetType: 'Ticket', targetId: ticket.id, summary: `Rated ${score}/5`, comment: text });
      await em.flush();
      return ticket;
    });
  }

  /** Comments of a ticket the caller already may see; internal ones never reach customers (filtered in SQL). */
  comments(em: EntityManager, viewer: Viewer | null, ticketId: string): Promise<TicketComment[]> {
    const where: FilterQuery<TicketComment> = !viewer || viewer.role === Role.CUSTOMER ? { ticketId, internal: false } : { ticketId };
    return em.find(TicketComment, where, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  async stats(scope: RequestScope, from: string, to: string, departmentId?: string | null): Promise<TicketStats> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const problems: FieldProblem[] = [];
    if (!isBusinessDate(from)) problems.push({ field: 'from', message: 'must be a real date YYYY-MM-DD' });
    if (!isBusinessDate(to)) problems.push({ field: 'to', message: 'must be a real date YYYY-MM-DD' });
    if (!problems.length && to < from) problems.push({ field: 'to', message: 'must not be before from' });
    if (departmentId && !isUuid(departmentId)) problems.push({ field: 'departmentId', message: 'is not an id' });
    if (problems.length) throw new InvalidInput(problems);
    const department = departmentScope(viewer, departmentId);
    if (viewer.role === Role.MANAGER && !department) throw new Forbidden('Managers without a department have no ticket statistics');
    const start = startOfBusinessDate(from, this.businessTz);
    const end = startOfBusinessDate(addDays(to, 1), this.businessTz);
    return ticketStats(scope.em, { from, to, start, end, departmentId: department, categories: Object.keys(this.settings.categories) });
  }

  // ——— the scheduler's side ———

  start(scheduler: Scheduler): void {
    scheduler.every('ticket-sla-sweep', this.settings.sweepEveryMs, () => this.sweep());
  }

  /** Warnings and breaches (once each, one process at a time), then every department's waiting tickets. */
  async sweep(): Promise<SlaSweepResult & { assigned: number }> {
    const result = await this.sweeper.run();
    let assigned = 0;
    const rows = await this.em().execute<Array<{ department_id: string }>>(
      `SELECT DISTINCT department_id FROM tickets
        WHERE assignee_id IS NULL AND status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'REOPENED') AND department_id IS NOT NULL
          AND updated_at < now() - make_interval(secs => ?)`,
      [SWEEP_DRAIN_AFTER_SECONDS],
    );
    for (const r of rows) assigned += await this.drainQuietly(r.department_id, SWEEP_DRAIN_AFTER_SECONDS);
    return { ...result, assigned };
  }

  /**
   * Capacity appeared in a department: its waiting tickets (queue order) go to agents below the limit,
   * until none is left. Tickets another transaction holds are skipped (the next drain takes them).
   */
  drain(departmentId: string, waitedSeconds = 0): Promise<number> {
    const actor: Actor = { viewer: null, traceId: randomUUID() };
    return inTransaction(this.em(), async (em, afterCommit) => {
      await lockAssignments(em, departmentId);
      const waiting = await em.find(
        Ticket,
        {
          departmentId,
          assigneeId: null,
          status: { $in: [TicketStatus.NEW, TicketStatus.REOPENED] },
          ...(waitedSeconds > 0 ? { updatedAt: { $lt: new Date(Date.now() - waitedSeconds * 1000) } } : {}),
        },
        { orderBy: { priorityRank: 'asc', nextDueAt: 'asc', id: 'asc' }, limit: DRAIN_BATCH, lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE },
      );
      let assigned = 0;
      for (const ticket of waiting) {
        if (!(await this.autoAssign(em, afterCommit, actor, ticket))) break; // no agent has room: none will for the rest
        await em.flush(); // the next candidate query counts this assignment
        assigned++;
      }
      return assigned;
    });
  }

  private async drainQuietly(departmentId: string, waitedSeconds = 0): Promise<number> {
    try {
      return await this.drain(departmentId, waitedSeconds);
    } catch (err) {
      this.logger.error({ err, departmentId }, 'draining the ticket queue failed');
      return 0;
    }
  }

  // ——— helpers ———

  /** Entries of one ticket written in one transaction get strictly increasing times, so its trail keeps their order. */
  private readonly lastAudit = new WeakMap<Ticket, number>();

  private record(em: EntityManager, actor: Actor, ticket: Ticket, entry: AuditRecord): void {
    const row = this.audit.record(em, actor, entry);
    const last = this.lastAudit.get(ticket) ?? 0;
    if (row.createdAt.getTime() <= last) row.createdAt = new Date(last + 1);
    this.lastAudit.set(ticket, row.createdAt.getTime());
  }

  /**
   * A ticket RESOLVED through `action`, audited as ticket.resolve (a resolution without a first response counts
   * as one). Returns the department whose capacity it frees (its assignee's), if it was held.
   */
  private async settle(em: EntityManager, actor: Actor, ticket: Ticket, action: 'resolve' | 'faqResolve', text: string, summary: string): Promise<string | null> {
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

  /**
   * The published FAQ that answers a new ticket at AUTO_ANSWER_THRESHOLD, or null. The subject is searched alone
   * and together with the description, and the better score counts: a score measures the FAQ against every
   * word of the query, so the details of a long description would otherwise hide a subject that matches well.
   */
  private async autoAnswerFor(em: EntityManager, subject: string, description: string): Promise<Faq | null> {
    let best: { faq: Faq; score: number } | null = null;
    for (const query of description ? [subject, `${subject}\n${description}`] : [subject]) {
      const found = await this.assist.faqs.bestAnswer(em, query, { recordUse: false });
      if (found && (!best || found.score > best.score)) best = found;
    }
    return best && best.score >= this.assist.autoAnswerThreshold ? best.faq : null;
  }

  /** The FAQ's answer as a public system comment asking whether it helped; the use counted. Not a first response. */
  private async answerWithFaq(em: EntityManager, ticket: Ticket, faq: Faq): Promise<void> {
    await this.assist.faqs.recordUse(em, faq);
    ticket.autoAnswerFaqId = faq.id;
    ticket.autoAnswerState = AutoAnswerState.ASKED;
    const question = `\n\n${AUTO_ANSWER_QUESTION}`;
    em.create(TicketComment, { ticketId: ticket.id, kind: MessageKind.SYSTEM, body: `${cut(faq.answer, MAX_COMMENT_LENGTH - question.length)}${question}`, internal: false });
    await em.flush();
  }

  /** Tells the department's managers (no department or no manager: the admins), but not the ticket's author, about a strongly negative ticket. */
  private async flagNegative(em: EntityManager, afterCommit: AfterCommit, ticket: Ticket, authorId: string): Promise<void> {
    for (const userId of await supervisorsOf(em, ticket.departmentId, authorId)) {
      this.notifications.notify(em, afterCommit, {
        userId,
        kind: 'NEGATIVE_TICKET',
        title: `情绪强烈的工单：${ticket.subject}`,
        body: `${cut(ticket.description || ticket.subject, 100)}\n(工单 ${ticket.id})`,
      });
    }
    await em.flush();
  }

  private async insert(em: EntityManager, afterCommit: AfterCommit, scope: RequestScope, fields: NewTicket, note = ''): Promise<Ticket> {
    const departmentId = await this.departmentFor(em, fields.category);
    const now = new Date();
    const ticket = em.create(Ticket, {
      ...fields,
      createdById: scope.viewer!.id,
      departmentId,
      createdAt: now,
      resolutionStartedAt: now,
      // set just below
      firstResponseDueAt: now,
      firstResponseWarnAt: now,
      resolutionDueAt: now,
      resolutionWarnAt: now,
      nextDueAt: now,
    });
    this.computeDue(ticket, { firstResponse: true, resolution: true });
    this.record(em, scope, ticket, {
      action: 'ticket.create',
      targetType: 'Ticket',
      targetId: ticket.id,
      summary: `Opened ${fields.priority} ticket "${fields.subject}" (${fields.category})${fields.conversationId ? ' from a conversation' : ''}${note}`,
    });
    await this.autoAssign(em, afterCommit, { viewer: null, traceId: scope.traceId }, ticket);
    try {
      await em.flush();
    } catch (err) {
      if (violatedConstraint(err)?.constraint === 'tickets_conversation_key') throw new Conflict('This conversation already has a ticket');
      throw err;
    }
    return ticket;
  }

  /**
   * Gives a waiting ticket to the best agent of its department (see ticket-routing.ts), under the
   * department's assignment lock. False when nobody has room (or the ticket has no department).
   */
  private async autoAssign(em: EntityManager, afterCommit: AfterCommit, actor: Actor, ticket: Ticket): Promise<boolean> {
    if (!ticket.departmentId || ticket.assigneeId) return false;
    await lockAssignments(em, ticket.departmentId);
    const chosen = chooseAgent(await candidatesFor(em, ticket.departmentId, ticket.category, ticket.tags), this.settings.agentLimit);
    if (!chosen) return false;
    const agent = await em.findOneOrFail(User, { id: chosen.id });
    this.applyAssignment(em, afterCommit, actor, ticket, agent, true, chosen.open);
    return true;
  }

  private applyAssignment(em: EntityManager, afterCommit: AfterCommit, actor: Actor, ticket: Ticket, agent: User, auto: boolean, load?: number): void {
    const previous = ticket.assigneeId;
    ticket.status = TICKET_FLOW.next(ticket.status, 'assign');
    ticket.assigneeId = agent.id;
    ticket.assignedAt = new Date();
    this.record(em, actor, ticket, {
      action: 'ticket.assign',
      targetType: 'Ticket',
      targetId: ticket.id,
      summary: auto
        ? `Auto-assigned to ${agent.displayName} (${load ?? 0} open ticket(s) before)`
        : `${previous ? 'Reassigned' : 'Assigned'} to ${agent.displayName}`,
    });
    this.notifications.notify(em, afterCommit, {
      userId: agent.id,
      kind: 'TICKET_ASSIGNED',
      title: `新工单（${ticket.priority}）：${ticket.subject}`,
      body: `${ticket.category} · 首次响应截止 ${this.format(ticket.firstResponseDueAt)} · 解决截止 ${this.format(ticket.resolutionDueAt)}`,
    });
  }

  /** Due and warning times from the SLA of the ticket's priority; a recomputed deadline gets fresh sweep guards. */
  private computeDue(ticket: Ticket, which: { firstResponse: boolean; resolution: boolean }): void {
    const target = this.settings.sla[ticket.priority];
    const calendar = this.settings.calendar;
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

  /** The category's department, else `general`, else none. */
  private async departmentFor(em: EntityManager, category: string): Promise<string | null> {
    const code = this.settings.categories[category];
    const rows = await em.find(Department, { code: { $in: [code, GENERAL_DEPARTMENT] } }, { fields: ['id', 'code'] });
    return (rows.find((d) => d.code === code) ?? rows.find((d) => d.code === GENERAL_DEPARTMENT))?.id ?? null;
  }

  /** A conversation's category: its topic when that is a category, else one mapped to its department, else the general one. */
  private categoryFor(topic: string, departmentCode: string | null): string {
    const entries = Object.entries(this.settings.categories);
    if (Object.hasOwn(this.settings.categories, topic.trim())) return topic.trim();
    return (
      entries.find(([, code]) => departmentCode !== null && code === departmentCode)?.[0] ??
      entries.find(([, code]) => code === GENERAL_DEPARTMENT)?.[0] ??
      entries[0][0]
    );
  }

  /** Staff who may work on a ticket: its assignee, the managers of its department, admins. */
  private requireWorker(viewer: Viewer, ticket: Ticket): void {
    if (viewer.role === Role.ADMIN) return;
    if (viewer.role === Role.MANAGER && managesDepartment(viewer, ticket.departmentId)) return;
    if (viewer.role === Role.AGENT && ticket.assigneeId === viewer.id) return;
    throw new Forbidden('Only the ticket’s assignee, its department’s managers or an admin do this');
  }

  private requireOwnerOrWorker(viewer: Viewer, ticket: Ticket): void {
    if (viewer.role === Role.CUSTOMER) {
      if (ticket.customerId !== viewer.id) throw new Forbidden('This ticket is not yours');
      return;
    }
    this.requireWorker(viewer, ticket);
  }

  private format(instant: Date): string {
    return DateTime.fromJSDate(instant, { zone: this.businessTz }).toFormat('yyyy-MM-dd HH:mm');
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

function mayUseConversation(viewer: Viewer, c: Conversation): boolean {
  if (viewer.role === Role.CUSTOMER) return c.customerId === viewer.id;
  if (viewer.role === Role.AGENT) return c.agentId === viewer.id;
  return managesDepartment(viewer, c.departmentId);
}

function requireOpen(ticket: Ticket, pastTense: string): void {
  if (!OPEN_STATUSES.includes(ticket.status)) {
    throw new Conflict(`The ticket is ${ticket.status}: it cannot be ${pastTense}`, { state: ticket.status, action: pastTense });
  }
}

async function lockTicket(em: EntityManager, id: string): Promise<Ticket> {
  const ticket = isUuid(id) ? await em.findOne(Ticket, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
  if (!ticket) throw new NotFound('Ticket', id);
  return ticket;
}

/** The managers of a department (else the admins), without `except`. */
export async function supervisorsOf(em: EntityManager, departmentId: string | null, except?: string): Promise<string[]> {
  const managers = departmentId ? await em.find(User, { role: Role.MANAGER, departmentId, active: true }, { fields: ['id'] }) : [];
  const people = managers.length ? managers : await em.find(User, { role: Role.ADMIN, active: true }, { fields: ['id'] });
  return people.map((u) => u.id).filter((id) => id !== except);
}

function normaliseTags(tags: string[], problems: FieldProblem[]): string[] {
  const out = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
  if (out.length > MAX_TAGS) problems.push({ field: 'tags', message: `must be at most ${MAX_TAGS}` });
  if (out.some((t) => t.length > MAX_TAG_LENGTH)) problems.push({ field: 'tags', message: `each must be at most ${MAX_TAG_LENGTH} characters` });
  return out;
}

function cut(s: string, n: number): string {
  const chars = [...s];
  return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : s;
}

/** The end of a long text (the latest of a transcript), marked as cut. */
function lastChars(s: string, n: number): string {
  return s.length > n ? `…${s.slice(s.length - n + 1)}` : s;
}

function transcriptLine(m: Message, name: string, zone: string): string {
  const time = DateTime.fromJSDate(m.createdAt, { zone }).toFormat('yyyy-MM-dd HH:mm:ss');
  return `[${time}][${m.senderRole ?? 'SYSTEM'}][${name}] ${m.content.replace(/\s+/g, ' ').trim()}`;
}
