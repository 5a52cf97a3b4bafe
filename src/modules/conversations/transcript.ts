import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import { render } from '../../platform/i18n/catalogue';
import type { Locale } from '../../platform/i18n/locales';
import { User } from '../accounts/user.entity';
import type { Message } from './message.entity';

/**
 * The one format of a message as a line of a transcript: `[yyyy-MM-dd HH:mm:ss][ROLE][name] text`, the time in
 * the business time zone, the text on one line (cut to `maxChars` characters with `…` when given).
 */
export function transcriptLine(
  m: Pick<Message, 'createdAt' | 'senderRole' | 'content'>,
  senderName: string,
  zone: string,
  maxChars?: number,
): string {
  const time = DateTime.fromJSDate(m.createdAt, { zone }).toFormat('yyyy-MM-dd HH:mm:ss');
  const flat = m.content.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  const text = maxChars !== undefined && chars.length > maxChars ? `${chars.slice(0, maxChars).join('')}…` : flat;
  return `[${time}][${m.senderRole ?? 'SYSTEM'}][${senderName}] ${text}`;
}

/** Messages as transcript lines, in the order given, their senders' display names read in one query; system messages' sender named in `locale`. */
export async function transcriptLines(em: EntityManager, messages: Message[], zone: string, locale: Locale): Promise<string[]> {
  const senderIds = [...new Set(messages.map((m) => m.senderId).filter((id): id is string => Boolean(id)))];
  const senders = new Map(
    (await em.find(User, { id: { $in: senderIds } }, { fields: ['id', 'displayName'] })).map((u) => [u.id, u.displayName]),
  );
  const system = render({ id: 'chat.systemSender' }, locale);
  return messages.map((m) => transcriptLine(m, m.senderId ? (senders.get(m.senderId) ?? '') : system, zone));
}
