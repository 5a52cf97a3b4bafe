import type { EntityManager, EntityName } from '@mikro-orm/postgresql';
import { Conversation } from '../conversations/conversation.entity';
import { Message } from '../conversations/message.entity';

/**
 * Reading rows of the archive tables as the live entities (the columns are the same). Such objects belong
 * to a throw-away EntityManager, never to the request's: nothing can flush them back into the live tables.
 * `archived` remembers which objects came from the archive (GraphQL: Conversation.archived).
 */
const fromArchive = new WeakSet<object>();

export function isArchived(c: object): boolean {
  return fromArchive.has(c);
}

/** The columns of an entity's table, for SELECTs that must read the live and the archive table alike. */
export function columnsOf(em: EntityManager, entity: EntityName<object>, alias: string): string {
  return em
    .getMetadata()
    .get(entity)
    .props.filter((p) => p.persist !== false && p.fieldNames?.length)
    .flatMap((p) => p.fieldNames.map((f) => `${alias}.${f}`))
    .join(', ');
}

/** Raw rows to entities, on a fork of their own; `archived` rows are marked. */
export function toEntities<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  rows: Array<Record<string, unknown>>,
  archived: (row: Record<string, unknown>) => boolean,
): T[] {
  const reader = em.fork();
  return rows.map((row) => {
    const { archived: _flag, ...columns } = row;
    const object = reader.map(entity, columns as never) as T;
    if (archived(row)) fromArchive.add(object);
    return object;
  });
}

/** An archived conversation by id, or null. */
export async function findArchivedConversation(em: EntityManager, id: string): Promise<Conversation | null> {
  const rows = await em.execute<Array<Record<string, unknown>>>(
    `SELECT ${columnsOf(em, Conversation, 'c')} FROM conversations_archive c WHERE c.id = ?`,
    [id],
  );
  return rows.length ? toEntities(em, Conversation, rows, () => true)[0] : null;
}

/** An archived conversation's messages after a seq, oldest first (at most `limit`). */
export async function archivedMessages(em: EntityManager, conversationId: string, afterSeq: number, limit: number): Promise<Message[]> {
  const rows = await em.execute<Array<Record<string, unknown>>>(
    `SELECT ${columnsOf(em, Message, 'm')} FROM messages_archive m WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`,
    [conversationId, afterSeq, limit],
  );
  return toEntities(em, Message, rows, () => true);
}
