import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { signedIn, withRole } from '../../platform/auth/scope';
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
import { FaqRanking, RankedFaq } from './faq-ranking';
import { analyseFaq, analysePhrasings, FaqIndex, refreshPhrasingMatchTexts } from './faq-index';
import { ANSWER_MAX, CreateFaqInput, QUESTION_MAX, UpdateFaqInput } from './faq.inputs';
import { canEditFaq, canReadFaq, checkQuery, faqPlacement, QUERY_MAX, SEARCH_LIMIT_MAX, SEARCHABLE, tags, text } from './faq-rules';
import type { KnowledgeSettings } from './knowledge.settings';
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
export type { RankedFaq };

export class FaqService {
  readonly analyzer: TextAnalyzer;
  readonly index: FaqIndex;
  private readonly ranking: FaqRanking;
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
    this.ranking = new FaqRanking(this.analyzer, this.index, settings.search);
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
        await this.analyse(em, faq);
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
    // Hits kept only for sharing a word (under minScore: see rank) are shown, yet nothing good enough was found.
    if (!hits.length || hits[0].score < this.settings.search.minScore) await this.unanswered.record(q, UnansweredReason.NO_RESULT);
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

  /** The ranking `search` and `bestAnswers` use, described in faq-ranking.ts (no viewer, no use counted). */
  rank(em: EntityManager, query: string, limit: number): Promise<RankedFaq[]> {
    return this.ranking.rank(em, query, limit);
  }

  /** `rank` for several queries in one round trip (a routing batch's auto-answers); one list per query, in order. */
  rankMany(em: EntityManager, queries: readonly string[], limit: number): Promise<RankedFaq[][]> {
    return this.ranking.rankMany(em, queries, limit);
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
          if (faq.analyzer !== this.analyzer.id) await this.analyse(em, faq);
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

  /**
   * The FAQ's terms made by this analysis, and marked so. When its stored terms came from another one (the
   * lexicon, stop words or segmenter changed), its phrasings are analysed again too: marked current, they would
   * otherwise keep the old terms until the next change of analysis.
   */
  private async analyse(em: EntityManager, faq: Faq): Promise<void> {
    if (faq.analyzer !== this.analyzer.id) {
      faq.phrasingTerms = await analysePhrasings(em, this.analyzer, faq.id);
      await refreshPhrasingMatchTexts(em, this.analyzer, [faq.id]);
    }
    Object.assign(faq, analyseFaq(this.analyzer, faq), { analyzer: this.analyzer.id });
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
 * The next knowledge index version, taken under the counter's row lock, which is held until this
 * transaction ends: so versions are committed in order (see the knowledge migration).
 */
export async function nextVersion(em: EntityManager): Promise<string> {
  const [row] = await em.execute<Array<{ version: string }>>(
    `UPDATE knowledge_index_state SET version = version + 1 WHERE id = 1 RETURNING version`,
  );
  return String(row.version);
}
