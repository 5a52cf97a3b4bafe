import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { FaqPhrasingSource } from './faq-phrasing.entity';
import { QUESTION_MAX } from './faq.inputs';
import type { TextAnalyzer } from './segmenter';

/**
 * A customer's question learnt from service, stored as a SUGGESTED phrasing of the FAQ that answered it (in
 * `em`'s transaction). The same text suggested again for the same FAQ (punctuation aside: compared as match
 * texts) counts up (`times_seen`); one already accepted or rejected is left as it is. Nothing is suggested when
 * the text is longer than a question may be, has nothing searchable, or already is an FAQ's question.
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
  // The same text with other punctuation counts up the suggestion there is; accepted or rejected, it stays so.
  const [same] = await em.execute<Array<{ id: string; status: string }>>(
    `SELECT id, status FROM faq_phrasings WHERE faq_id = ? AND match_text = ? ORDER BY (status = 'SUGGESTED') DESC, created_at LIMIT 1`,
    [faqId, matchText],
  );
  if (same?.status === 'SUGGESTED') {
    await em.execute(`UPDATE faq_phrasings SET times_seen = times_seen + 1, updated_at = now() WHERE id = ? AND status = 'SUGGESTED'`, [
      same.id,
    ]);
    return;
  }
  if (same) return;
  await em.execute(
    `INSERT INTO faq_phrasings (id, faq_id, text, match_text, status, source)
     SELECT ?, f.id, ?, ?, 'SUGGESTED', ? FROM faqs f WHERE f.id = ?
     ON CONFLICT (faq_id, lower(btrim(text))) DO UPDATE SET times_seen = faq_phrasings.times_seen + 1, updated_at = now()
       WHERE faq_phrasings.status = 'SUGGESTED'`,
    [randomUUID(), text, matchText, source, faqId],
  );
}

/** The id of another FAQ (not `faqId`) with an accepted phrasing that compares equal to this trigram text, or null. */
export async function phrasingOfAnotherFaq(em: EntityManager, matchText: string, faqId: string): Promise<string | null> {
  const [row] = await em.execute<Array<{ faq_id: string }>>(
    `SELECT faq_id FROM faq_phrasings WHERE match_text = ? AND status = 'ACCEPTED' AND faq_id <> ? LIMIT 1`,
    [matchText, faqId],
  );
  return row?.faq_id ?? null;
}

/** The id of an FAQ whose question compares equal to this trigram text (other than `except`), or null. */
export async function questionOfAnotherFaq(em: EntityManager, matchText: string, except?: string): Promise<string | null> {
  const [row] = await em.execute<Array<{ id: string }>>(
    `SELECT id FROM faqs WHERE match_text = ? AND id IS DISTINCT FROM ?::uuid LIMIT 1`,
    [matchText, except ?? null],
  );
  return row?.id ?? null;
}
