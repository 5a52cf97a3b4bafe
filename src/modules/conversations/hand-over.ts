import type { EntityManager } from '@mikro-orm/postgresql';
import type { AfterCommit } from '../../platform/db/transaction';
import { MessageId, MessageRef, render } from '../../platform/i18n/catalogue';
import type { Locale } from '../../platform/i18n/locales';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import { User } from '../accounts/user.entity';
import { customerLocale } from '../accounts/user-locale.service';
import type { AgentPool } from './agent-pool';
import type { ChatService, FreedSeats } from './chat.service';
import { CONVERSATION_FLOW } from './conversation-flow';
import { ConversationTransfer } from './conversation-transfer.entity';
import { Conversation } from './conversation.entity';
import { ConversationEventPayload, ConversationEventType, InboxEventPayload, InboxEventType, StatusChange } from './conversation.events';
import { Message, MessageKind } from './message.entity';
import { transcriptLine } from './transcript';

/** The transfer summary quotes this many of the latest customer and staff messages… */
export const SUMMARY_MESSAGES = 10;
/** …each cut to this many characters (a message may hold 5,000; the summary must stay readable). */
export const SUMMARY_LINE_LENGTH = 200;

/**
 * A conversation changing hands, by a person (a transfer) or by the system (the offline sweep, the shift-end
 * handover, the first-reply sweep): the move itself, its history row and events, the summary the new agent
 * reads, and the way back to the queue when nobody can take it.
 */
export class HandOver {
  constructor(
    private readonly businessTz: string,
    private readonly pubsub: PubSubPort,
    private readonly pool: AgentPool,
    private readonly seats: FreedSeats,
    private readonly chat: Pick<ChatService, 'systemMessage'>,
  ) {}

  /**
   * The system takes a locked ACTIVE conversation away from its agent (the offline sweep, the shift-end
   * handover, the first-reply sweep): to the least-loaded eligible colleague among `available` (routing's
   * rule and order, their seat claimed), with the transfer summary; else, when `requeued` is given,
   * back to the front of the queue; else it stays. Returns the new agent, or null. Flushed before it
   * returns: the database has counted the seat before the next pick compares seats.
   */
  async reassign(
    em: EntityManager,
    afterCommit: AfterCommit,
    c: Conversation,
    how: { available: string[]; note: MessageRef; moved: MessageId; requeued: MessageId | null },
  ): Promise<{ id: string; displayName: string } | null> {
    const from = c.agentId!;
    const to = await this.pool.claimBest(
      em,
      how.available.filter((id) => id !== from),
      c,
    );
    // Texts in the customer's language: the conversation's record, read alike by the customer and the agents.
    const locale = await customerLocale(em, c.customerId, c.locale);
    const note = render(how.note, locale);
    if (to) {
      const summary = await this.summary(em, c, locale);
      this.move(em, afterCommit, c, { from, to: to.id, by: null, note });
      this.chat.systemMessage(
        em,
        c,
        [render({ id: how.moved, params: { agent: to.displayName } }, locale), ...summary].join('\n'),
        afterCommit,
      );
    } else if (how.requeued !== null) {
      this.requeue(em, afterCommit, c, from, note, render({ id: how.requeued }, locale));
    }
    await em.flush();
    return to;
  }

