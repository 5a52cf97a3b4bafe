/**
 * Over 400 lines, knowingly: routing decisions (group-committed), the queue's order and positions, the wait
 * estimates and the auto-answer on a first message share one transaction per batch. The agent pool (candidates,
 * availability, on-duty checks) is the next part to move out, shared with lifecycle.service.ts (open in the
 * code-health issue).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import type { Config } from '../../config';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { pgArray } from '../../platform/db/arrays';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { ALL_DEPARTMENTS, Topics } from '../../platform/realtime/topics';
import { isUuid } from '../../platform/ids';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';
import type { PresenceService } from '../presence/presence.service';
import type { Scheduler } from '../../platform/scheduler';
import type { FaqService } from '../knowledge/faq.service';
import type { MessageClassifier } from '../knowledge/classifier';
import { isStronglyNegative } from '../knowledge/classifier';
import type { NotificationService } from '../notifications/notification.service';
import { flagNegative } from '../notifications/supervision.policy';
import { type ChatService, lockConversation } from './chat.service';
import { AutoAnswerState, Conversation, ConversationStatus, EndReason, rankOf } from './conversation.entity';
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
import { Message, MAX_MESSAGE_LENGTH } from './message.entity';
import {
  classifyPriority,
  DEFAULT_HANDLING_SECONDS,
  EFFECTIVE_RANK_SQL,
  estimateWaitSeconds,
  parsePriorityRules,
  PriorityRule,
  ServicePriority,
} from './queue-policy';
import { EligibilityFunnel, HandlingTimeSource, QueueReason, queueReasonOf, WaitEstimateBasis } from './queue-reason';
import { GroupCommit } from './group-commit';
import { Candidate, claimSeat, QueueLine, ROUND_FULL, SeatPlan } from './seat-plan';
import { AdvisoryLock } from '../../platform/db/advisory-locks';

/** Every routing decision in the cluster takes this PostgreSQL advisory lock (README, Real-time service: "Asking for help"). */
const ROUTING_LOCK = AdvisoryLock.ROUTING;

/** Asked after an auto-answer; the customer replies with answerHelped. */
export const AUTO_ANSWER_QUESTION = '这个回答解决您的问题了吗？';

/** The knowledge base's part in a request: auto-answers from FAQs, and the classifier's priority and alarm. */
export interface RoutingAssist {
  faqs: FaqService;
  classifier: MessageClassifier;
  notifications: NotificationService;
  autoAnswerThreshold: number;
}

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

/** The average handling time the estimates use, and how many chats it is the average of (0: the default). */
interface HandlingTime {
  seconds: number;
  chats: number;
  /** URGENT requests of the department per second over the last 30 minutes: they go ahead of those waiting. */
  overtakingPerSecond: number;
}

type QueuedRef = Pick<Conversation, 'id' | 'customerId' | 'priority' | 'agentId'>;

/** A request for service, checked and classified, waiting for its routing decision. */
interface PendingRequest {
  customerId: string;
  topic: string;
  message: string;
  priority: ServicePriority;
  stronglyNegative: boolean;
  /** The classifier's intent of the message, kept on the conversation for records search. */
  intent: string;
}

/** An FAQ answer good enough to offer at once. */
type AutoAnswer = NonNullable<Awaited<ReturnType<FaqService['bestAnswer']>>>;

