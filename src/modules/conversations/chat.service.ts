/**
 * Slightly over 400 lines: sending (the one-statement append and its locked fallback), receipts, typing, ending
 * and reading, archived conversations included. The hot path stays in one place on purpose.
 */
import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { managesDepartment, signedIn } from '../../platform/auth/scope';
import { randomUUID } from 'node:crypto';
import { PreparedStatement, PreparedStatements } from '../../platform/db/prepared';
import { inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { Page, pageOf, paginate } from '../../platform/pagination';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import { Conversation, ConversationStatus, EndReason } from './conversation.entity';
import {
  ConversationEventPayload,
  ConversationEventType,
  InboxEventPayload,
  InboxEventType,
  QueueUpdateStatus,
  Receipt,
  ReceiptKind,
  StatusChange,
  messageFromPayload,
  toMessagePayload,
} from './conversation.events';
import { MAX_MESSAGE_LENGTH, Message, MessageKind } from './message.entity';
import type { ProtectedText, TextProtector } from '../records/text-protector';
import { archivedMessages, findArchivedConversation, isArchived } from '../records/archived-records';

export const MAX_PAGE = 200;

/** Who a viewer is to a conversation. */
export type Party = 'CUSTOMER' | 'AGENT' | 'SUPERVISOR';

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

/** Looks at every stored message once it has committed (quality inspection); returns at once, never throws. */
export interface MessageInspector {
  inspect(message: Message): void;
}

/** Chat: messages numbered per conversation, receipts, typing, ending, and who may see what. */
export class ChatService {
  private readonly sendLimiter: RateLimiterAbstract;
  private readonly endLimiter: RateLimiterAbstract;
  private inspector: MessageInspector | null = null;

  constructor(
    private readonly pubsub: PubSubPort,
    private readonly routing: FreedSeats,
    limiters: RateLimiters,
    limits: Config['service']['ratePerMinute'],
    private readonly statements: PreparedStatements,
    private readonly protector: TextProtector,
  ) {
    this.sendLimiter = limiters.create('send-message', limits.sendMessage, 60);
    this.endLimiter = limiters.create('end-conversation', limits.endConversation, 60);
  }

  /**
   * Stores a message with the conversation's next seq, then publishes it. Repeating a clientMessageId
   * returns the stored message and stores nothing; reusing one for other content is CONFLICT.
   */
  async send(scope: RequestScope, input: { conversationId: string; content: string; clientMessageId: string }): Promise<Message> {
    const viewer = signedIn(scope.viewer);
    const content = input.content.trim();
    const problems = [];
    if (!content || content.length > MAX_MESSAGE_LENGTH)
      problems.push({ field: 'content', message: `must be 1 to ${MAX_MESSAGE_LENGTH} characters` });
    if (!input.clientMessageId || input.clientMessageId.length > 100)
      problems.push({ field: 'clientMessageId', message: 'must be 1 to 100 characters' });
    if (problems.length) throw new InvalidInput(problems);
    await consumeOrThrow(this.sendLimiter, viewer.id, 'Too many messages; slow down');

    // Stored masked, the original sealed beside it (records/text-protector.ts); everyone reads the masked text.
    const id = randomUUID();
    const stored = isUuid(input.conversationId) ? await this.protector.protectMessage(viewer, input.conversationId, id, content) : null;
    const appended =
      stored && (await appendInOneStatement(this.statements, viewer, input.conversationId, id, input.clientMessageId, stored));
    if (appended) {
      this.publishMessage(appended.agentId, appended.message);
      return appended.message;
    }
    // Not appended: a repeated clientMessageId, or a send that is refused. The locked, step-by-step path
    // below gives the stored message back or says precisely what is wrong (and appends if things changed).
    return inTransaction(scope.em, async (em, afterCommit) => {
      // The row lock orders concurrent senders: each gets the next seq, none the same.
      const c = await lockConversation(em, input.conversationId);
      const party = partyOf(viewer, c);
      if (party !== 'CUSTOMER' && party !== 'AGENT') throw new Forbidden('Only the customer and the agent of a conversation write in it');
      const existing = await em.findOne(Message, { conversationId: c.id, senderId: viewer.id, clientMessageId: input.clientMessageId });
      if (existing) {
        if (existing.content !== (stored?.masked.content ?? content)) {
          throw new Conflict(ConflictReason.CLIENT_MESSAGE_ID_REUSED, 'This clientMessageId was already used for another message');
        }
        return existing;
      }
      if (c.status === ConversationStatus.ENDED) throw new Conflict(ConflictReason.CONVERSATION_ENDED, 'The conversation has ended');
      if (party === 'AGENT' && c.status !== ConversationStatus.ACTIVE)
        throw new Conflict(ConflictReason.CONVERSATION_NOT_ACTIVE, 'The conversation is not active');
      const now = new Date();
      const m = appendMessage(em, c, {
        senderId: viewer.id,
        senderRole: viewer.role,
        kind: MessageKind.TEXT,
        content,
        clientMessageId: input.clientMessageId,
        now,
      });
      if (party === 'CUSTOMER') {
        c.lastCustomerMessageAt = now;
        c.idleWarnedAt = null;
      } else {
        c.lastAgentMessageAt = now;
      }
      await em.flush();
      afterCommit(() => this.publishMessage(c.agentId, m));
      return m;
    });
  }

  /** Set once at start-up (services.ts): quality inspection, which imports from this module, not the other way. */
  useInspector(inspector: MessageInspector): void {
    this.inspector = inspector;
  }

  /** Stores a system message (transfers, idle warnings, FAQ answers) and publishes it. */
  systemMessage(em: EntityManager, c: Conversation, content: string, afterCommit: (fn: () => unknown) => void): Message {
    const m = appendMessage(em, c, {
      senderId: null,
      senderRole: null,
      kind: MessageKind.SYSTEM,
      content,
      clientMessageId: null,
      now: new Date(),
    });
    afterCommit(() => this.publishMessage(c.agentId, m));
    return m;
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
    c.status = ConversationStatus.ENDED;
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
          status: QueueUpdateStatus.ENDED,
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

  /** Runs after the message's commit, on every path that stores one. */
  private publishMessage(agentId: string | null, m: Message): void {
    this.inspector?.inspect(m);
    const payload = toMessagePayload(m);
    this.pubsub.publish(Topics.CONVERSATION, m.conversationId, {
      type: ConversationEventType.MESSAGE,
      conversationId: m.conversationId,
      message: payload,
      at: payload.createdAt,
    } satisfies ConversationEventPayload);
    if (agentId && m.senderId !== agentId) {
      this.pubsub.publish(Topics.INBOX, agentId, {
        type: InboxEventType.MESSAGE,
        conversationId: m.conversationId,
        message: payload,
        at: payload.createdAt,
      } satisfies InboxEventPayload);
    }
  }
}

/** The viewer's relation to a conversation, or null when they have none. */
export function partyOf(viewer: Viewer, c: Conversation): Party | null {
  if (viewer.id === c.customerId) return 'CUSTOMER';
  if (c.agentId && viewer.id === c.agentId) return 'AGENT';
  if (viewer.role === Role.ADMIN) return 'SUPERVISOR';
  if (viewer.role === Role.MANAGER && c.departmentId && managesDepartment(viewer, c.departmentId)) return 'SUPERVISOR';
  return null;
}

export async function lockConversation(em: EntityManager, id: string): Promise<Conversation> {
  const c = isUuid(id) ? await em.findOne(Conversation, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
  if (!c) throw new NotFound('Conversation', id);
  return c;
}

/**
 * The common send as one statement, committed when it returns: the UPDATE takes the conversation's row lock
 * (ordering concurrent senders) and the next seq, the INSERT stores the message with it. It appends only when
 * the sender may write now (the customer while it is open, the agent while it is ACTIVE) and the
 * clientMessageId is new to this sender; otherwise it changes nothing and returns no row. A concurrent twin
 * of the same clientMessageId violates the unique index and rolls the whole statement back.
 * $1 sender, $2 now, $3 conversation, $4 clientMessageId, $5 message id, $6 sender role, $7 content,
 * $8 the kinds of personal data in the content, $9 the sealed original (NULL when it held none): $7 is then masked.
 */
const APPEND_MESSAGE: PreparedStatement = {
  name: 'chat_append_message_v3',
  text: `
    WITH c AS (
      UPDATE conversations
         SET last_seq = last_seq + 1,
             last_customer_message_at = CASE WHEN customer_id = $1 THEN $2 ELSE last_customer_message_at END,
             idle_warned_at = CASE WHEN customer_id = $1 THEN NULL ELSE idle_warned_at END,
             last_agent_message_at = CASE WHEN customer_id = $1 THEN last_agent_message_at ELSE $2 END
       WHERE id = $3
         AND ((customer_id = $1 AND status <> 'ENDED') OR (agent_id = $1 AND status = 'ACTIVE'))
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = $3 AND m.sender_id = $1 AND m.client_message_id = $4)
      RETURNING id, last_seq, agent_id
    )
    INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, kind, content, client_message_id, created_at, pii_types, sealed)
    SELECT $5::uuid, c.id, c.last_seq, $1::uuid, $6::user_role, 'TEXT', $7::text, $4::text, $2::timestamptz, $8::text[], $9::bytea FROM c
    RETURNING seq, (SELECT agent_id FROM c) AS agent_id`,
};

/**
 * Appends the message in one prepared statement (the path of nearly every message), or returns null when
 * it did not: a repeated clientMessageId, or a send that is refused.
 */
async function appendInOneStatement(
  statements: PreparedStatements,
  viewer: Viewer,
  conversationId: string,
  id: string,
  clientMessageId: string,
  stored: ProtectedText,
): Promise<{ message: Message; agentId: string | null } | null> {
  const now = new Date();
  const content = stored.masked.content;
  let rows: Array<{ seq: number; agent_id: string | null }>;
  try {
    rows = await statements.run(APPEND_MESSAGE, [
      viewer.id,
      now,
      conversationId,
      clientMessageId,
      id,
      viewer.role,
      content,
      stored.types,
      stored.sealed,
    ]);
  } catch (err) {
    if (violatedConstraint(err)?.constraint === 'messages_client_message_key') return null;
    throw err;
  }
  if (!rows.length) return null;
  const message = messageFromPayload({
    id,
    conversationId,
    seq: rows[0].seq,
    senderId: viewer.id,
    senderRole: viewer.role,
    kind: MessageKind.TEXT,
    content,
    clientMessageId,
    createdAt: now.toISOString(),
    deliveredAt: null,
    readAt: null,
  });
  message.piiTypes = stored.types;
  return { message, agentId: rows[0].agent_id };
}

/** Adds the next message to a locked conversation (seq = lastSeq + 1). */
function appendMessage(
  em: EntityManager,
  c: Conversation,
  m: { senderId: string | null; senderRole: Role | null; kind: MessageKind; content: string; clientMessageId: string | null; now: Date },
): Message {
  c.lastSeq += 1;
  return em.create(Message, {
    conversationId: c.id,
    seq: c.lastSeq,
    senderId: m.senderId,
    senderRole: m.senderRole,
    kind: m.kind,
    content: m.content,
    clientMessageId: m.clientMessageId,
    createdAt: m.now,
  });
}

/** The customer and the agent of a conversation (for quick-reply templates and transfer summaries). */
export async function conversationParties(em: EntityManager, conversationId: string): Promise<{ customer: User; agent: User | null }> {
  const c = isUuid(conversationId) ? await em.findOne(Conversation, { id: conversationId }) : null;
  if (!c) throw new NotFound('Conversation', conversationId);
  const [customer, agent] = await Promise.all([
    em.findOneOrFail(User, { id: c.customerId }),
    c.agentId ? em.findOne(User, { id: c.agentId }) : null,
  ]);
  return { customer, agent };
}
