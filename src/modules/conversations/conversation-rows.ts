import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../../platform/auth/roles';
import { pgArray } from '../../platform/db/arrays';
import type { TextProtector } from '../records/text-protector';
import { Conversation } from './conversation.entity';
import { Message } from './message.entity';

/**
 * Routing's writes at a peak, outside the unit of work: new conversations and their first messages as one
 * multi-row INSERT each. Creating, tracking and flushing two entities per request was the largest share of
 * the CPU a routing decision cost. The objects are plain instances, not managed by any EntityManager;
 * the database's triggers (seat count, webhooks) run as for the ORM's INSERT.
 */

/** A new conversation as routing made it (not managed: write it with insertConversations). */
export function newConversation(fields: Omit<Partial<Conversation>, 'id'>): Conversation {
  return Object.assign(new Conversation(), fields);
}

const CONVERSATION_COLUMNS =
  'id, customer_id, topic, department_id, skill, status, agent_id, assigned_at, priority, priority_rank, intent, locale, created_at, queued_at, last_seq, last_customer_message_at';

export async function insertConversations(em: EntityManager, rows: readonly Conversation[]): Promise<void> {
  if (!rows.length) return;
  await em.execute(
    `INSERT INTO conversations (${CONVERSATION_COLUMNS}) VALUES ${rows
      .map(() => '(?, ?, ?, ?, ?, ?::conversation_status, ?, ?, ?::service_priority, ?, ?, ?, ?, ?, ?, ?)')
      .join(', ')}`,
    rows.flatMap((c) => [
      c.id,
      c.customerId,
      c.topic,
      c.departmentId,
      c.skill,
      c.status,
      c.agentId,
      c.assignedAt,
      c.priority,
      c.priorityRank,
      c.intent,
      c.locale,
      c.createdAt,
      c.queuedAt,
      c.lastSeq,
      c.lastCustomerMessageAt,
    ]),
  );
}

/**
 * The customers' first messages (seq 1) of these new conversations, written as the ORM would have: the text
 * masked, its PII types listed and the original sealed (records/text-protector.ts, as the PiiTagger does).
 */
export async function insertFirstMessages(
  em: EntityManager,
  protector: TextProtector,
  firsts: ReadonlyArray<{ conversation: Conversation; content: string }>,
): Promise<Message[]> {
  if (!firsts.length) return [];
  const messages = await Promise.all(
    firsts.map(async ({ conversation: c, content }) => {
      const m = Object.assign(new Message(), {
        conversationId: c.id,
        seq: 1,
        senderId: c.customerId,
        senderRole: Role.CUSTOMER,
        createdAt: c.createdAt,
      });
      const stored = await protector.protectMessage({ id: c.customerId, role: Role.CUSTOMER, departmentId: null }, c.id, m.id, content);
      return Object.assign(m, { content: stored.masked.content, piiTypes: stored.types, sealed: stored.sealed });
    }),
  );
  await em.execute(
    `INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, kind, content, created_at, pii_types, sealed) VALUES ${messages
      .map(() => `(?, ?, ?, ?, ?, 'TEXT', ?, ?, string_to_array(?, ','), ?)`)
      .join(', ')}`,
    messages.flatMap((m) => [
      m.id,
      m.conversationId,
      m.seq,
      m.senderId,
      m.senderRole,
      m.content,
      m.createdAt,
      m.piiTypes!.join(','),
      m.sealed,
    ]),
  );
  return messages;
}

/** Those of `customerIds` who have a conversation that has not ended (plain rows: at a peak most have none). */
export async function customersWithOpenConversations(em: EntityManager, customerIds: string[]): Promise<string[]> {
  const rows = await em.execute<Array<{ customer_id: string }>>(
    `SELECT customer_id FROM conversations WHERE customer_id = ANY(?::uuid[]) AND status <> 'ENDED'`,
    [pgArray([...new Set(customerIds)])],
  );
  return rows.map((r) => r.customer_id);
}
