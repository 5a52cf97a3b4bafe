import type { EntityManager } from '@mikro-orm/postgresql';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { randomUUID } from 'node:crypto';
import type { Role } from '../../platform/auth/roles';
import { signedIn } from '../../platform/auth/scope';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { consumeOrThrow } from '../../platform/rate-limit';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import type { RequestScope } from '../../platform/request-scope';
import type { TextProtector } from '../records/text-protector';
import type { PiiType } from '../records/pii-type';
import { Conversation, ConversationStatus } from './conversation.entity';
import { lockConversation, partyOf } from './conversation-access';
import {
  ConversationEventPayload,
  ConversationEventType,
  InboxEventPayload,
  InboxEventType,
  MessagePayload,
  messageFromPayload,
  toMessagePayload,
} from './conversation.events';
import { MessageAppender } from './message-append';
import { MAX_CLIENT_MESSAGE_ID_LENGTH, MAX_MESSAGE_LENGTH, Message, MessageKind } from './message.entity';

/** Looks at every stored message once it has committed (quality inspection); returns at once, never throws. */
export interface MessageInspector {
  inspect(message: Message): void;
}

/** Sending: a customer's or an agent's message, and the system's; each stored, then published. */
export class ChatSendService {
  constructor(
    private readonly pubsub: PubSubPort,
    private readonly sendLimiter: RateLimiterAbstract,
    private readonly appender: MessageAppender,
    private readonly protector: TextProtector,
    private readonly inspector: MessageInspector,
  ) {}

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
    if (!input.clientMessageId || input.clientMessageId.length > MAX_CLIENT_MESSAGE_ID_LENGTH)
      problems.push({ field: 'clientMessageId', message: `must be 1 to ${MAX_CLIENT_MESSAGE_ID_LENGTH} characters` });
    if (problems.length) throw new InvalidInput(problems);
    await consumeOrThrow(this.sendLimiter, viewer.id, 'Too many messages; slow down');

    // Stored masked, the original sealed beside it (records/text-protector.ts); everyone reads the masked text.
    const id = randomUUID();
    const stored = isUuid(input.conversationId) ? await this.protector.protectMessage(viewer, input.conversationId, id, content) : null;
    if (stored) {
      const at = new Date();
      const { conversationId, clientMessageId } = input;
      const appended = await this.appender.append({ sender: viewer, conversationId, id, clientMessageId, stored, at });
      if (appended) {
        const payload: MessagePayload = {
          id,
          conversationId,
          seq: appended.seq,
          senderId: viewer.id,
          senderRole: viewer.role,
          kind: MessageKind.TEXT,
          content: stored.masked.content,
          clientMessageId,
          createdAt: at.toISOString(),
          deliveredAt: null,
          readAt: null,
          piiTypes: stored.types,
        };
        const message = messageFromPayload(payload);
        this.publish(appended.agentId, message, payload);
        return message;
      }
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
      // The protected form when there is one (its seal is bound to this message id), never the plain text.
      const m = appendMessage(em, c, {
        senderId: viewer.id,
        senderRole: viewer.role,
        kind: MessageKind.TEXT,
        content: stored?.masked.content ?? content,
        clientMessageId: input.clientMessageId,
        now,
        ...(stored && { id, piiTypes: stored.types, sealed: stored.sealed }),
      });
      if (party === 'CUSTOMER') {
        c.lastCustomerMessageAt = now;
        c.idleWarnedAt = null;
      } else {
        c.lastAgentMessageAt = now;
      }
      await em.flush();
      afterCommit(() => this.publish(c.agentId, m, toMessagePayload(m)));
      return m;
    });
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
    afterCommit(() => this.publish(c.agentId, m, toMessagePayload(m)));
    return m;
  }

  /** Runs after the message's commit, on every path that stores one. One payload object serves both topics. */
  private publish(agentId: string | null, m: Message, payload: MessagePayload): void {
    this.inspector.inspect(m);
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

/** Adds the next message to a locked conversation (seq = lastSeq + 1). */
function appendMessage(
  em: EntityManager,
  c: Conversation,
  m: {
    senderId: string | null;
    senderRole: Role | null;
    kind: MessageKind;
    content: string;
    clientMessageId: string | null;
    now: Date;
    id?: string;
    piiTypes?: PiiType[];
    sealed?: Buffer | null;
  },
): Message {
  c.lastSeq += 1;
  return em.create(Message, {
    ...(m.id && { id: m.id }),
    ...(m.piiTypes && { piiTypes: m.piiTypes, sealed: m.sealed ?? null }),
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
