import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import type { Config } from '../../config';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { render } from '../../platform/i18n/catalogue';
import { localeOf } from '../../platform/i18n/request-locale';
import type { FaqService } from '../knowledge/faq.service';
import type { MessageClassifier } from '../knowledge/classifier';
import { isStronglyNegative } from '../knowledge/classifier';
import type { NotificationService } from '../notifications/notification.service';
import { flagNegative } from '../notifications/supervision.policy';
import type { AgentPool, Target } from './agent-pool';
import { type ChatService, lockConversation } from './chat.service';
import { ConversationQueue, ServiceRequestResult, ServiceRequestStatus } from './conversation-queue.service';
import { AutoAnswerState, Conversation, ConversationStatus, EndReason, MAX_TOPIC_LENGTH, rankOf } from './conversation.entity';
import type { TextProtector } from '../records/text-protector';
import { customersWithOpenConversations, insertConversations, insertFirstMessages, newConversation } from './conversation-rows';
import { PendingRequest, RequestTriage, RoutableRequest } from './request-triage';
import { GroupCommit } from './group-commit';
import { Message, MAX_MESSAGE_LENGTH } from './message.entity';
import type { LineFigures, QueueEstimates } from './queue-estimates';
import { classifyPriority, parsePriorityRules, PriorityRule, ServicePriority } from './queue-policy';
import type { QueueReason, WaitEstimateBasis } from './queue-reason';
import { ROUND_FULL, SeatPlan } from './seat-plan';

/** The knowledge base's part in a request: auto-answers from FAQs, and the classifier's priority and alarm. */
export interface RoutingAssist {
  faqs: FaqService;
  classifier: MessageClassifier;
  notifications: NotificationService;
  autoAnswerThreshold: number;
}

/** What routing decided: a new conversation (ACTIVE, or QUEUED with what the customer is told), the customer's open one, or none (the line is full). */
interface RequestDecision {
  conversation: Conversation | null;
  fresh: boolean;
  queued: { position: number; estimatedWaitSeconds: number | null; estimateBasis: WaitEstimateBasis; queueReason: QueueReason } | null;
}

/**
 * Requests arriving within this many ms of each other are decided in one transaction; a batch holds at most
 * REQUEST_BATCH_MAX (a longer transaction would hold the routing lock, and the first callers, longer).
 */
const REQUEST_BATCH_WINDOW_MS = 2;
const REQUEST_BATCH_MAX = 200;

/**
 * Routing and the queue. A request goes to the least-loaded eligible agent (ties: the one assigned
 * longest ago) or waits; capacity that appears (an agent coming online or available, a chat ending)
 * is offered to the queue at once, and a periodic sweep backs that up.
 */
export class RoutingService {
  private readonly rules: PriorityRule[];
  private readonly triage: RequestTriage;
  /**
   * Two stages, each batching: what needs no lock (topics, FAQ search) for one batch runs while the previous
   * batch is decided under the routing lock, so the lock's batches follow each other without gaps. Batches
   * leave the first stage in arrival order, so the second decides in arrival order too.
   */
  private readonly preparing = new GroupCommit<PendingRequest, RoutableRequest>((batch) => this.triage.prepare(batch), {
    windowMs: REQUEST_BATCH_WINDOW_MS,
    maxBatch: REQUEST_BATCH_MAX,
  });
  private readonly requests = new GroupCommit<RoutableRequest, RequestDecision>((batch) => this.decideRequests(batch), {
    windowMs: 0,
    maxBatch: REQUEST_BATCH_MAX,
  });

  constructor(
    private readonly config: Config['service'],
    private readonly pool: AgentPool,
    private readonly line: ConversationQueue,
    private readonly estimates: QueueEstimates,
    private readonly chat: Pick<ChatService, 'close' | 'systemMessage'>,
    private readonly em: () => EntityManager,
    private readonly assist: RoutingAssist,
    private readonly protector: TextProtector,
  ) {
    this.rules = parsePriorityRules(config.priorityRules);
    this.triage = new RequestTriage(assist.faqs, assist.autoAnswerThreshold, em);
  }

