import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { signedIn } from '../../platform/auth/scope';
import { PreparedStatements } from '../../platform/db/prepared';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { Page, pageOf, paginate } from '../../platform/pagination';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import { isUuid } from '../../platform/ids';
import { CONVERSATION_FLOW } from './conversation-flow';
import { Conversation, ConversationStatus, EndReason } from './conversation.entity';
import { lockConversation, partyOf } from './conversation-access';
import { ChatSendService, MessageInspector } from './chat-send.service';
import { MessageAppender } from './message-append';
import {
  ConversationEventPayload,
  ConversationEventType,
  InboxEventPayload,
  InboxEventType,
  QueueUpdateStatus,
  Receipt,
  ReceiptKind,
  StatusChange,
} from './conversation.events';
import { Message } from './message.entity';
import type { TextProtector } from '../records/text-protector';
import { archivedMessages, findArchivedConversation, isArchived } from '../records/archived-records';

export const MAX_PAGE = 200;

// Where the other modules have always found them.
export { conversationParties, lockConversation, partyOf, type Party } from './conversation-access';
export type { MessageInspector } from './chat-send.service';

export interface ConversationFilter {
  status?: ConversationStatus | null;
  agentId?: string | null;
  customerId?: string | null;
  departmentId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/**
 * What chat tells routing when a conversation ends (RoutingService provides it): the agent's seat is free
 * for the queue, and the queue's positions changed. Declared here so chat does not import routing.
 */
export interface FreedSeats {
  offerFreedSeat(afterCommit: (fn: () => unknown) => void, agentId: string): void;
  queueChanged(departmentId: string | null): void;
}

/**
 * Chat: messages numbered per conversation, receipts, typing, ending, and who may see what. Sending lives in
 * chat-send.service.ts (its hot path in message-append.ts); `send` and `systemMessage` are its doors.
 */
export class ChatService {
  private readonly endLimiter: RateLimiterAbstract;
  private readonly sending: ChatSendService;

  constructor(
    private readonly pubsub: PubSubPort,
    private readonly routing: FreedSeats,
    limiters: RateLimiters,
    settings: Pick<Config['service'], 'ratePerMinute' | 'appendWindowMs'>,
    statements: PreparedStatements,
    protector: TextProtector,
    inspector: MessageInspector,
  ) {
    const limits = settings.ratePerMinute;
    const sendLimiter = limiters.create('send-message', limits.sendMessage, 60);
    const appender = new MessageAppender(statements, settings.appendWindowMs);
    this.sending = new ChatSendService(pubsub, sendLimiter, appender, protector, inspector);
    this.endLimiter = limiters.create('end-conversation', limits.endConversation, 60);
  }

  /**
   * Stores a message with the conversation's next seq, then publishes it. Repeating a clientMessageId
   * returns the stored message and stores nothing; reusing one for other content is CONFLICT.
   */
  send(scope: RequestScope, input: { conversationId: string; content: string; clientMessageId: string }): Promise<Message> {
    return this.sending.send(scope, input);
  }

  /** Stores a system message (transfers, idle warnings, FAQ answers) and publishes it. */
  systemMessage(em: EntityManager, c: Conversation, content: string, afterCommit: (fn: () => unknown) => void): Message {
    return this.sending.systemMessage(em, c, content, afterCommit);
  }

  /** History after a seq, oldest first; `hasMore` says whether another page follows. */
  async messages(scope: RequestScope, conversationId: string, afterSeq: number, first: number) {
    const viewer = signedIn(scope.viewer);
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw new InvalidInput('first', `must be between 1 and ${MAX_PAGE}`);
    if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new InvalidInput('afterSeq', 'must be 0 or more');
    const c = await this.readable(scope.em, viewer, conversationId);
    const rows = isArchived(c)
      ? await archivedMessages(scope.em, c.id, afterSeq, first + 1)
      : await scope.em.find(Message, { conversationId: c.id, seq: { $gt: afterSeq } }, { orderBy: { seq: 'asc' }, limit: first + 1 });
    const messages = rows.slice(0, first);
    const hasMore = rows.length > first;
    return { ...pageOf(messages, hasMore, (m) => String(m.seq)), messages, hasMore, lastSeq: c.lastSeq };
  }

