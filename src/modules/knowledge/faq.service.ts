import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { signedIn, withRole } from '../../platform/auth/scope';
import { pgArray } from '../../platform/db/arrays';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { Page, paginate } from '../../platform/pagination';
import { TransitionTable } from '../../platform/state-machine';
import { isUuid } from '../../platform/ids';
import { Department } from '../accounts/department.entity';
import type { AuditService } from '../audit/audit.service';
import type { HotCache } from '../../platform/cache/hot-cache';
import { Faq, FaqHit, FaqScope, FaqStatus } from './faq.entity';
import { analyseFaq, FaqIndex } from './faq-index';
import { ANSWER_MAX, CreateFaqInput, QUESTION_MAX, UpdateFaqInput } from './faq.inputs';
import { canEditFaq, canReadFaq, checkQuery, faqPlacement, QUERY_MAX, SEARCH_LIMIT_MAX, SEARCHABLE, tags, text } from './faq-rules';
import type { KnowledgeSettings } from './knowledge.settings';
import { combineScores } from './search';
import { TextAnalyzer } from './segmenter';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { FaqPhrasingSource } from './faq-phrasing.entity';
import type { Lexicon } from './lexicon';
import { suggestPhrasing } from './phrasing-store';
import { UnansweredLog, UnansweredReason } from './unanswered';

type FaqAction = 'publish' | 'archive';

export const FAQ_FLOW = new TransitionTable<FaqStatus, FaqAction>('The FAQ', {
  publish: { from: [FaqStatus.DRAFT, FaqStatus.ARCHIVED], to: FaqStatus.PUBLISHED },
  archive: { from: [FaqStatus.DRAFT, FaqStatus.PUBLISHED], to: FaqStatus.ARCHIVED },
});

export const POPULAR_LIMIT_MAX = 50;
/** BM25 candidates re-scored with trigram similarity. */
const CANDIDATES = 30;
/** Nearest questions (and, apart, phrasings) the trigram path proposes. */
const TRIGRAM_CANDIDATES = 10;
/** A trigram candidate the word path did not find counts only from this similarity up (0–1). */
const TRIGRAM_RECALL_MIN = 0.15;

/** The columns of a Faq row a search returns (the lazy term columns left out). */
const FAQ_COLUMNS = `f.id, f.scope, f.department_id, f.question, f.answer, f.category, f.tags, f.status, f.use_count, f.helpful_count,
  f.not_helpful_count, f.created_by_id, f.published_at, f.created_at, f.updated_at`;

export interface RankedFaq {
  faq: Faq;
  score: number;
  matchedTerms: string[];
}

export class FaqService {
  readonly analyzer: TextAnalyzer;
  readonly index: FaqIndex;
  /** Questions that found nothing, or whose auto-answer did not help (unansweredQuestions). */
  readonly unanswered: UnansweredLog;
  private readonly categories: ReadonlySet<string>;

  /** `fork` makes the EntityManager the search index catches up with (see FaqIndex). */
  constructor(
    private readonly audit: AuditService,
    private readonly settings: KnowledgeSettings & { engine: 'jieba' | 'intl'; lexicon: Lexicon },
    logger: Logger,
    fork: () => EntityManager,
    private readonly cache: HotCache,
    /** Masks personal data (records' masking): customers' questions are kept for learning, their phone numbers never. */
    readonly maskPersonalData: (text: string) => string = (text) => text,
  ) {
    this.analyzer = new TextAnalyzer({ engine: settings.engine, stopWords: settings.stopWords, lexicon: settings.lexicon });
    this.index = new FaqIndex(this.analyzer, settings.search, logger, fork);
    this.unanswered = new UnansweredLog(this.analyzer, fork, logger, maskPersonalData);
    this.categories = new Set(settings.categories);
  }

  categoryList(): string[] {
    return [...this.settings.categories];
  }

