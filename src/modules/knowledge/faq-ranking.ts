import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray } from '../../platform/db/arrays';
import { Faq, FaqScope, FaqStatus } from './faq.entity';
import type { FaqIndex } from './faq-index';
import { combineScores, SearchParams } from './search';
import { BIGRAM_PREFIX, type TextAnalyzer } from './segmenter';

/** BM25 candidates re-scored with trigram similarity. */
const CANDIDATES = 30;
/** Nearest questions (and, apart, phrasings) the trigram path proposes. */
const TRIGRAM_CANDIDATES = 10;
/** A trigram candidate the word path did not find counts only from this similarity up (0–1). */
const TRIGRAM_RECALL_MIN = 0.15;

/** The columns of a Faq row a search returns (the lazy term columns left out). */
const FAQ_COLUMNS = `f.id, f.scope, f.department_id, f.question, f.answer, f.category, f.tags, f.status, f.use_count, f.helpful_count,
  f.not_helpful_count, f.created_by_id, f.published_at, f.created_at, f.updated_at`;

/**
 * The one statement of a search (see `FaqRanking.rank`). Parameters: the queries' trigram texts (text[]), then
 * the word path's candidates as parallel arrays of query numbers (1-based, int[]) and FAQ ids (uuid[]).
 */
export const SEARCH_STATEMENT = `WITH q (n, text) AS (SELECT x.n::int, x.text FROM unnest(?::text[]) WITH ORDINALITY AS x(text, n)),
       candidates (n, id) AS MATERIALIZED (
         SELECT q.n, t.id FROM q CROSS JOIN LATERAL (
           (SELECT f.id FROM faqs f WHERE f.status = 'PUBLISHED' ORDER BY f.match_text <-> q.text LIMIT ${TRIGRAM_CANDIDATES})
           UNION
           (SELECT p.faq_id FROM faq_phrasings p WHERE p.status = 'ACCEPTED' ORDER BY p.match_text <-> q.text LIMIT ${TRIGRAM_CANDIDATES})
         ) t(id)
         UNION
         SELECT * FROM unnest(?::int[], ?::uuid[])
       )
       SELECT (SELECT s.version FROM knowledge_index_state s WHERE s.id = 1) AS index_version, q.n AS query_n, ${FAQ_COLUMNS},
              greatest(similarity(f.match_text, q.text),
                       (SELECT max(similarity(p.match_text, q.text)) FROM faq_phrasings p WHERE p.faq_id = f.id AND p.status = 'ACCEPTED')) AS sim
         FROM q LEFT JOIN (
           candidates c CROSS JOIN LATERAL (
             SELECT ${FAQ_COLUMNS}, f.match_text FROM faqs f WHERE f.id = c.id AND f.status = 'PUBLISHED' LIMIT 1
           ) f
         ) ON c.n = q.n`;

export interface RankedFaq {
  faq: Faq;
  score: number;
  matchedTerms: string[];
}

/** FAQs ranked for a text: searchFaqs, and the auto-answers of routing (FaqService.search and bestAnswers). */
export class FaqRanking {
  constructor(
    private readonly analyzer: TextAnalyzer,
    private readonly index: FaqIndex,
    private readonly params: SearchParams,
  ) {}

  /**
   * The ranking (no viewer, no use counted), from two paths:
   * - words: the best BM25 candidates from the in-memory index (question, tags and answer; each phrasing alone);
   * - characters: pg_trgm's nearest questions and phrasings to the query (a KNN scan of their GiST trigram
   *   indexes, on text normalised and canonicalised by the lexicon), kept when similar enough.
   * The candidates are MATERIALIZED: inlined, the planner may re-run their KNN scans for every FAQ row it
   * joins (seen: ~0.9 s a search over 3,000 FAQs instead of milliseconds). Each candidate's row is then read by
   * primary key, in a LATERAL subquery whose LIMIT keeps the planner from turning it into a join: written as
   * `f.id IN (SELECT … FROM candidates)`, PostgreSQL read all of `faqs` and probed the candidate list once per
   * row (~150 ms of a 195 ms search over 10,000 FAQs); as a plain join it hashed the whole table whenever that
   * looked cheaper on paper (~9 ms over 3,000 FAQs, against ~0.5 ms for ~100 index lookups).
   * One query reads the index version, the trigram candidates and every candidate still published with its
   * best trigram similarity (question or phrasing). Final score: (1 − trigramWeight)·BM25/upper bound +
   * trigramWeight·similarity, so it stays in 0–1 (see search.ts).
   *
   * One round trip in the steady state: the version comes back with the candidates, and only when it shows
   * that FAQs changed since the index was built (on any process) does the index catch up and the ranking run
   * again — so a search never misses a change committed before it started.
   */
  async rank(em: EntityManager, query: string, limit: number): Promise<RankedFaq[]> {
    return (await this.rankMany(em, [query], limit))[0];
  }