  /** Marks the other side's messages up to a seq DELIVERED or READ; statuses never go backwards. */
  async receipt(scope: RequestScope, conversationId: string, upToSeq: number, kind: ReceiptKind): Promise<Receipt> {
    const viewer = signedIn(scope.viewer);
    const c = await this.visible(scope.em, viewer, conversationId);
    const party = partyOf(viewer, c);
    if (party !== 'CUSTOMER' && party !== 'AGENT') throw new Forbidden('Only the customer and the agent send receipts');
    if (!Number.isInteger(upToSeq) || upToSeq < 1 || upToSeq > c.lastSeq)
      throw new InvalidInput('upToSeq', `must be between 1 and ${c.lastSeq}`);
    const at = new Date();
    // The other side's messages: the customer's for the agent; the agent's and the system's for the customer.
    const others = party === 'CUSTOMER' ? `(sender_id IS NULL OR sender_id <> ?)` : `sender_id IS DISTINCT FROM ?`;
    const other = party === 'CUSTOMER' ? viewer.id : c.customerId;
    const sql =
      kind === ReceiptKind.READ
        ? `UPDATE messages SET read_at = ?, delivered_at = coalesce(delivered_at, ?) WHERE conversation_id = ? AND seq <= ? AND read_at IS NULL AND ${party === 'CUSTOMER' ? others : 'sender_id = ?'} RETURNING id`
        : `UPDATE messages SET delivered_at = ? WHERE conversation_id = ? AND seq <= ? AND delivered_at IS NULL AND ${party === 'CUSTOMER' ? others : 'sender_id = ?'} RETURNING id`;
    const params = kind === ReceiptKind.READ ? [at, at, c.id, upToSeq, other] : [at, c.id, upToSeq, other];
    const updated = (await scope.em.execute(sql, params)).length;
    const receipt: Receipt = { conversationId: c.id, byUserId: viewer.id, kind, upToSeq, updated, at };
    if (updated) {
      this.pubsub.publish(Topics.CONVERSATION, c.id, {
        type: ConversationEventType.RECEIPT,
        conversationId: c.id,
        receipt: { ...receipt, at: at.toISOString() },
        at: at.toISOString(),
      } satisfies ConversationEventPayload);
    }
    return receipt;
  }

  /** Pushed to the other side; not stored. */
  async typing(scope: RequestScope, conversationId: string, typing: boolean): Promise<boolean> {
    const viewer = signedIn(scope.viewer);
    const c = await this.visible(scope.em, viewer, conversationId);
    const party = partyOf(viewer, c);
    if (party !== 'CUSTOMER' && party !== 'AGENT') throw new Forbidden('Only the customer and the agent type in a conversation');
    if (c.status === ConversationStatus.ENDED) throw new Conflict(ConflictReason.CONVERSATION_ENDED, 'The conversation has ended');
    this.pubsub.publish(Topics.CONVERSATION, c.id, {
      type: ConversationEventType.TYPING,
      conversationId: c.id,
      typing: { userId: viewer.id, role: viewer.role, typing },
      at: new Date().toISOString(),
    } satisfies ConversationEventPayload);
    return typing;
  }

  /** Either party (or a supervisor in scope) ends the conversation; the agent's slot goes to the queue. */
  async end(scope: RequestScope, conversationId: string, reason?: EndReason): Promise<Conversation> {
    const viewer = signedIn(scope.viewer);
    await consumeOrThrow(this.endLimiter, viewer.id, 'Too many conversations ended; slow down');
    return inTransaction(scope.em, async (em, afterCommit) => {
      const c = await lockConversation(em, conversationId);
      const party = partyOf(viewer, c);
      if (!party) throw new Forbidden();
      if (c.status === ConversationStatus.ENDED)
        throw new Conflict(ConflictReason.CONVERSATION_ENDED, 'The conversation has already ended');
      if (c.status === ConversationStatus.QUEUED && party !== 'CUSTOMER' && party !== 'SUPERVISOR')
        throw new Conflict(ConflictReason.CONVERSATION_NOT_ACTIVE, 'The conversation is still waiting');
      await this.close(
        em,
        afterCommit,
        c,
        reason ?? (party === 'CUSTOMER' ? EndReason.CUSTOMER : party === 'AGENT' ? EndReason.AGENT : EndReason.SUPERVISOR),
      );
      await em.flush();
      return c;
    });
  }