  /**
   * The customer's reply to an auto-answer: their feedback on the FAQ is recorded; helped ends the request
   * (RESOLVED_BY_FAQ, freeing an agent's slot if one was assigned), not helped leaves it exactly where it is.
   */
  async answerHelped(scope: RequestScope, conversationId: string, helped: boolean): Promise<Conversation> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    return inTransaction(scope.em, async (em, afterCommit) => {
      if (helped) await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.ROUTING]);
      const c = await lockConversation(em, conversationId);
      if (c.customerId !== viewer.id) throw new Forbidden('Only the conversation’s customer answers this');
      if (!c.autoAnswerFaqId || c.autoAnswerState !== AutoAnswerState.ASKED)
        throw new Conflict(
          c.autoAnswerState ? ConflictReason.ALREADY_ANSWERED : ConflictReason.NOT_ASKED,
          'There is no auto-answer awaiting a reply',
        );
      // The customer's question (their request, seq 1) lets the knowledge base learn from the answer.
      const question = await em.findOne(Message, { conversationId: c.id, seq: 1 }, { fields: ['content'] });
      await this.assist.faqs.voteById(em, c.autoAnswerFaqId, viewer.id, helped, question?.content);
      if (helped) {
        if (c.status === ConversationStatus.ENDED)
          throw new Conflict(ConflictReason.CONVERSATION_ENDED, 'The conversation has already ended');
        c.autoAnswerState = AutoAnswerState.HELPED;
        await this.chat.close(em, afterCommit, c, EndReason.RESOLVED_BY_FAQ);
      } else {
        c.autoAnswerState = AutoAnswerState.NOT_HELPED;
      }
      await em.flush();
      return c;
    });
  }

  async requestService(
    scope: RequestScope,
    input: { topic: string; message: string; priority?: ServicePriority | null },
  ): Promise<ServiceRequestResult> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    const topic = input.topic.trim();
    const message = input.message.trim();
    const problems = [];
    if (!topic || topic.length > MAX_TOPIC_LENGTH)
      problems.push({ field: 'topic', message: `must be 1 to ${MAX_TOPIC_LENGTH} characters` });
    if (!message || message.length > MAX_MESSAGE_LENGTH)
      problems.push({ field: 'message', message: `must be 1 to ${MAX_MESSAGE_LENGTH} characters` });
    if (problems.length) throw new InvalidInput(problems);

    const classification = this.assist.classifier.classify(message);
    const keywordPriority = classifyPriority(message, input.priority, this.rules);
    // The higher (lower rank) of the keyword rules' and the classifier's priority.
    const priority = rankOf(classification.priority) < rankOf(keywordPriority) ? classification.priority : keywordPriority;
    const stronglyNegative = isStronglyNegative(classification);
    const request = {
      customerId: viewer.id,
      topic,
      message,
      priority,
      stronglyNegative,
      intent: classification.intent,
      locale: localeOf(scope),
    };
    const routable = await this.preparing.submit(request);
    const decision = await this.requests.submit(routable).finally(() => this.triage.decided(request.customerId));
    if (!decision.conversation)
      return {
        status: ServiceRequestStatus.NO_CAPACITY,
        conversation: null,
        position: null,
        estimatedWaitSeconds: null,
        priority,
        queueReason: null,
        estimateBasis: null,
      };
    const c = decision.conversation;
    if (!decision.fresh || c.status !== ConversationStatus.QUEUED || !decision.queued) return this.line.describe(scope.em, c);
    return { status: ServiceRequestStatus.QUEUED, conversation: c, priority: c.priority, ...decision.queued };
  }

  /**
   * Decides a batch of requests in one transaction under the routing lock, in arrival order, exactly as one
   * at a time would: each goes to the least-loaded eligible agent (ties: assigned longest ago) or joins the
   * line behind everyone already in it. The candidates and the line are read once per batch and kept in
   * memory; PostgreSQL confirms every seat (claimSeat locks the agent's row and checks their capacity).
   */
  private async decideRequests(requests: RoutableRequest[]): Promise<RequestDecision[]> {
    const em = this.em();
    const available = await this.pool.available();
    const decisions = await this.decideInTransaction(this.em(), requests, available);
    // What a waiting customer is told beyond their place (the estimate's basis, why they wait) is the same for
    // every newcomer of one department / skill: read once per batch, after the routing lock is released.
    const details = new Map<string, Promise<{ figures: LineFigures; reason: QueueReason }>>();
    const detailsOf = (t: Target) => {
      const key = `${t.departmentId ?? ''}|${t.skill ?? ''}`;
      let d = details.get(key);
      if (!d) {
        d = Promise.all([this.estimates.figures(em, t.departmentId, available), this.estimates.reason(em, t)]).then(
          ([figures, reason]) => ({ figures, reason }),
        );
        details.set(key, d);
      }
      return d;
    };
    return Promise.all(
      decisions.map(async (d, i) => {
        if (!d.fresh || d.position === null) return { conversation: d.conversation, fresh: d.fresh, queued: null };
        const { figures, reason } = await detailsOf(requests[i].target);
        return {
          conversation: d.conversation,
          fresh: true,
          queued: { position: d.position, queueReason: reason, ...this.estimates.estimate(d.position, figures) },
        };
      }),
    );
  }

  private async decideInTransaction(
    root: EntityManager,
    requests: RoutableRequest[],
    available: string[],
  ): Promise<Array<{ conversation: Conversation | null; fresh: boolean; position: number | null }>> {
    return inTransaction(root, async (em, afterCommit) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.ROUTING]);
      // Inside the lock: a customer's second request (in this batch or an earlier one) finds the first.
      // Rare at a peak (most requests are first ones): entities only for the customers who have one.
      const withOpen = await customersWithOpenConversations(
        em,
        requests.map((r) => r.customerId),
      );
      const open = withOpen.length
        ? await em.find(Conversation, { customerId: { $in: withOpen }, status: { $ne: ConversationStatus.ENDED } })
        : [];
      const openByCustomer = new Map(open.map((c) => [c.customerId, c]));
      const seats = new SeatPlan(em, available, (target) => this.pool.candidates(em, available, target));
      const line = await this.line.line(em);
      const created: Array<{ conversation: Conversation; message: string; first: Message | null }> = [];
      const decisions: Array<{ conversation: Conversation | null; fresh: boolean; position: number | null }> = new Array(requests.length);
      // Rounds: requests are decided in order until one would give an agent a second seat; PostgreSQL then
      // confirms the round's seats at once and the round's conversations are written (so the next claim
      // counts them). A round PostgreSQL refuses is decided again without the agent who had no room.
      let i = 0;
      while (i < requests.length) {
        const roundStart = i;
        const mark = line.mark();
        const round: Array<{ index: number; agentId: string | null; queued: { position: number; queuedAt: Date } | null }> = [];
        const inRound = new Set<string>();
        const roundRows: Conversation[] = [];
        for (; i < requests.length; i++) {
          const r = requests[i];
          if (openByCustomer.has(r.customerId) || inRound.has(r.customerId)) {
            round.push({ index: i, agentId: null, queued: null }); // answered with their open conversation below
            continue;
          }
          const agentId = await seats.pick(r.target);
          if (agentId === ROUND_FULL) break;
          let queued: { position: number; queuedAt: Date } | null = null;
          if (!agentId && line.length() < this.config.queueMaxLength)
            queued = line.join(r.target.departmentId, rankOf(r.priority), new Date());
          inRound.add(r.customerId);
          round.push({ index: i, agentId, queued });
        }
        if (!(await seats.confirm())) {
          line.restore(mark);
          i = roundStart;
          continue;
        }
        for (const { index, agentId, queued } of round) {
          const r = requests[index];
          const open = openByCustomer.get(r.customerId);
          if (open) {
            decisions[index] = { conversation: open, fresh: false, position: null };
            continue;
          }
          if (!agentId && !queued) {
            decisions[index] = { conversation: null, fresh: false, position: null }; // the line is full
            continue;
          }
          const now = new Date();
          const rare = Boolean(r.answer || r.stronglyNegative);
          const fields = {
            customerId: r.customerId,
            topic: r.topic,
            ...r.target,
            status: agentId ? ConversationStatus.ACTIVE : ConversationStatus.QUEUED,
            agentId,
            assignedAt: agentId ? now : null,
            priority: r.priority,
            priorityRank: rankOf(r.priority),
            intent: r.intent,
            locale: r.locale,
            createdAt: now,
            queuedAt: queued?.queuedAt ?? now,
            lastSeq: 1,
            lastCustomerMessageAt: now,
          };
          // The common request's rows are written by one INSERT for the round (conversation-rows.ts).
          const conversation = rare ? em.create(Conversation, fields) : newConversation(fields);
          if (!rare) roundRows.push(conversation);
          openByCustomer.set(r.customerId, conversation);
          decisions[index] = { conversation, fresh: true, position: queued?.position ?? null };
          let first: Message | null = null;
          if (rare) {
            // Rare: written at once, first message and all, as the auto-answer and the alarm refer to them.
            await em.flush();
            first = em.create(Message, {
              conversationId: conversation.id,
              seq: 1,
              senderId: r.customerId,
              senderRole: Role.CUSTOMER,
              content: r.message,
              createdAt: now,
            });
            await em.flush();
            if (r.answer) {
              await this.assist.faqs.recordUse(em, r.answer.faq);
              conversation.autoAnswerFaqId = r.answer.faq.id;
              conversation.autoAnswerState = AutoAnswerState.ASKED;
              const question = render({ id: 'chat.autoAnswerQuestion' }, r.locale);
              this.chat.systemMessage(em, conversation, `${r.answer.faq.answer}\n\n${question}`, afterCommit);
              await em.flush();
            }
            if (r.stronglyNegative) await this.flagNegative(em, afterCommit, conversation, r.message);
          }
          created.push({ conversation, message: r.message, first });
        }
        await insertConversations(em, roundRows); // the round's seats are counted now
      }
      // Then the first messages, which reference the conversations.
      const firsts = new Map<Conversation, Message>();
      const toWrite = created.flatMap(({ conversation, message, first }) => {
        if (first) firsts.set(conversation, first);
        return first ? [] : [{ conversation, content: message }];
      });
      const written = await insertFirstMessages(em, this.protector, toWrite);
      toWrite.forEach(({ conversation }, k) => firsts.set(conversation, written[k]));
      const departments = new Set<string | null>();
      for (const { conversation: c } of created) {
        if (c.agentId) this.line.announceAssignment(afterCommit, c, firsts.get(c)!);
        else departments.add(c.departmentId);
      }
      afterCommit(() => departments.forEach((d) => this.line.queueChanged(d)));
      return decisions;
    });
  }

  /** A strongly negative request, flagged by the negative-flag rule (supervision.policy.ts). */
  private flagNegative(em: EntityManager, afterCommit: AfterCommit, c: Conversation, message: string): Promise<void> {
    const excerpt = Array.from(message).slice(0, 100).join('');
    return flagNegative(em, afterCommit, this.assist.notifications, {
      departmentId: c.departmentId,
      authorId: c.customerId,
      kind: 'NEGATIVE_CONVERSATION',
      title: { id: 'notification.negativeConversation.title', params: { topic: c.topic } },
      body: { id: 'notification.negativeConversation.body', params: { excerpt, id: c.id } },
    });
  }

  /** The customer gives up waiting; their request ends with LEFT_QUEUE (chat's close, as every end). */
  async leaveQueue(scope: RequestScope): Promise<Conversation> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    return inTransaction(scope.em, async (em, afterCommit) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.ROUTING]);
      const c = await em.findOne(Conversation, { customerId: viewer.id, status: ConversationStatus.QUEUED });
      if (!c) throw new NotFound('Waiting request');
      await this.chat.close(em, afterCommit, c, EndReason.LEFT_QUEUE);
      await em.flush();
      return c;
    });
  }
}

export { ServiceRequestStatus, type ServiceRequestResult } from './conversation-queue.service';
