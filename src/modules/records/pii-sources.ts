import { Message } from '../conversations/message.entity';
import { LeaveRequest } from '../leave/leave-request.entity';
import { TicketComment } from '../tickets/ticket-comment.entity';
import { Ticket } from '../tickets/ticket.entity';
import type { PiiType } from './pii-type';

/** A stored text that may hold personal data: where it lives, and how to read it from an entity and in SQL. */
export interface PiiSource<T extends { piiTypes: PiiType[] | null } = { piiTypes: PiiType[] | null }> {
  entity: abstract new (...args: never[]) => T;
  table: string;
  /** The properties whose change means the text must be read again. */
  properties: ReadonlyArray<keyof T & string>;
  text(row: T): string;
  /** The same text as an SQL expression over the table's columns. */
  textSql: string;
}

function source<T extends { piiTypes: PiiType[] | null }>(s: PiiSource<T>): PiiSource {
  return s as unknown as PiiSource;
}

/**
 * The texts the records module protects (issue 12: chat messages, ticket subjects, descriptions and comments,
 * leave reasons). One list for detection now and for encryption, search and export later.
 */
export const PII_SOURCES: readonly PiiSource[] = [
  source<Message>({ entity: Message, table: 'messages', properties: ['content'], text: (m) => m.content, textSql: 'content' }),
  source<Ticket>({
    entity: Ticket,
    table: 'tickets',
    properties: ['subject', 'description'],
    text: (t) => `${t.subject}\n${t.description}`,
    textSql: `subject || E'\\n' || description`,
  }),
  source<TicketComment>({ entity: TicketComment, table: 'ticket_comments', properties: ['body'], text: (c) => c.body, textSql: 'body' }),
  source<LeaveRequest>({ entity: LeaveRequest, table: 'leave_requests', properties: ['reason'], text: (l) => l.reason, textSql: 'reason' }),
];

export function piiSourceOf(entity: object): PiiSource | undefined {
  return PII_SOURCES.find((s) => entity instanceof s.entity);
}
