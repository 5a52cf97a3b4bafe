import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray } from '../../platform/db/arrays';
import type { Logger } from '../../platform/logger';
import { Bm25Index, Bm25Hit, SearchParams } from './search';
import type { TextAnalyzer } from './segmenter';

interface Row {
  version: string;
  id: string | null;
  status: string | null;
  title_terms: string[] | null;
  body_terms: string[] | null;
  phrasing_terms: string[][] | null;
  analyzer: string | null;
  revision: string | null;
}

/** The index terms of an FAQ: the question and tags make the title, the answer the body; and its trigram text. */
export function analyseFaq(analyzer: TextAnalyzer, faq: { question: string; answer: string; tags: readonly string[] }) {
  return {
    titleTerms: analyzer.titleTerms([faq.question, ...faq.tags].join('\n')),
    bodyTerms: analyzer.terms(faq.answer),
    matchText: analyzer.matchText(faq.question),
  };
}

/** The index terms of an FAQ's accepted phrasings, in the order the index numbers them (oldest first). */
export async function analysePhrasings(em: EntityManager, analyzer: TextAnalyzer, faqId: string): Promise<string[][]> {
  const rows = await em.execute<Array<{ text: string }>>(
    `SELECT text FROM faq_phrasings WHERE faq_id = ? AND status = 'ACCEPTED' ORDER BY created_at, id`,
    [faqId],
  );
  return rows.map((r) => analyzer.titleTerms(r.text));
}

/**
 * The trigram text of every phrasing of these FAQs (any status: a suggestion is compared when accepted) made
 * again by this analysis, so the character path and the sameness checks use the lexicon and folding queries use.
 */
export async function refreshPhrasingMatchTexts(em: EntityManager, analyzer: TextAnalyzer, faqIds: readonly string[]): Promise<void> {
  const phrasings = await em.execute<Array<{ id: string; text: string; match_text: string }>>(
    `SELECT id, text, match_text FROM faq_phrasings WHERE faq_id = ANY(?::uuid[])`,
    [pgArray(faqIds)],
  );
  const changed = phrasings
    .map((p) => ({ id: p.id, match: analyzer.matchText(p.text), was: p.match_text }))
    .filter((p) => p.match !== p.was);
  if (changed.length)
    await em.execute(
      `UPDATE faq_phrasings p SET match_text = v.match FROM jsonb_to_recordset(?::jsonb) AS v(id uuid, match text, was text)
        WHERE p.id = v.id AND p.match_text = v.was`,
      [JSON.stringify(changed)],
    );
}

/** A phrasing's document id in the BM25 index: `<faq id>#<n>`; the FAQ's own document is its bare id. */
const PHRASING_MARK = '#';

export interface FaqCandidate extends Bm25Hit {
  /** The phrasing that matched best, if not the question itself (-1). */
  phrasing: number;
}

/**
 * This process's search index of the published FAQs, kept in step with the database across a cluster:
 * `knowledge_index_state.version` rises with every FAQ change (see the knowledge migration). `fresh(em)` reads
 * it (one indexed single-row query) and, when the index is behind, applies the rows whose `revision` is newer
 * — in one statement, so the version and the rows come from one snapshot. The first call loads every
 * published FAQ. Concurrent callers share one catch-up.
 *
 * Rows whose stored terms were made by another analysis (stop words, synonyms or the segmenter changed) are
 * re-analysed from their text here, and the new terms written back (only if the row has not changed since).
 */
export class FaqIndex {
  private readonly bm25: Bm25Index;
  /** How many phrasing documents each FAQ has in the BM25 index. */
  private readonly phrasingCount = new Map<string, number>();
  private version = -1;
  private catchingUp: Promise<void> | null = null;

  /**
   * `fork` gives the EntityManager the catch-up reads (and writes re-analysed terms) with: its own, never the
   * caller's, so a caller's transaction (bestAnswer inside a chat's) takes no part in it.
   */
  constructor(
    private readonly analyzer: TextAnalyzer,
    params: SearchParams,
    private readonly logger: Logger,
    private readonly fork: () => EntityManager,
  ) {
    this.bm25 = new Bm25Index(params);
  }

  /** Published FAQs indexed. */
  get size(): number {
    return this.bm25.size - [...this.phrasingCount.values()].reduce((a, b) => a + b, 0);
  }

  /** The version this index reflects (-1 before the first load). */
  get loadedVersion(): number {
    return this.version;
  }

  /** Brings the index up to the database's current version (or to `seen`, a version the caller read). */
  async fresh(seen?: number): Promise<void> {
    let target = seen;
    if (target === undefined) {
      const [{ version }] = await this.fork().execute<Array<{ version: string }>>(`SELECT version FROM knowledge_index_state WHERE id = 1`);
      target = Number(version);
    }
    while (target > this.version) {
      const before = this.version;
      this.catchingUp ??= this.catchUp(this.fork()).finally(() => (this.catchingUp = null));
      await this.catchingUp;
      // No progress: the version seen is not committed yet (the caller's own transaction made it).
      if (this.version === before) break;
    }
  }