type Target = { departmentId: string | null; skill: string | null };

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
  private readonly handlingCache = new Map<string, HandlingTime & { until: number }>();
  private readonly pendingRefresh = new Map<string, NodeJS.Timeout>();
  private readonly requests = new GroupCommit<PendingRequest, RequestDecision>((batch) => this.decideRequests(batch), {
    windowMs: REQUEST_BATCH_WINDOW_MS,
    maxBatch: REQUEST_BATCH_MAX,
  });

  constructor(
    private readonly config: Config['service'],
    private readonly pubsub: PubSubPort,
    private readonly presence: PresenceService,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
    private readonly assist: RoutingAssist,
  ) {
    this.rules = parsePriorityRules(config.priorityRules);
  }

  private chatService: ChatService | null = null;

  /** The chat service (built after routing, which it uses): system messages and closing for auto-answers. */
  useChat(chat: ChatService): void {
    this.chatService = chat;
  }

  private chat(): ChatService {
    if (!this.chatService) throw new Error('RoutingService.useChat was not called');
    return this.chatService;
  }

  /**
   * The customer's reply to an auto-answer: their feedback on the FAQ is recorded; helped ends the request
   * (RESOLVED_BY_FAQ, freeing an agent's slot if one was assigned), not helped leaves it exactly where it is.
   */
  async answerHelped(scope: RequestScope, conversationId: string, helped: boolean): Promise<Conversation> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    return inTransaction(scope.em, async (em, afterCommit) => {
      if (helped) await em.execute('SELECT pg_advisory_xact_lock(?)', [ROUTING_LOCK]);
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
        await this.chat().close(em, afterCommit, c, EndReason.RESOLVED_BY_FAQ);
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
    if (!topic || topic.length > 100) problems.push({ field: 'topic', message: 'must be 1 to 100 characters' });
    if (!message || message.length > MAX_MESSAGE_LENGTH)
      problems.push({ field: 'message', message: `must be 1 to ${MAX_MESSAGE_LENGTH} characters` });
    if (problems.length) throw new InvalidInput(problems);

    const classification = this.assist.classifier.classify(message);
    const keywordPriority = classifyPriority(message, input.priority, this.rules);
    // The higher (lower rank) of the keyword rules' and the classifier's priority.
    const priority = rankOf(classification.priority) < rankOf(keywordPriority) ? classification.priority : keywordPriority;
    const stronglyNegative = isStronglyNegative(classification);
    const decision = await this.requests.submit({
      customerId: viewer.id,
      topic,
      message,
      priority,
      stronglyNegative,
      intent: classification.intent,
    });
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
    if (!decision.fresh || c.status !== ConversationStatus.QUEUED || !decision.queued) return this.describe(scope.em, c);
    return { status: ServiceRequestStatus.QUEUED, conversation: c, priority: c.priority, ...decision.queued };
  }

  /**
   * Decides a batch of requests in one transaction under the routing lock, in arrival order, exactly as one
   * at a time would: each goes to the least-loaded eligible agent (ties: assigned longest ago) or joins the
   * line behind everyone already in it. The candidates and the line are read once per batch and kept in
   * memory; PostgreSQL confirms every seat (claimSeat locks the agent's row and checks their capacity).
   */
  private async decideRequests(batch: PendingRequest[]): Promise<RequestDecision[]> {
    // Reads before the lock use a fork of their own: the transaction must not find their partial entities.
    const em = this.em();
    const available = await this.availableAgents();
    const targets = new Map<string, Target>();
    for (const topic of new Set(batch.map((r) => r.topic))) targets.set(topic, await this.resolveTopic(em, topic));
    // A customer who already has an open conversation gets it back (checked again under the lock); for the
    // others, the FAQ search runs before the lock (it may need a connection of its own to catch its index
    // up); the use is counted in the transaction. Routing is decided as it would be anyway: a customer the
    // answer does not help keeps their place.
    const openBefore = new Set(
      (
        await this.em().find(
          Conversation,
          { customerId: { $in: [...new Set(batch.map((r) => r.customerId))] }, status: { $ne: ConversationStatus.ENDED } },
          { fields: ['customerId'] },
        )
      ).map((c) => c.customerId),
    );
    // One search for the batch's first messages (one round trip, however many requests).
    const searched = new Set<string>();
    const firsts = batch.map((r) => {
      const first = !openBefore.has(r.customerId) && !searched.has(r.customerId);
      searched.add(r.customerId);
      return first;
    });
    const asked = batch.filter((_, i) => firsts[i]);
    const found = await this.assist.faqs.bestAnswers(
      this.em(),
      asked.map((r) => r.message),
    );
    const answers = new Map(asked.map((r, k) => [r, found[k]]));
    const requests = batch.map((r) => {
      const hit = answers.get(r) ?? null;
      return { ...r, target: targets.get(r.topic)!, answer: hit && hit.score >= this.assist.autoAnswerThreshold ? hit : null };
    });
    const decisions = await this.decideInTransaction(this.em(), requests, available);
    // What a waiting customer is told beyond their place (the estimate's basis, why they wait) is the same for
    // every newcomer of one department / skill: read once per batch, after the routing lock is released.
    const details = new Map<string, Promise<{ capacity: number; handling: HandlingTime; reason: QueueReason }>>();
    const detailsOf = (t: Target) => {
      const key = `${t.departmentId ?? ''}|${t.skill ?? ''}`;
      let d = details.get(key);
      if (!d) {
        d = Promise.all([
          this.eligibleCapacity(em, t.departmentId, available),
          this.handlingTime(em, t.departmentId),
          this.queueReason(em, t),
        ]).then(([capacity, handling, reason]) => ({ capacity, handling, reason }));
        details.set(key, d);
      }
      return d;
    };
    return Promise.all(
      decisions.map(async (d, i) => {
        if (!d.fresh || d.position === null) return { conversation: d.conversation, fresh: d.fresh, queued: null };
        const { capacity, handling, reason } = await detailsOf(requests[i].target);
        return {
          conversation: d.conversation,
          fresh: true,
          queued: { position: d.position, queueReason: reason, ...this.estimateFrom(d.position, capacity, handling) },
        };
      }),
    );
  }

  private async decideInTransaction(
    root: EntityManager,
    requests: Array<PendingRequest & { target: Target; answer: AutoAnswer | null }>,
    available: string[],
  ): Promise<Array<{ conversation: Conversation | null; fresh: boolean; position: number | null }>> {
    return inTransaction(root, async (em, afterCommit) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [ROUTING_LOCK]);
      // Inside the lock: a customer's second request (in this batch or an earlier one) finds the first.
      const open = await em.find(Conversation, {
        customerId: { $in: [...new Set(requests.map((r) => r.customerId))] },
        status: { $ne: ConversationStatus.ENDED },
      });
      const openByCustomer = new Map(open.map((c) => [c.customerId, c]));
      const seats = new SeatPlan(em, available, (departmentId, skill) => this.candidates(em, available, departmentId, skill));
      const line = await this.queueLine(em);
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
          const conversation = em.create(Conversation, {
            customerId: r.customerId,
            topic: r.topic,
            ...r.target,
            status: agentId ? ConversationStatus.ACTIVE : ConversationStatus.QUEUED,
            agentId,
            assignedAt: agentId ? now : null,
            priority: r.priority,
            priorityRank: rankOf(r.priority),
            intent: r.intent,
            createdAt: now,
            queuedAt: queued?.queuedAt ?? now,
            lastSeq: 1,
            lastCustomerMessageAt: now,
          });
          openByCustomer.set(r.customerId, conversation);
          decisions[index] = { conversation, fresh: true, position: queued?.position ?? null };
          let first: Message | null = null;
          if (r.answer || r.stronglyNegative) {
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
              this.chat().systemMessage(em, conversation, `${r.answer.faq.answer}\n\n${AUTO_ANSWER_QUESTION}`, afterCommit);
              await em.flush();
            }
            if (r.stronglyNegative) await this.flagNegative(em, afterCommit, conversation, r.message);
          }
          created.push({ conversation, message: r.message, first });
        }
        await em.flush(); // the round's seats are counted now
      }
      // The conversations first (one multi-row INSERT), then their first messages, which reference them.
      await em.flush();
      const firsts = new Map<Conversation, Message>();
      for (const { conversation: c, message, first } of created) {
        firsts.set(
          c,
          first ??
            em.create(Message, {
              conversationId: c.id,
              seq: 1,
              senderId: c.customerId,
              senderRole: Role.CUSTOMER,
              content: message,
              createdAt: c.createdAt,
            }),
        );
      }
      await em.flush();
      const departments = new Set<string | null>();
      for (const { conversation: c } of created) {
        if (c.agentId) this.announceAssignment(afterCommit, c, firsts.get(c)!);
        else departments.add(c.departmentId);
      }
      afterCommit(() => departments.forEach((d) => this.queueChanged(d)));
      return decisions;
    });
  }

  /**
   * The line as this batch finds it (read once, under the routing lock), and the places newcomers take in
   * it: behind everyone of their department whose effective rank is as good or better, as of this decision.
   */
  private async queueLine(em: EntityManager): Promise<QueueLine> {
    const rows = await em.execute<Array<{ department_id: string | null; effective_rank: number; n: number; last: Date | string | null }>>(
      `SELECT c.department_id, ${EFFECTIVE_RANK_SQL} AS effective_rank, count(*)::int AS n, max(c.queued_at) AS last
         FROM conversations c WHERE c.status = 'QUEUED' GROUP BY 1, 2`,
      [this.config.ageingSeconds],
    );
    return new QueueLine(
      rows.map((r) => ({ departmentId: r.department_id, rank: r.effective_rank, n: r.n, last: r.last === null ? null : new Date(r.last) })),
    );
  }

  /** A strongly negative request, flagged by the negative-flag rule (supervision.policy.ts). */
  private flagNegative(em: EntityManager, afterCommit: AfterCommit, c: Conversation, message: string): Promise<void> {
    const excerpt = Array.from(message).slice(0, 100).join('');
    return flagNegative(em, afterCommit, this.assist.notifications, {
      departmentId: c.departmentId,
      authorId: c.customerId,
      kind: 'NEGATIVE_CONVERSATION',
      title: `情绪强烈的咨询：${c.topic}`,
      body: `${excerpt}\n(会话 ${c.id})`,
    });
  }

  /** The customer gives up waiting; their request ends with LEFT_QUEUE. */
  async leaveQueue(scope: RequestScope): Promise<Conversation> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    return inTransaction(scope.em, async (em, afterCommit) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [ROUTING_LOCK]);
      const c = await em.findOne(Conversation, { customerId: viewer.id, status: ConversationStatus.QUEUED });
      if (!c) throw new NotFound('Waiting request');
      c.status = ConversationStatus.ENDED;
      c.endedAt = new Date();
      c.endReason = EndReason.LEFT_QUEUE;
      await em.flush();
      afterCommit(() => {
        this.publishQueueUpdate(c, QueueUpdateStatus.LEFT, null, null);
        this.queueChanged(c.departmentId);
      });
      return c;
    });
  }

  /**
   * Offers an agent's free capacity to the queue: while they have room and are eligible, the best
   * waiting request they can serve (effective priority, then time waited) becomes theirs.
   */
  async offerCapacity(agentId: string): Promise<number> {
    const [record] = await this.presence.read([agentId]);
    if (!record?.online || record.status !== 'AVAILABLE') return 0;
    let assigned = 0;
    await inTransaction(this.em(), async (em, afterCommit) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [ROUTING_LOCK]);
      const agent = await em.findOne(User, { id: agentId, role: Role.AGENT, active: true });
      if (!agent || !(await this.isEligible(em, agent.id))) return;
      for (;;) {
        const [next] = await em.execute<Array<{ id: string }>>(
          `SELECT c.id FROM conversations c
            WHERE c.status = 'QUEUED' AND (c.department_id IS NULL OR c.department_id = ?) AND (c.skill IS NULL OR c.skill = ANY(?::text[]))
            ORDER BY ${EFFECTIVE_RANK_SQL}, c.queued_at, c.id
            LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [agent.departmentId, pgArray(agent.skills), this.config.ageingSeconds],
        );
        if (!next || !(await claimSeat(em, agent.id))) return;
        const c = await em.findOneOrFail(Conversation, { id: next.id });
        c.status = ConversationStatus.ACTIVE;
        c.agentId = agent.id;
        c.assignedAt = new Date();
        // Written before the next pick: the database counts the seat now, and the next SELECT no longer finds
        // this conversation QUEUED (it is locked by this transaction, so SKIP LOCKED would not skip it).
        await em.flush();
        assigned += 1;
        this.announceAssignment(afterCommit, c, null);
      }
    });
    return assigned;
  }

  /** Backs up the event-driven draining: every eligible agent with room is offered the queue. */
  async sweep(): Promise<void> {
    const em = this.em();
    const [{ queued }] = await em.execute<Array<{ queued: number }>>(
      `SELECT count(*)::int AS queued FROM conversations WHERE status = 'QUEUED'`,
    );
    if (!queued) return;
    // Only agents with a free slot: offering a full agent's capacity takes the routing lock for nothing, and
    // while a burst of requests queues up, a sweep over every agent would double the work under the lock.
    const available = await this.availableAgents();
    if (!available.length) return;
    const withRoom = await em.execute<Array<{ id: string }>>(
      `SELECT u.id FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id
        WHERE u.id = ANY(?::uuid[]) AND coalesce(a.active_chats, 0) < u.max_concurrent_chats`,
      [pgArray(available)],
    );
    for (const { id } of withRoom) await this.offerCapacity(id);
  }

  /**
   * One of the agent's conversations stops being theirs in this transaction (an end, a transfer out): once it
   * commits, the seat it frees is offered to the queue. The database counts the seat itself (see claimSeat).
   */
  offerFreedSeat(afterCommit: AfterCommit, agentId: string): void {
    afterCommit(() => this.offerCapacity(agentId).catch((err) => this.logger.error({ err }, 'queue drain failed')));
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
    const capacity = await this.eligibleCapacity(scope.em, departmentId ?? null);
    const handling = await this.handlingTime(scope.em, departmentId ?? null);
    const now = Date.now();
    return rows.map((r) => {
      const c = byId.get(r.id)!;
      return {
        conversation: c,
        position: r.position,
        waitedSeconds: Math.floor((now - c.queuedAt.getTime()) / 1000),
        effectivePriority: [ServicePriority.URGENT, ServicePriority.HIGH, ServicePriority.NORMAL, ServicePriority.LOW][r.effective_rank],
        estimatedWaitSeconds: estimateWaitSeconds(r.position, capacity, handling.seconds, handling.overtakingPerSecond),
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
      this.queueReason(em, c),
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
    return { position, ...(await this.estimate(em, c.departmentId, position)) };
  }

  /** The estimate for a place in a department's line, with what it was computed from. */
  private async estimate(
    em: EntityManager,
    departmentId: string | null,
    position: number,
    availableNow?: string[],
  ): Promise<{ estimatedWaitSeconds: number | null; estimateBasis: WaitEstimateBasis }> {
    const [capacity, handling] = await Promise.all([
      this.eligibleCapacity(em, departmentId, availableNow),
      this.handlingTime(em, departmentId),
    ]);
    return this.estimateFrom(position, capacity, handling);
  }

  private estimateFrom(
    position: number,
    capacity: number,
    handling: HandlingTime,
  ): { estimatedWaitSeconds: number | null; estimateBasis: WaitEstimateBasis } {
    return {
      estimatedWaitSeconds: estimateWaitSeconds(position, capacity, handling.seconds, handling.overtakingPerSecond),
      estimateBasis: {
        position,
        averageHandlingSeconds: Math.round(handling.seconds),
        handlingTimeSource: handling.chats ? HandlingTimeSource.RECENT_CHATS : HandlingTimeSource.DEFAULT,
        recentChats: handling.chats,
        eligibleCapacity: capacity,
      },
    };
  }

  /**
   * Why a waiting request was not taken: the agents of its department / with its skill are counted step by
   * step — active, on duty, online — and the first step nobody passes is the reason (past them all: busy).
   */
  private async queueReason(em: EntityManager, c: Pick<Conversation, 'departmentId' | 'skill'>): Promise<QueueReason> {
    const agents = await em.execute<Array<{ id: string; on_duty: boolean }>>(
      `SELECT u.id, (${this.onDutySql()}) AS on_duty FROM users u
        WHERE u.role = 'AGENT' AND u.active
          AND (?::uuid IS NULL OR u.department_id = ?::uuid)
          AND (?::text IS NULL OR ?::text = ANY(u.skills))`,
      [c.departmentId, c.departmentId, c.skill, c.skill],
    );
    const onDuty = agents.filter((a) => a.on_duty).map((a) => a.id);
    const online = onDuty.length ? (await this.presence.read(onDuty)).filter((p) => p.online).length : 0;
    const funnel: EligibilityFunnel = { matching: agents.length, onDuty: onDuty.length, online };
    return queueReasonOf(funnel);
  }

  /** Positions (1 = next) in a department's line, ordered as offerCapacity serves it. */
  private positions(em: EntityManager, departmentId: string | null, only?: string) {
    return em.execute<Array<{ id: string; customer_id: string; position: number; effective_rank: number }>>(
      `SELECT * FROM (
         SELECT c.id, c.customer_id, ${EFFECTIVE_RANK_SQL} AS effective_rank,
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

  /** A topic naming a department (code or name) routes there; one naming a skill some agent has asks for it. */
  private async resolveTopic(em: EntityManager, topic: string): Promise<{ departmentId: string | null; skill: string | null }> {
    const department = await em.findOne(Department, { $or: [{ code: topic.toLowerCase() }, { name: topic }] }, { fields: ['id'] });
    if (department) return { departmentId: department.id, skill: null };
    const [hasSkill] = await em.execute(`SELECT 1 FROM users WHERE role = 'AGENT' AND active AND ? = ANY(skills) LIMIT 1`, [topic]);
    return { departmentId: null, skill: hasSkill ? topic : null };
  }

  /** Agents online and AVAILABLE right now (presence lives outside the database). */
  private async availableAgents(): Promise<string[]> {
    // Plain rows, not entities: this runs for every request, and hydrating every agent each time is what
    // made 1,000 simultaneous requests CPU-bound (the routing lock then waits on a busy event loop).
    const agents = await this.em().execute<Array<{ id: string }>>(`SELECT id FROM users WHERE role = 'AGENT' AND active`);
    const presence = await this.presence.read(agents.map((a) => a.id));
    return presence.filter((p) => p.online && p.status === 'AVAILABLE').map((p) => p.userId);
  }

  /** Eligible agents with room, least loaded first, then the one assigned longest ago. */
  private async candidates(
    em: EntityManager,
    available: string[],
    departmentId: string | null,
    skill: string | null,
  ): Promise<Candidate[]> {
    const rows = await em.execute<Array<{ id: string; active: number; max: number; last_assigned_at: Date | string | null }>>(
      `SELECT u.id, coalesce(a.active_chats, 0) AS active, u.max_concurrent_chats AS max, a.last_assigned_at
         FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id
        WHERE u.id = ANY(?::uuid[]) AND u.role = 'AGENT' AND u.active
          AND (?::uuid IS NULL OR u.department_id = ?::uuid)
          AND (?::text IS NULL OR ?::text = ANY(u.skills))
          AND coalesce(a.active_chats, 0) < u.max_concurrent_chats
          AND ${this.onDutySql()}
        ORDER BY 2, a.last_assigned_at NULLS FIRST, u.id`,
      [pgArray(available), departmentId, departmentId, skill, skill],
    );
    return rows.map((r) => ({
      id: r.id,
      active: r.active,
      max: r.max,
      lastAssignedAt: r.last_assigned_at === null ? null : new Date(r.last_assigned_at),
    }));
  }

  private async isEligible(em: EntityManager, agentId: string): Promise<boolean> {
    const [row] = await em.execute(`SELECT 1 FROM users u WHERE u.id = ? AND ${this.onDutySql()}`, [agentId]);
    return Boolean(row);
  }

  /** On a NORMAL schedule now (unless ROUTING_REQUIRE_SHIFT is off) and not on approved leave. */
  private onDutySql(): string {
    const shift = this.config.requireShift
      ? `EXISTS (SELECT 1 FROM schedules s WHERE s.agent_id = u.id AND s.status = 'NORMAL' AND s.period @> now())`
      : 'true';
    return `${shift} AND NOT EXISTS (SELECT 1 FROM leave_requests l WHERE l.requester_id = u.id AND l.status = 'APPROVED' AND l.period @> now())`;
  }

  /** Chats the eligible, available agents of a department can hold at once (the estimate's denominator). */
  private async eligibleCapacity(em: EntityManager, departmentId: string | null, availableNow?: string[]): Promise<number> {
    const available = availableNow ?? (await this.availableAgents());
    if (!available.length) return 0;
    const [{ capacity }] = await em.execute<Array<{ capacity: number }>>(
      `SELECT coalesce(sum(u.max_concurrent_chats), 0)::int AS capacity FROM users u
        WHERE u.id = ANY(?::uuid[]) AND (?::uuid IS NULL OR u.department_id = ?::uuid) AND ${this.onDutySql()}`,
      [pgArray(available), departmentId, departmentId],
    );
    return capacity;
  }

  /**
   * Average handling time of the last 50 chats of the department that ended in the past day, with how many chats it
   * averages (0: none, the default is used), and the live rate of URGENT requests (cached 30 s).
   */
  private async handlingTime(em: EntityManager, departmentId: string | null): Promise<HandlingTime> {
    const key = departmentId ?? ALL_DEPARTMENTS;
    const hit = this.handlingCache.get(key);
    if (hit && hit.until > Date.now()) return hit;
    const [{ seconds, chats }] = await em.execute<Array<{ seconds: number | null; chats: number }>>(
      `SELECT avg(extract(epoch from (ended_at - assigned_at)))::float AS seconds, count(*)::int AS chats FROM (
         SELECT ended_at, assigned_at FROM conversations
          WHERE status = 'ENDED' AND assigned_at IS NOT NULL AND ended_at > now() - interval '1 day'
            AND department_id IS NOT DISTINCT FROM ?::uuid
          ORDER BY ended_at DESC LIMIT 50) recent`,
      [departmentId],
    );
    const [{ urgent }] = await em.execute<Array<{ urgent: number }>>(
      `SELECT count(*)::int AS urgent FROM conversations
        WHERE created_at > now() - interval '30 minutes' AND priority = 'URGENT' AND department_id IS NOT DISTINCT FROM ?::uuid`,
      [departmentId],
    );
    const overtakingPerSecond = urgent / 1800;
    const value: HandlingTime =
      seconds && seconds > 0
        ? { seconds, chats, overtakingPerSecond }
        : { seconds: DEFAULT_HANDLING_SECONDS, chats: 0, overtakingPerSecond };
    this.handlingCache.set(key, { ...value, until: Date.now() + 30_000 });
    return value;
  }

  private announceAssignment(afterCommit: AfterCommit, c: Conversation, first: Message | null): void {
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
      this.publishQueueUpdate(c, QueueUpdateStatus.ASSIGNED, null, null);
      this.queueChanged(c.departmentId);
    });
  }

  private publishQueueUpdate(c: QueuedRef, status: QueueUpdateStatus, position: number | null, estimate: number | null): void {
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
    const [capacity, handling] = await Promise.all([this.eligibleCapacity(em, departmentId), this.handlingTime(em, departmentId)]);
    const priorities = new Map(
      (await em.find(Conversation, { id: { $in: rows.map((r) => r.id) } }, { fields: ['id', 'priority', 'customerId', 'agentId'] })).map(
        (c) => [c.id, c],
      ),
    );
    for (const r of rows) {
      const c = priorities.get(r.id);
      if (c)
        this.publishQueueUpdate(
          c,
          QueueUpdateStatus.QUEUED,
          r.position,
          estimateWaitSeconds(r.position, capacity, handling.seconds, handling.overtakingPerSecond),
        );
    }
  }

  /** Capacity appearing drains the queue at once; a sweep every few seconds backs that up (and catches shift starts). */
  start(scheduler: Scheduler): void {
    this.presence.onChange((e) => {
      if (e.online && e.status === 'AVAILABLE')
        this.offerCapacity(e.agentId).catch((err) => this.logger.error({ err }, 'queue drain failed'));
    });
    scheduler.every('routing-sweep', 5000, () => this.sweep());
  }

  stop(): void {
    for (const t of this.pendingRefresh.values()) clearTimeout(t);
    this.pendingRefresh.clear();
  }

  /** Routing's on-duty rule as an SQL condition over `users u`, for transfers and the offline sweep (lifecycle.service.ts). */
  onDutyCondition(): string {
    return this.onDutySql();
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

export { isUuid };

/** Routing's capacity guard, shared with transfers and the offline sweep (lifecycle.service.ts). */
export { claimSeat };