  /** The conversation moves to another agent: the common part of a transfer by hand and by the system. */
  move(
    em: EntityManager,
    afterCommit: AfterCommit,
    c: Conversation,
    t: { from: string; to: string; by: string | null; note: string | null },
  ): void {
    c.status = CONVERSATION_FLOW.next(c.status, 'transfer');
    c.agentId = t.to;
    // The new agent has not written yet: the idle clock starts again with their first message.
    c.lastAgentMessageAt = null;
    c.idleWarnedAt = null;
    em.create(ConversationTransfer, {
      conversationId: c.id,
      fromAgentId: t.from,
      toAgentId: t.to,
      byId: t.by,
      note: t.note,
      createdAt: new Date(),
    });
    // Registered before the summary's system message: agents hear of the move, then read the summary.
    afterCommit(() => {
      const at = new Date().toISOString();
      this.publishStatus(c, StatusChange.TRANSFERRED);
      this.pubsub.publish(Topics.INBOX, t.from, {
        type: InboxEventType.TRANSFERRED_OUT,
        conversationId: c.id,
        at,
      } satisfies InboxEventPayload);
      this.pubsub.publish(Topics.INBOX, t.to, {
        type: InboxEventType.TRANSFERRED_IN,
        conversationId: c.id,
        at,
      } satisfies InboxEventPayload);
    });
  }

  /** Back to the queue, ahead of everyone of its rank who came later: first rank, in line from its first arrival. */
  private requeue(em: EntityManager, afterCommit: AfterCommit, c: Conversation, from: string, note: string, customerText: string): void {
    c.status = CONVERSATION_FLOW.next(c.status, 'requeue');
    c.agentId = null;
    c.assignedAt = null;
    c.priorityRank = 0;
    c.queuedAt = c.createdAt;
    c.lastAgentMessageAt = null;
    c.idleWarnedAt = null;
    em.create(ConversationTransfer, { conversationId: c.id, fromAgentId: from, toAgentId: null, byId: null, note, createdAt: new Date() });
    afterCommit(() => {
      const at = new Date().toISOString();
      this.publishStatus(c, StatusChange.REQUEUED);
      this.pubsub.publish(Topics.INBOX, from, { type: InboxEventType.REQUEUED, conversationId: c.id, at } satisfies InboxEventPayload);
      // The department's refresh tells every waiting customer their place, this one included: once, not twice.
      this.seats.queueChanged(c.departmentId);
    });
    this.chat.systemMessage(em, c, customerText, afterCommit);
  }

  /**
   * `[time][role][name] content` for the latest customer and staff messages (system messages, earlier
   * summaries among them, are left out), oldest first, time in the business time zone.
   */
  async summary(em: EntityManager, c: Conversation, locale: Locale): Promise<string[]> {
    const latest = (
      await em.find(Message, { conversationId: c.id, kind: MessageKind.TEXT }, { orderBy: { seq: 'desc' }, limit: SUMMARY_MESSAGES })
    ).reverse();
    if (!latest.length) return [render({ id: 'chat.summaryEmpty' }, locale)];
    const names = await this.names(
      em,
      latest.map((m) => m.senderId).filter((id): id is string => Boolean(id)),
    );
    const system = render({ id: 'chat.systemSender' }, locale);
    return [
      render({ id: 'chat.summaryLatest', params: { count: latest.length } }, locale),
      ...latest.map((m) => summaryLine(m, m.senderId ? (names.get(m.senderId) ?? m.senderId) : system, this.businessTz)),
    ];
  }

  async names(em: EntityManager, ids: string[]): Promise<Map<string, string>> {
    const users = await em.find(User, { id: { $in: [...new Set(ids)] } }, { fields: ['id', 'displayName'] });
    return new Map(users.map((u) => [u.id, u.displayName]));
  }

  publishStatus(c: Conversation, change: StatusChange): void {
    this.pubsub.publish(Topics.CONVERSATION, c.id, {
      type: ConversationEventType.STATUS,
      conversationId: c.id,
      status: { change, status: c.status, agentId: c.agentId, endReason: c.endReason },
      at: new Date().toISOString(),
    } satisfies ConversationEventPayload);
  }
}

/** A transcript line (transcript.ts) cut to SUMMARY_LINE_LENGTH characters, for hand-over notes. */
export function summaryLine(m: Pick<Message, 'createdAt' | 'senderRole' | 'content'>, name: string, zone: string): string {
  return transcriptLine(m, name, zone, SUMMARY_LINE_LENGTH);
}