  /**
   * The best `limit` FAQs for the terms: each FAQ scores as its best document (the question with tags and
   * answer, or one of its phrasings alone), as a phrasing is meant to match exactly like the question.
   * `include` are FAQs scored even when outside the best (candidates of the trigram path). A bigram no FAQ
   * holds is also searched by its sound (`TextAnalyzer.soundOf`), so a misspelt pair matches by how it sounds.
   */
  search(terms: readonly string[], limit: number, include: readonly string[] = []): FaqCandidate[] {
    const docs = this.bm25.search(
      terms,
      limit * 3,
      include.flatMap((id) => this.documentsOf(id)),
      this.analyzer.soundOf,
    );
    const best = new Map<string, FaqCandidate>();
    for (const d of docs) {
      const mark = d.id.indexOf(PHRASING_MARK);
      const faqId = mark < 0 ? d.id : d.id.slice(0, mark);
      const seen = best.get(faqId);
      if (!seen || d.score > seen.score) best.set(faqId, { ...d, id: faqId, phrasing: mark < 0 ? -1 : Number(d.id.slice(mark + 1)) });
    }
    // Only the best `limit` (and those included) go on to the database: every candidate is a row read and a
    // similarity computed there, and ~90 instead of 30 nearly doubled a search's time over 10,000 FAQs.
    const included = new Set(include);
    return [...best.values()].sort((a, b) => b.score - a.score || b.raw - a.raw).filter((c, i) => i < limit || included.has(c.id));
  }

  private documentsOf(faqId: string): string[] {
    return [faqId, ...Array.from({ length: this.phrasingCount.get(faqId) ?? 0 }, (_, i) => `${faqId}${PHRASING_MARK}${i}`)];
  }

  private upsert(id: string, title: readonly string[], body: readonly string[], phrasings: readonly (readonly string[])[]): void {
    this.remove(id);
    this.bm25.upsert({ id, title, body });
    phrasings.forEach((terms, i) => this.bm25.upsert({ id: `${id}${PHRASING_MARK}${i}`, title: terms, body: [] }));
    if (phrasings.length) this.phrasingCount.set(id, phrasings.length);
  }

  private remove(id: string): void {
    for (const doc of this.documentsOf(id)) this.bm25.remove(doc);
    this.phrasingCount.delete(id);
  }

  private async catchUp(em: EntityManager): Promise<void> {
    const initial = this.version < 0;
    const rows = await em.execute<Row[]>(
      `SELECT s.version, f.id, f.status, f.title_terms, f.body_terms, f.phrasing_terms, f.analyzer, f.revision
         FROM knowledge_index_state s
         LEFT JOIN faqs f ON f.revision > ? AND (? OR f.status = 'PUBLISHED')
        WHERE s.id = 1`,
      [Math.max(this.version, -1), !initial],
    );
    const stale: Array<{ id: string; revision: string }> = [];
    for (const row of rows) {
      if (!row.id) continue;
      if (row.status !== 'PUBLISHED') {
        this.remove(row.id);
      } else if (row.analyzer !== this.analyzer.id) {
        stale.push({ id: row.id, revision: row.revision! });
      } else {
        this.upsert(row.id, row.title_terms ?? [], row.body_terms ?? [], row.phrasing_terms ?? []);
      }
    }
    if (stale.length) await this.reanalyse(em, stale);
    this.version = Math.max(this.version, Number(rows[0]?.version ?? 0));
  }

  private async reanalyse(em: EntityManager, stale: Array<{ id: string; revision: string }>): Promise<void> {
    const texts = await em.execute<Array<{ id: string; question: string; answer: string; tags: string[]; phrasings: string[] }>>(
      `SELECT f.id, f.question, f.answer, f.tags,
              ARRAY(SELECT p.text FROM faq_phrasings p WHERE p.faq_id = f.id AND p.status = 'ACCEPTED' ORDER BY p.created_at, p.id) AS phrasings
         FROM faqs f WHERE f.id = ANY(?::uuid[])`,
      [pgArray(stale.map((s) => s.id))],
    );
    const revisions = new Map(stale.map((s) => [s.id, s.revision]));
    const updates = texts.map((t) => {
      const { titleTerms, bodyTerms, matchText } = analyseFaq(this.analyzer, t);
      const phrasingTerms = t.phrasings.map((p) => this.analyzer.titleTerms(p));
      this.upsert(t.id, titleTerms, bodyTerms, phrasingTerms);
      return { id: t.id, revision: revisions.get(t.id), title: titleTerms, body: bodyTerms, match: matchText, phrasings: phrasingTerms };
    });
    this.logger.info({ count: updates.length, analyzer: this.analyzer.id }, 'knowledge: re-analysed FAQs made with another analysis');
    try {
      await em.execute(
        `UPDATE faqs f SET title_terms = v.title, body_terms = v.body, match_text = v.match, phrasing_terms = v.phrasings, analyzer = ?
           FROM jsonb_to_recordset(?::jsonb) AS v(id uuid, revision bigint, title text[], body text[], match text, phrasings jsonb)
          WHERE f.id = v.id AND f.revision = v.revision`,
        [this.analyzer.id, JSON.stringify(updates)],
      );
      await refreshPhrasingMatchTexts(
        em,
        this.analyzer,
        stale.map((s) => s.id),
      );
    } catch (err) {
      // Only an optimisation: the index already holds the new terms.
      this.logger.warn({ err }, 'knowledge: could not store re-analysed terms');
    }
  }
}