  /** Ends a locked conversation in `em`'s transaction (the database frees the agent's seat); the caller flushes. */
  async close(em: EntityManager, afterCommit: (fn: () => unknown) => void, c: Conversation, reason: EndReason): Promise<void> {
    const wasQueued = c.status === ConversationStatus.QUEUED;
    c.status = CONVERSATION_FLOW.next(c.status, 'end');
    c.endedAt = new Date();
    c.endReason = reason;
    if (c.agentId) this.routing.offerFreedSeat(afterCommit, c.agentId);
    afterCommit(() => {
      const at = new Date().toISOString();
      this.pubsub.publish(Topics.CONVERSATION, c.id, {
        type: ConversationEventType.STATUS,
        conversationId: c.id,
        status: { change: StatusChange.ENDED, status: c.status, agentId: c.agentId, endReason: reason },
        at,
      } satisfies ConversationEventPayload);
      if (c.agentId)
        this.pubsub.publish(Topics.INBOX, c.agentId, { type: InboxEventType.ENDED, conversationId: c.id, at } satisfies InboxEventPayload);
      if (wasQueued) {
        this.pubsub.publish(Topics.QUEUE_CUSTOMER, c.customerId, {
          conversationId: c.id,
          status: reason === EndReason.LEFT_QUEUE ? QueueUpdateStatus.LEFT : QueueUpdateStatus.ENDED,
          position: null,
          estimatedWaitSeconds: null,
          priority: c.priority,
          agentId: null,
          at,
        });
        this.routing.queueChanged(c.departmentId);
      }
    });
  }

  /** A conversation the viewer may see: its customer, its agent, or a supervisor in scope. Others: NOT_FOUND / FORBIDDEN. */
  async visible(em: EntityManager, viewer: Viewer, conversationId: string): Promise<Conversation> {
    const c = isUuid(conversationId) ? await em.findOne(Conversation, { id: conversationId }) : null;
    if (!c) throw new NotFound('Conversation', conversationId);
    if (!partyOf(viewer, c)) throw new Forbidden('This conversation is not yours');
    return c;
  }

  /** Like visible, but an archived conversation (read-only: records/archive.ts moved it) is found too. */
  async readable(em: EntityManager, viewer: Viewer, conversationId: string): Promise<Conversation> {
    const c = isUuid(conversationId)
      ? ((await em.findOne(Conversation, { id: conversationId })) ?? (await findArchivedConversation(em, conversationId)))
      : null;
    if (!c) throw new NotFound('Conversation', conversationId);
    if (!partyOf(viewer, c)) throw new Forbidden('This conversation is not yours');
    return c;
  }

  /** Customers: their own; agents: theirs; managers: their department's; admins: all. Newest first. */
  list(scope: RequestScope, filter: ConversationFilter, first: number, after?: string | null): Promise<Page<Conversation>> {
    const viewer = signedIn(scope.viewer);
    const where: FilterQuery<Conversation> = {};
    const deny = (field: keyof ConversationFilter, value: string) => {
      if (filter[field] && filter[field] !== value) throw new Forbidden(`You see your own conversations only`);
    };
    if (viewer.role === Role.CUSTOMER) {
      deny('customerId', viewer.id);
      where.customerId = viewer.id;
    } else if (viewer.role === Role.AGENT) {
      deny('agentId', viewer.id);
      where.agentId = viewer.id;
    } else if (viewer.role === Role.MANAGER) {
      deny('departmentId', viewer.departmentId ?? '');
      where.departmentId = viewer.departmentId;
    }
    if (filter.status) where.status = filter.status;
    if (filter.agentId && !where.agentId) where.agentId = filter.agentId;
    if (filter.customerId && !where.customerId) where.customerId = filter.customerId;
    if (filter.departmentId && !where.departmentId) where.departmentId = filter.departmentId;
    if (filter.from || filter.to)
      where.createdAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    return paginate(scope.em, Conversation, where, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }
}