  async create(scope: RequestScope, input: CreateFaqInput): Promise<Faq> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const departmentId = faqPlacement(viewer, input.scope, input.departmentId);
    const fields = {
      question: text('question', input.question, QUESTION_MAX),
      answer: text('answer', input.answer, ANSWER_MAX),
      category: this.category('category', input.category),
      tags: tags(input.tags ?? []),
    };
    return inTransaction(scope.em, async (em) => {
      if (departmentId && (!isUuid(departmentId) || !(await em.findOne(Department, { id: departmentId }, { fields: ['id'] })))) {
        throw new InvalidInput('departmentId', 'is not a known department');
      }
      const faq = em.create(Faq, {
        scope: input.scope,
        departmentId,
        ...fields,
        ...analyseFaq(this.analyzer, fields),
        analyzer: this.analyzer.id,
        createdById: viewer.id,
      });
      this.audit.record(em, scope, {
        action: 'faq.create',
        targetType: 'Faq',
        targetId: faq.id,
        summary: `Created ${faq.scope} FAQ “${faq.question}” (${faq.category})`,
      });
      await em.flush();
      return faq;
    });
  }

  /** Question, answer, category and tags change; a published FAQ is re-indexed at once (on every process). */
  async update(scope: RequestScope, id: string, input: UpdateFaqInput): Promise<Faq> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const changes: Partial<Pick<Faq, 'question' | 'answer' | 'category' | 'tags'>> = {};
    if (input.question != null) changes.question = text('question', input.question, QUESTION_MAX);
    if (input.answer != null) changes.answer = text('answer', input.answer, ANSWER_MAX);
    if (input.category != null) changes.category = this.category('category', input.category);
    if (input.tags != null) changes.tags = tags(input.tags);
    return this.cache.invalidateAfter(
      'faqs',
      inTransaction(scope.em, async (em) => {
        // A phrasing may not repeat another FAQ's question: phrasing writes and question changes take turns.
        if (changes.question) await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.KNOWLEDGE_PHRASINGS]);
        const faq = await this.editable(em, viewer, id);
        const changed = (Object.keys(changes) as Array<keyof typeof changes>).filter(
          (k) => JSON.stringify(faq[k]) !== JSON.stringify(changes[k]),
        );
        Object.assign(faq, changes);
        Object.assign(faq, analyseFaq(this.analyzer, faq), { analyzer: this.analyzer.id });
        if (faq.status === FaqStatus.PUBLISHED) faq.revision = await nextVersion(em);
        this.audit.record(em, scope, {
          action: 'faq.update',
          targetType: 'Faq',
          targetId: faq.id,
          summary: `Updated ${faq.status} FAQ “${faq.question}”: ${changed.length ? changed.join(', ') : 'no changes'}`,
        });
        await em.flush();
        return faq;
      }),
    );
  }

  publish(scope: RequestScope, id: string): Promise<Faq> {
    return this.transition(scope, id, 'publish');
  }

  archive(scope: RequestScope, id: string): Promise<Faq> {
    return this.transition(scope, id, 'archive');
  }

  /**
   * Newest first. `status` defaults to PUBLISHED, which everyone signed in reads; DRAFT and ARCHIVED FAQs are
   * listed for their keepers only (admins: all; managers: their department's), anyone else is FORBIDDEN.
   */
  async list(
    scope: RequestScope,
    opts: { category?: string | null; status?: FaqStatus | null; first: number; after?: string | null },
  ): Promise<Page<Faq>> {
    const viewer = signedIn(scope.viewer);
    const where: FilterQuery<Faq> = { status: opts.status ?? FaqStatus.PUBLISHED };
    if (opts.category != null) where.category = this.category('category', opts.category);
    if (where.status !== FaqStatus.PUBLISHED) {
      if (viewer.role === Role.MANAGER && viewer.departmentId) {
        where.scope = FaqScope.DEPARTMENT;
        where.departmentId = viewer.departmentId;
      } else if (viewer.role !== Role.ADMIN) {
        throw new Forbidden('Only the keepers of FAQs see drafts and archived ones');
      }
    }
    const page = () =>
      paginate(scope.em.fork(), Faq, where, { first: opts.first, after: opts.after, orderBy: { createdAt: 'desc', id: 'desc' } });
    // Published pages are the same for everyone: cached (changes, votes included, invalidate them).
    if (where.status !== FaqStatus.PUBLISHED) return page();
    return this.cache.get('faqs', JSON.stringify([opts.category ?? null, opts.first, opts.after ?? null]), page);
  }

  /** Published FAQs that answered most often, then the most helpful. */
  async popular(scope: RequestScope, limit: number): Promise<Faq[]> {
    signedIn(scope.viewer);
    if (!Number.isInteger(limit) || limit < 1 || limit > POPULAR_LIMIT_MAX)
      throw new InvalidInput('limit', `must be between 1 and ${POPULAR_LIMIT_MAX}`);
    return scope.em.find(Faq, { status: FaqStatus.PUBLISHED }, { orderBy: { useCount: 'desc', helpfulCount: 'desc', id: 'asc' }, limit });
  }

  /**
   * One vote per user and FAQ: a second call changes the vote. Counted under the FAQ's row lock, so concurrent
   * votes are never lost. Only published FAQs take feedback.
   */
  async feedback(scope: RequestScope, id: string, helpful: boolean): Promise<Faq> {
    const viewer = signedIn(scope.viewer);
    return this.cache.invalidateAfter(
      'faqs',
      inTransaction(scope.em, async (em) => {
        const faq = isUuid(id) ? await em.findOne(Faq, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
        if (!faq || !canReadFaq(viewer, faq)) throw new NotFound('FAQ', id);
        if (faq.status !== FaqStatus.PUBLISHED)
          throw new Conflict(ConflictReason.NOT_PUBLISHED, `The FAQ is ${faq.status}: only published FAQs take feedback`);
        await this.vote(em, faq, viewer.id, helpful);
        return faq;
      }),
    );
  }

  /** A user's vote on a FAQ locked (PESSIMISTIC_WRITE) in `em`'s transaction; a second vote changes the first. */
  async vote(em: EntityManager, faq: Faq, userId: string, helpful: boolean): Promise<void> {
    const [before] = await em.execute<Array<{ helpful: boolean }>>(`SELECT helpful FROM faq_feedback WHERE faq_id = ? AND user_id = ?`, [
      faq.id,
      userId,
    ]);
    if (before?.helpful === helpful) return;
    await em.execute(
      `INSERT INTO faq_feedback (faq_id, user_id, helpful) VALUES (?, ?, ?)
       ON CONFLICT (faq_id, user_id) DO UPDATE SET helpful = EXCLUDED.helpful, updated_at = now()`,
      [faq.id, userId, helpful],
    );
    if (before) {
      if (before.helpful) faq.helpfulCount -= 1;
      else faq.notHelpfulCount -= 1;
    }
    if (helpful) faq.helpfulCount += 1;
    else faq.notHelpfulCount += 1;
    await em.flush();
  }

  /**
   * Records an auto-answer's feedback: the FAQ locked, counted whatever its status now (it was published when it
   * answered). With the customer's `question`, the knowledge base learns from it: helpful makes it a suggested
   * phrasing of the FAQ, not helpful logs it as unanswered.
   */
  async voteById(em: EntityManager, faqId: string, userId: string, helpful: boolean, question?: string | null): Promise<void> {
    const faq = await em.findOne(Faq, { id: faqId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!faq) return;
    await this.vote(em, faq, userId, helpful);
    if (!question) return;
    if (helpful) await suggestPhrasing(em, this.analyzer, faqId, this.maskPersonalData(question), FaqPhrasingSource.AUTO_ANSWER_HELPFUL);
    else await this.unanswered.record(question, UnansweredReason.NOT_HELPFUL, faqId, em);
  }

  /** searchFaqs: published FAQs only, best first, each with a 0–1 score. */
  async search(scope: RequestScope, query: string, limit: number): Promise<FaqHit[]> {
    signedIn(scope.viewer);
    if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMIT_MAX)
      throw new InvalidInput('limit', `must be between 1 and ${SEARCH_LIMIT_MAX}`);
    const q = checkQuery(query);
    const hits = await this.rank(scope.em, q, limit);
    if (!hits.length) await this.unanswered.record(q, UnansweredReason.NO_RESULT);
    return hits;
  }

  /**
   * For auto-answering a customer's message: the best published FAQ (a detached instance, not managed by
   * `em`) when its score reaches `search.bestAnswerMinScore`, else null. The FAQ's `useCount` goes up by one (in `em`'s transaction, if
   * it is one), since it is about to answer someone; pass `{ recordUse: false }` to only look.
   * A message longer than a search query is cut to its first 500 characters.
   */
  async bestAnswer(em: EntityManager, message: string, opts: { recordUse?: boolean } = {}): Promise<{ faq: Faq; score: number } | null> {
    const [best] = await this.bestAnswers(em, [message]);
    if (best && (opts.recordUse ?? true)) await this.recordUse(em, best.faq);
    return best;
  }

  /** bestAnswer for many messages at once (one search, one write of the unanswered ones), no use counted. */
  async bestAnswers(em: EntityManager, messages: readonly string[]): Promise<Array<{ faq: Faq; score: number } | null>> {
    const queries = messages.map((message) => Array.from(message.trim()).slice(0, QUERY_MAX).join('').trim());
    const searchable = queries.flatMap((q, i) => (SEARCHABLE.test(q) ? [i] : []));
    const results = await this.rankMany(
      em,
      searchable.map((i) => queries[i]),
      1,
    );
    const answers: Array<{ faq: Faq; score: number } | null> = queries.map(() => null);
    const unanswered: string[] = [];
    searchable.forEach((i, k) => {
      const [best] = results[k];
      if (best && best.score >= this.settings.search.bestAnswerMinScore) answers[i] = { faq: best.faq, score: best.score };
      else unanswered.push(queries[i]);
    });
    await this.unanswered.recordMany(unanswered, UnansweredReason.NO_RESULT);
    return answers;
  }

  /** Counts one use of the FAQ (an increment in SQL, so concurrent uses add up) and sets `faq.useCount` to the new count. */
  async recordUse(em: EntityManager, faq: Faq): Promise<void> {
    const [row] = await em.execute<Array<{ use_count: number }>>(
      `UPDATE faqs SET use_count = use_count + 1 WHERE id = ? RETURNING use_count`,
      [faq.id],
    );
    if (row) faq.useCount = row.use_count;
  }

  /**
   * The ranking (no viewer, no use counted), from two paths:
   * - words: the best BM25 candidates from the in-memory index (question, tags and answer; each phrasing alone);
   * - characters: pg_trgm's nearest questions and phrasings to the query (a KNN scan of their GiST trigram
   *   indexes, on text normalised and canonicalised by the lexicon), kept when similar enough.
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
        `WITH q (n, text) AS (SELECT x.n::int, x.text FROM unnest(?::text[]) WITH ORDINALITY AS x(text, n)),
         candidates (n, id) AS (
           SELECT q.n, t.id FROM q CROSS JOIN LATERAL (
             (SELECT f.id FROM faqs f WHERE f.status = 'PUBLISHED' ORDER BY f.match_text <-> q.text LIMIT ${TRIGRAM_CANDIDATES})
             UNION
             (SELECT p.faq_id FROM faq_phrasings p WHERE p.status = 'ACCEPTED' ORDER BY p.match_text <-> q.text LIMIT ${TRIGRAM_CANDIDATES})
           ) t(id)
           UNION
           SELECT * FROM unnest(?::int[], ?::uuid[])
         )
         SELECT s.version AS index_version, q.n AS query_n, ${FAQ_COLUMNS},
                greatest(similarity(f.match_text, q.text),
                         (SELECT max(similarity(p.match_text, q.text)) FROM faq_phrasings p WHERE p.faq_id = f.id AND p.status = 'ACCEPTED')) AS sim
           FROM knowledge_index_state s CROSS JOIN q
           LEFT JOIN faqs f ON f.id IN (SELECT c.id FROM candidates c WHERE c.n = q.n) AND f.status = 'PUBLISHED'
          WHERE s.id = 1`,
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
    const params = this.settings.search;
    // Trigram candidates the word path did not rank high enough: score their words too.
    const known = new Set(wordCandidates.map((c) => c.id));
    const extra = rows.filter((r) => r.id && !known.has(r.id as string) && Number(r.sim) >= TRIGRAM_RECALL_MIN).map((r) => r.id as string);
    const candidates = extra.length ? this.index.search(terms, Math.max(CANDIDATES, limit), extra) : wordCandidates;
    const byId = new Map(candidates.map((c) => [c.id, c]));
    return rows
      .filter((row) => row.id && (byId.has(row.id as string) || Number(row.sim) >= TRIGRAM_RECALL_MIN))
      .map((row) => {
        const hit = byId.get(row.id as string);
        const score = round(combineScores(hit?.score ?? 0, Number(row.sim ?? 0), params));
        return { row, raw: hit?.raw ?? 0, score, matchedTerms: hit?.matched ?? [] };
      })
      .filter((h) => h.score >= params.minScore && h.score > 0)
      .sort((a, b) => b.score - a.score || b.raw - a.raw || ((a.row.id as string) < (b.row.id as string) ? -1 : 1))
      .slice(0, limit)
      .map(({ row, score, matchedTerms }) => ({ faq: faqOf(row), score, matchedTerms }));
  }

  private async transition(scope: RequestScope, id: string, action: FaqAction): Promise<Faq> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return this.cache.invalidateAfter(
      'faqs',
      inTransaction(scope.em, async (em) => {
        const faq = await this.editable(em, viewer, id);
        const was = faq.status;
        faq.status = FAQ_FLOW.next(faq.status, action);
        if (action === 'publish') {
          faq.publishedAt = new Date();
          if (faq.analyzer !== this.analyzer.id) Object.assign(faq, analyseFaq(this.analyzer, faq), { analyzer: this.analyzer.id });
        }
        if (was === FaqStatus.PUBLISHED || faq.status === FaqStatus.PUBLISHED) faq.revision = await nextVersion(em);
        this.audit.record(em, scope, {
          action: `faq.${action}`,
          targetType: 'Faq',
          targetId: faq.id,
          summary: `${action === 'publish' ? 'Published' : 'Archived'} ${faq.scope} FAQ “${faq.question}” (was ${was})`,
        });
        await em.flush();
        return faq;
      }),
    );
  }

  /** The FAQ locked for change, when the viewer keeps it: NOT_FOUND when it does not exist, FORBIDDEN otherwise. */
  async editable(em: EntityManager, viewer: Viewer, id: string): Promise<Faq> {
    const faq = isUuid(id)
      ? await em.findOne(
          Faq,
          { id },
          {
            lockMode: LockMode.PESSIMISTIC_WRITE,
            populate: ['titleTerms', 'bodyTerms', 'matchText', 'phrasingTerms', 'analyzer', 'revision'] as never,
          },
        )
      : null;
    if (!faq) throw new NotFound('FAQ', id);
    if (!canEditFaq(viewer, faq)) {
      throw new Forbidden(
        faq.scope === FaqScope.PUBLIC ? 'Only admins change public FAQs' : "Only the department's managers or an admin change its FAQs",
      );
    }
    return faq;
  }

  private category(field: string, value: string): string {
    const v = value.trim();
    if (!this.categories.has(v))
      throw new InvalidInput(field, `must be one of the configured categories: ${this.settings.categories.join(', ')}`);
    return v;
  }
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

/**
 * The next knowledge index version, taken under the counter's row lock, which is held until this
 * transaction ends: so versions are committed in order (see the knowledge migration).
 */
export async function nextVersion(em: EntityManager): Promise<string> {
  const [row] = await em.execute<Array<{ version: string }>>(
    `UPDATE knowledge_index_state SET version = version + 1 WHERE id = 1 RETURNING version`,
  );
  return String(row.version);
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