  /** `rank` for several queries in one round trip (a routing batch's auto-answers); one list per query, in order. */
  async rankMany(em: EntityManager, queries: readonly string[], limit: number): Promise<RankedFaq[][]> {
    if (!queries.length) return [];
    const terms = queries.map((query) => this.analyzer.terms(query));
    const texts = queries.map((query) => this.analyzer.matchText(query));
    if (this.index.loadedVersion < 0) await this.index.fresh();
    for (let attempt = 0; ; attempt++) {
      const candidates = terms.map((t) => this.index.search(t, Math.max(CANDIDATES, limit)));
      const wordIds = candidates.flatMap((list, n) => list.map((c) => ({ n: n + 1, id: c.id })));
      const rows = await em.execute<Array<Record<string, unknown> & { index_version: string; query_n: number; sim: number | null }>>(
        SEARCH_STATEMENT,
        [pgArray(texts), `{${wordIds.map((w) => w.n).join(',')}}`, pgArray(wordIds.map((w) => w.id))],
      );
      if (Number(rows[0].index_version) > this.index.loadedVersion && attempt < 3) {
        await this.index.fresh(Number(rows[0].index_version));
        continue;
      }
      const rowsOf = queries.map((): typeof rows => []);
      for (const row of rows) rowsOf[Number(row.query_n) - 1].push(row);
      return rowsOf.map((own, n) => this.scored(terms[n], candidates[n], own, limit));
    }
  }

  /** One query's rows (trigram and word candidates with their similarity) scored and ordered, best first. */
  private scored(
    terms: readonly string[],
    wordCandidates: ReturnType<FaqIndex['search']>,
    rows: Array<Record<string, unknown> & { sim: number | null }>,
    limit: number,
  ): RankedFaq[] {
    const params = this.params;
    // Trigram candidates the word path did not rank high enough: score their words too.
    const known = new Set(wordCandidates.map((c) => c.id));
    const extra = rows.filter((r) => r.id && !known.has(r.id as string) && Number(r.sim) >= TRIGRAM_RECALL_MIN).map((r) => r.id as string);
    const candidates = extra.length ? this.index.search(terms, Math.max(CANDIDATES, limit), extra) : wordCandidates;
    const byId = new Map(candidates.map((c) => [c.id, c]));
    // Recall first: a hit under minScore stays when it shares a meaning-bearing word with the query (a long
    // question of mostly other words scores low on one shared word, yet that FAQ is what it is about).
    const words = meaningfulWords(terms);
    const goodEnough = (h: { score: number; matchedTerms: string[] }) =>
      h.score > 0 && (h.score >= params.minScore || h.matchedTerms.some((t) => words.has(t)));
    return rows
      .filter((row) => row.id && (byId.has(row.id as string) || Number(row.sim) >= TRIGRAM_RECALL_MIN))
      .map((row) => {
        const hit = byId.get(row.id as string);
        const score = round(combineScores(hit?.score ?? 0, Number(row.sim ?? 0), params));
        return { row, raw: hit?.raw ?? 0, score, matchedTerms: hit?.matched ?? [] };
      })
      .filter(goodEnough)
      .sort((a, b) => b.score - a.score || b.raw - a.raw || ((a.row.id as string) < (b.row.id as string) ? -1 : 1))
      .slice(0, limit)
      .map(({ row, score, matchedTerms }) => ({ faq: faqOf(row), score, matchedTerms }));
  }
}

/**
 * The query's words that carry meaning on their own: segmented words (stop words are never terms) of two or
 * more characters. Single characters (票, 钱) and the character pairs of the n-gram path are too common to count alone.
 */
function meaningfulWords(terms: readonly string[]): Set<string> {
  return new Set(terms.filter((t) => !t.startsWith(BIGRAM_PREFIX) && [...t].length >= 2));
}

/**
 * A search result row as a Faq for output, without MikroORM's hydration (it cost ~0.2 ms a row under load):
 * an instance of the class, not managed by any EntityManager. Load it with `em.findOne` to change it.
 */
function faqOf(row: Record<string, unknown>): Faq {
  return Object.assign(Object.create(Faq.prototype) as Faq, {
    id: row.id as string,
    scope: row.scope as FaqScope,
    departmentId: (row.department_id as string | null) ?? null,
    question: row.question as string,
    answer: row.answer as string,
    category: row.category as string,
    tags: (row.tags as string[]) ?? [],
    status: row.status as FaqStatus,
    useCount: Number(row.use_count),
    helpfulCount: Number(row.helpful_count),
    notHelpfulCount: Number(row.not_helpful_count),
    createdById: row.created_by_id as string,
    publishedAt: (row.published_at as Date | null) ?? null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  });
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
