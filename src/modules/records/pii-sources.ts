import type { EntityManager } from '@mikro-orm/postgresql';
import { Conversation } from '../conversations/conversation.entity';
import { Message } from '../conversations/message.entity';
import { LeaveRequest } from '../leave/leave-request.entity';
import { TicketComment } from '../tickets/ticket-comment.entity';
import { Ticket } from '../tickets/ticket.entity';
import type { PiiType } from './pii-type';

type Protected = { id: string; piiTypes: PiiType[] | null; sealed: Buffer | null };

/** A stored text that may hold personal data: where it lives, how to read it, and whose data it is. */
export interface PiiSource<T extends Protected = Protected> {
  entity: abstract new (...args: never[]) => T;
  table: string;
  /** The properties holding the text (their columns have the same names): masked in place, sealed together. */
  properties: ReadonlyArray<keyof T & string>;
  text(row: T): string;
  /** The same text as an SQL expression over the table's columns. */
  textSql: string;
  /** The subject whose data key seals the text: the customer of the conversation or ticket; the staff member of a leave request. */
  subject(row: T, em: EntityManager): Promise<string | null>;
  /** The same subject as an SQL expression over the table's columns. */
  subjectSql: string;
}

function source<T extends Protected>(s: PiiSource<T>): PiiSource {
  return s as unknown as PiiSource;
}

/**
 * The customer of a conversation or ticket written in the same flush: from the identity map when loaded (it may
 * not be committed yet), else read in the flush's transaction.
 */
async function customerOf(
  em: EntityManager,
  entity: typeof Conversation | typeof Ticket,
  table: string,
  id: string,
): Promise<string | null> {
  const loaded = em.getUnitOfWork().getById<{ id: string; customerId: string }>(entity.name, id as never);
  if (loaded) return loaded.customerId;
  const rows = await em
    .getConnection()
    .execute<Array<{ customer_id: string }>>(`SELECT customer_id FROM ${table} WHERE id = ?`, [id], 'all', em.getTransactionContext());
  return rows[0]?.customer_id ?? null;
}

/**
 * The texts the records module protects (issue 12: chat messages, ticket subjects, descriptions and comments,
 * leave reasons). One list for detection, masking and sealing (search and export read the masked columns).
 */
export const PII_SOURCES: readonly PiiSource[] = [
  source<Message>({
    entity: Message,
    table: 'messages',
    properties: ['content'],
    text: (m) => m.content,
    textSql: 'content',
    subject: (m, em) => customerOf(em, Conversation, 'conversations', m.conversationId),
    subjectSql: '(SELECT s.customer_id FROM conversations s WHERE s.id = messages.conversation_id)',
  }),
  source<Ticket>({
    entity: Ticket,
    table: 'tickets',
    properties: ['subject', 'description'],
    text: (t) => `${t.subject}\n${t.description}`,
    textSql: `subject || E'\\n' || description`,
    subject: async (t) => t.customerId,
    subjectSql: 'customer_id',
  }),
  source<TicketComment>({
    entity: TicketComment,
    table: 'ticket_comments',
    properties: ['body'],
    text: (c) => c.body,
    textSql: 'body',
    subject: (c, em) => customerOf(em, Ticket, 'tickets', c.ticketId),
    subjectSql: '(SELECT s.customer_id FROM tickets s WHERE s.id = ticket_comments.ticket_id)',
  }),
  source<LeaveRequest>({
    entity: LeaveRequest,
    table: 'leave_requests',
    properties: ['reason'],
    text: (l) => l.reason,
    textSql: 'reason',
    subject: async (l) => l.requesterId,
    subjectSql: 'requester_id',
  }),
];

export function piiSourceOf(entity: object): PiiSource | undefined {
  return PII_SOURCES.find((s) => entity instanceof s.entity);
}
