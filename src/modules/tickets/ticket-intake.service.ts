import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role } from '../../platform/auth/roles';
import { signedIn, withRole } from '../../platform/auth/scope';
import { AfterCommit, inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, FieldProblem, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { render } from '../../platform/i18n/catalogue';
import type { Locale } from '../../platform/i18n/locales';
import { localeOf } from '../../platform/i18n/request-locale';
import { isUuid } from '../../platform/ids';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';
import { customerLocale, customerLocaleIn } from '../accounts/user-locale.service';
import { AutoAnswerState, Conversation } from '../conversations/conversation.entity';
import { Message, MessageKind } from '../conversations/message.entity';
import { PRIORITY_RANK, ServicePriority } from '../conversations/queue-policy';
import type { RoutingAssist } from '../conversations/routing.service';
import { transcriptLines } from '../conversations/transcript';
import { isStronglyNegative } from '../knowledge/classifier';
import { Faq } from '../knowledge/faq.entity';
import type { NotificationService } from '../notifications/notification.service';
import { flagNegative } from '../notifications/supervision.policy';
import type { TicketAssignmentService } from './ticket-assignment.service';
import { MAX_COMMENT_LENGTH, TicketComment } from './ticket-comment.entity';
import { canSee, computeDue, cut, lockTicket, mayUseConversation, TicketTrail } from './ticket-common';
import { CreateTicketInput, MAX_DESCRIPTION, MAX_SUBJECT, MAX_TAG_LENGTH, MAX_TAGS } from './ticket.inputs';
import { Ticket } from './ticket.entity';
import { GENERAL_DEPARTMENT, TicketSettings } from './ticket.settings';

/** A ticket from a conversation quotes at most this many of its latest messages. */
export const TRANSCRIPT_MESSAGES = 200;

/** The knowledge base's part in a new ticket: the classifier's priority and alarm, and auto-answers from FAQs. */
export type TicketAssist = Pick<RoutingAssist, 'faqs' | 'classifier' | 'autoAnswerThreshold'>;

interface NewTicket {
  customerId: string;
  subject: string;
  description: string;
  category: string;
  priority: ServicePriority;
  tags: string[];
  conversationId: string | null;
}

/** New tickets: opened by hand or from a conversation, auto-answered from the FAQs, and the customer's reply to that. */
export class TicketIntakeService {
  constructor(
    private readonly trail: TicketTrail,
    private readonly assignment: TicketAssignmentService,
    private readonly notifications: NotificationService,
    private readonly settings: TicketSettings,
    private readonly businessTz: string,
    private readonly assist: TicketAssist,
  ) {}

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
    if (description.length > MAX_DESCRIPTION)
      problems.push({ field: 'description', message: `must be at most ${MAX_DESCRIPTION} characters` });
    const category = input.category.trim();
    if (!Object.hasOwn(this.settings.categories, category))
      problems.push({ field: 'category', message: `must be one of ${Object.keys(this.settings.categories).join(', ')}` });
    if (input.priority != null && !Object.hasOwn(PRIORITY_RANK, input.priority))
      problems.push({ field: 'priority', message: 'must be URGENT, HIGH, NORMAL or LOW' });
    const tags = normaliseTags(input.tags ?? [], problems);
    if (input.conversationId && !isUuid(input.conversationId))
      problems.push({ field: 'conversationId', message: 'is not a conversation id' });
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
        if (!customer || customer.role !== Role.CUSTOMER || !customer.active)
          throw new InvalidInput('customerId', 'must be an active customer');
      }
      if (input.conversationId) {
        const conversation = await em.findOne(Conversation, { id: input.conversationId });
        if (!conversation) throw new InvalidInput('conversationId', 'is not a conversation');
        if (conversation.customerId !== customerId)
          throw new InvalidInput('conversationId', 'must be a conversation of the ticket’s customer');
        if (!mayUseConversation(viewer, conversation)) throw new Forbidden('This conversation is not yours');
      }
      const ticket = await this.insert(
        em,
        afterCommit,
        scope,
        { customerId, subject, description, category, priority, tags, conversationId: input.conversationId ?? null },
        input.priority ? '' : '; priority by the classifier',
      );
      if (answer) await this.answerWithFaq(em, ticket, answer, await customerLocaleIn(scope, em, customerId));
      if (isStronglyNegative(classification)) {
        await flagNegative(em, afterCommit, this.notifications, {
          departmentId: ticket.departmentId,
          authorId: viewer.id,
          kind: 'NEGATIVE_TICKET',
          title: { id: 'notification.negativeTicket.title', params: { subject: ticket.subject } },
          body: {
            id: 'notification.negativeTicket.body',
            params: { excerpt: cut(ticket.description || ticket.subject, 100), id: ticket.id },
          },
        });
      }
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
        if (!canSee(viewer, existing))
          throw new Conflict(ConflictReason.ALREADY_EXISTS, 'This conversation already has a ticket', { ticketId: existing.id });
        return existing;
      }
      const messages = (
        await em.find(Message, { conversationId, kind: MessageKind.TEXT }, { orderBy: { seq: 'desc' }, limit: TRANSCRIPT_MESSAGES })
      ).reverse();
      const firstWords = messages
        .find((m) => m.senderRole === Role.CUSTOMER)
        ?.content.replace(/\s+/g, ' ')
        .trim();
      // Written by the system for the customer's ticket: in their language, as the conversation's system messages.
      const locale = await customerLocale(em, conversation.customerId, conversation.locale);
      const titled = firstWords
        ? render({ id: 'ticket.fromConversationSubject', params: { topic: conversation.topic, words: firstWords } }, locale)
        : conversation.topic;
      const subject = cut(titled, 100) || render({ id: 'ticket.fromConversationUntitled' }, locale);
      const lines = await transcriptLines(em, messages, this.businessTz, locale);
      const department = conversation.departmentId
        ? await em.findOne(Department, { id: conversation.departmentId }, { fields: ['code'] })
        : null;
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
        throw new Conflict(
          ticket.autoAnswerState ? ConflictReason.ALREADY_ANSWERED : ConflictReason.NOT_ASKED,
          'There is no auto-answer awaiting a reply',
        );
      }
      await this.assist.faqs.voteById(em, ticket.autoAnswerFaqId, viewer.id, helped, ticket.subject);
      if (helped) {
        const faq = await em.findOne(Faq, { id: ticket.autoAnswerFaqId }, { fields: ['question'] });
        const resolution = { id: 'ticket.resolvedByFaq', params: { question: faq?.question ?? '' } } as const;
        const text = render(resolution, localeOf(scope));
        freed = await this.trail.settle(
          em,
          scope,
          ticket,
          'faqResolve',
          text,
          'Resolved by the FAQ auto-answer (the customer said it helped)',
        );
        if (ticket.assigneeId) {
          this.notifications.notify(em, afterCommit, {
            userId: ticket.assigneeId,
            kind: 'TICKET_RESOLVED_BY_FAQ',
            title: { id: 'notification.ticketResolvedByFaq.title', params: { subject: ticket.subject } },
            body: resolution,
          });
        }
      }
      ticket.autoAnswerState = helped ? AutoAnswerState.HELPED : AutoAnswerState.NOT_HELPED;
      await em.flush();
      return ticket;
    });
    if (freed) await this.assignment.drainQuietly(freed);
    return ticket;
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
  private async answerWithFaq(em: EntityManager, ticket: Ticket, faq: Faq, locale: Locale): Promise<void> {
    await this.assist.faqs.recordUse(em, faq);
    ticket.autoAnswerFaqId = faq.id;
    ticket.autoAnswerState = AutoAnswerState.ASKED;
    const question = `\n\n${render({ id: 'chat.autoAnswerQuestion' }, locale)}`;
    em.create(TicketComment, {
      ticketId: ticket.id,
      kind: MessageKind.SYSTEM,
      body: `${cut(faq.answer, MAX_COMMENT_LENGTH - question.length)}${question}`,
      internal: false,
    });
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
    computeDue(this.settings, ticket, { firstResponse: true, resolution: true });
    this.trail.record(em, scope, ticket, {
      action: 'ticket.create',
      targetType: 'Ticket',
      targetId: ticket.id,
      summary: `Opened ${fields.priority} ticket "${fields.subject}" (${fields.category})${fields.conversationId ? ' from a conversation' : ''}${note}`,
    });
    await this.assignment.autoAssign(em, afterCommit, { viewer: null, traceId: scope.traceId }, ticket);
    try {
      await em.flush();
    } catch (err) {
      if (violatedConstraint(err)?.constraint === 'tickets_conversation_key')
        throw new Conflict(ConflictReason.ALREADY_EXISTS, 'This conversation already has a ticket');
      throw err;
    }
    return ticket;
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
}

function normaliseTags(tags: string[], problems: FieldProblem[]): string[] {
  const out = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
  if (out.length > MAX_TAGS) problems.push({ field: 'tags', message: `must be at most ${MAX_TAGS}` });
  if (out.some((t) => t.length > MAX_TAG_LENGTH))
    problems.push({ field: 'tags', message: `each must be at most ${MAX_TAG_LENGTH} characters` });
  return out;
}

/** The end of a long text (the latest of a transcript), marked as cut. */
function lastChars(s: string, n: number): string {
  return s.length > n ? `…${s.slice(s.length - n + 1)}` : s;
}
