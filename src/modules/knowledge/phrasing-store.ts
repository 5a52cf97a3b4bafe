import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { FaqPhrasingSource } from './faq-phrasing.entity';
import { QUESTION_MAX } from './faq.inputs';
import type { TextAnalyzer } from './segmenter';

/**
 * A customer's question learnt from service, stored as a SUGGESTED phrasing of the FAQ that answered it (in
 * `em`'s transaction). The same text suggested again for the same FAQ counts up (`times_seen`); one already
 * accepted or rejected is left as it is. Nothing is suggested when the text is longer than a question may be,
 * has nothing searchable, or already is an FAQ's question.
 */
export async function suggestPhrasing(
  em: EntityManager,
  analyzer: TextAnalyzer,
  faqId: string,
  question: string,
  source: FaqPhrasingSource,
): Promise<void> {
  const text = question.trim();
  const length = Array.from(text).length;
  if (length < 1 || length > QUESTION_MAX || !/[\p{L}\p{N}]/u.test(text)) return;
  const matchText = analyzer.matchText(text);
  if (await questionOfAnotherFaq(em, matchText)) return;
  await em.execute(
    `INSERT INTO faq_phrasings (id, faq_id, text, match_text, status, source)
     SELECT ?, f.id, ?, ?, 'SUGGESTED', ? FROM faqs f WHERE f.id = ?
     ON CONFLICT (faq_id, lower(btrim(text))) DO UPDATE SET times_seen = faq_phrasings.times_seen + 1, updated_at = now()
       WHERE faq_phrasings.status = 'SUGGESTED'`,
    [randomUUID(), text, matchText, source, faqId],
  );
}

/** The id of an FAQ whose question compares equal to this trigram text (other than `except`), or null. */
export async function questionOfAnotherFaq(em: EntityManager, matchText: string, except?: string): Promise<string | null> {
  const [row] = await em.execute<Array<{ id: string }>>(
    `SELECT id FROM faqs WHERE match_text = ? AND id IS DISTINCT FROM ?::uuid LIMIT 1`,
    [matchText, except ?? null],
  );
  return row?.id ?? null;
}
