import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import type { AuditService } from '../audit/audit.service';
import { Faq, FaqStatus } from './faq.entity';
import { QUESTION_MAX, SUGGESTIONS_MAX } from './faq.inputs';
import { FaqPhrasing, FaqPhrasingSource, FaqPhrasingStatus } from './faq-phrasing.entity';
import { SEARCHABLE, text } from './faq-rules';
import type { FaqService } from './faq.service';
import { nextVersion } from './faq.service';
import { phrasingOfAnotherFaq, questionOfAnotherFaq } from './phrasing-store';
import { analysePhrasings } from './faq-index';

/**
 * Alternative phrasings (相似问法) of FAQs: kept by the FAQ's keepers (admins; a department's managers), each
 * change audited and applied to search at once (the FAQ's `phrasing_terms` and revision, as an FAQ edit).
 * Suggested phrasings, learnt from service (see FaqLearningService and FaqService.voteById), wait here for a
 * keeper to accept or reject them.
 */
export class FaqPhrasingService {
  constructor(
    private readonly audit: AuditService,
    private readonly faqs: FaqService,
  ) {}

  /** A new ACCEPTED phrasing (or a suggested / rejected one of the same text, accepted now). */
  async add(scope: RequestScope, faqId: string, input: string): Promise<FaqPhrasing> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const phrasing = this.checkText(input);
    return inTransaction(scope.em, async (em) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.KNOWLEDGE_PHRASINGS]);
      const faq = await this.faqs.editable(em, viewer, faqId);
      const matchText = await this.checkUnique(em, faq, phrasing);
      // A suggested or rejected phrasing of the same text (punctuation aside) is accepted with the new wording.
      const same = await em.find(
        FaqPhrasing,
        { faqId: faq.id, id: { $in: await this.sameText(em, faq.id, phrasing, matchText) } },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { createdAt: 'asc', id: 'asc' } },
      );
      if (same.some((p) => p.status === FaqPhrasingStatus.ACCEPTED))
        throw new Conflict(ConflictReason.ALREADY_EXISTS, 'The FAQ already has this phrasing');
      let row: FaqPhrasing | undefined = same[0];
      if (row)
        Object.assign(row, {
          text: phrasing,
          matchText,
          status: FaqPhrasingStatus.ACCEPTED,
          decidedById: viewer.id,
          decidedAt: new Date(),
        });
      else
        row = em.create(FaqPhrasing, {
          faqId: faq.id,
          text: phrasing,
          matchText,
          status: FaqPhrasingStatus.ACCEPTED,
          source: FaqPhrasingSource.MANUAL,
          createdById: viewer.id,
        });
      await em.flush();
      await this.reindex(em, faq);
      this.audit.record(em, scope, {
        action: 'faq.phrasing_add',
        targetType: 'Faq',
        targetId: faq.id,
        summary: `Added the phrasing “${phrasing}” to FAQ “${faq.question}”`,
      });
      await em.flush();
      return row;
    });
  }

  /** A new text for an accepted phrasing. */
  async update(scope: RequestScope, id: string, input: string): Promise<FaqPhrasing> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const phrasing = this.checkText(input);
    return inTransaction(scope.em, async (em) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.KNOWLEDGE_PHRASINGS]);
      const { row, faq } = await this.locked(em, viewer, id);
      if (row.status !== FaqPhrasingStatus.ACCEPTED)
        throw new Conflict(
          ConflictReason.INVALID_STATE,
          `The phrasing is ${row.status}: accept or reject a suggestion, edit an accepted one`,
          { state: row.status, action: 'update' },
        );
      const matchText = await this.checkUnique(em, faq, phrasing);
      if ((await this.sameText(em, faq.id, phrasing, matchText)).some((other) => other !== row.id))
        throw new Conflict(ConflictReason.ALREADY_EXISTS, 'The FAQ already has this phrasing');
      const before = row.text;
      Object.assign(row, { text: phrasing, matchText });
      await em.flush();
      await this.reindex(em, faq);
      this.audit.record(em, scope, {
        action: 'faq.phrasing_update',
        targetType: 'Faq',
        targetId: faq.id,
        summary: `Changed the phrasing “${before}” of FAQ “${faq.question}” to “${phrasing}”`,
      });
      await em.flush();
      return row;
    });
  }

  /** Removes a phrasing (of any status); returns its id. */
  async remove(scope: RequestScope, id: string): Promise<string> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return inTransaction(scope.em, async (em) => {
      const { row, faq } = await this.locked(em, viewer, id);
      em.remove(row);
      await em.flush();
      if (row.status === FaqPhrasingStatus.ACCEPTED) await this.reindex(em, faq);
      this.audit.record(em, scope, {
        action: 'faq.phrasing_remove',
        targetType: 'Faq',
        targetId: faq.id,
        summary: `Removed the ${row.status} phrasing “${row.text}” of FAQ “${faq.question}”`,
      });
      await em.flush();
      return id;
    });
  }

  /** SUGGESTED → ACCEPTED: searched like the question from now on. A second accept (or one of a rejected suggestion) is CONFLICT. */
  accept(scope: RequestScope, id: string): Promise<FaqPhrasing> {
    return this.decide(scope, id, FaqPhrasingStatus.ACCEPTED);
  }

  /** SUGGESTED → REJECTED: never searched, and the same text is not suggested again for this FAQ. */
  reject(scope: RequestScope, id: string): Promise<FaqPhrasing> {
    return this.decide(scope, id, FaqPhrasingStatus.REJECTED);
  }

  /** Suggestions waiting for the viewer: admins all, managers their department's FAQs'; most often seen first. */
  async suggestions(scope: RequestScope, faqId?: string | null): Promise<FaqPhrasing[]> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    if (faqId != null && !isUuid(faqId)) throw new NotFound('FAQ', faqId);
    if (viewer.role === Role.MANAGER && !viewer.departmentId) return [];
    const rows = await scope.em.execute<Array<{ id: string }>>(
      `SELECT p.id FROM faq_phrasings p JOIN faqs f ON f.id = p.faq_id
        WHERE p.status = 'SUGGESTED' AND (?::uuid IS NULL OR p.faq_id = ?::uuid) AND (? OR (f.scope = 'DEPARTMENT' AND f.department_id = ?::uuid))
        ORDER BY p.times_seen DESC, p.created_at DESC, p.id LIMIT ${SUGGESTIONS_MAX}`,
      [faqId ?? null, faqId ?? null, viewer.role === Role.ADMIN, viewer.departmentId],
    );
    const found = await scope.em.find(FaqPhrasing, { id: { $in: rows.map((r) => r.id) } });
    const order = new Map(rows.map((r, i) => [r.id, i]));
    return found.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  }

  /** The accepted phrasings of FAQs (for Faq.phrasings), oldest first. */
  async acceptedOf(em: EntityManager, faqIds: readonly string[]): Promise<FaqPhrasing[][]> {
    const rows = await em.find(
      FaqPhrasing,
      { faqId: { $in: [...faqIds] }, status: FaqPhrasingStatus.ACCEPTED },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    return faqIds.map((id) => rows.filter((r) => r.faqId === id));
  }

  private async decide(scope: RequestScope, id: string, to: FaqPhrasingStatus.ACCEPTED | FaqPhrasingStatus.REJECTED): Promise<FaqPhrasing> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return inTransaction(scope.em, async (em) => {
      if (to === FaqPhrasingStatus.ACCEPTED) await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.KNOWLEDGE_PHRASINGS]);
      const { row, faq } = await this.locked(em, viewer, id);
      if (row.status !== FaqPhrasingStatus.SUGGESTED) {
        throw new Conflict(
          ConflictReason.ALREADY_DECIDED,
          `The phrasing is already ${row.status}: only a suggestion is accepted or rejected, once`,
          { state: row.status },
        );
      }
      if (to === FaqPhrasingStatus.ACCEPTED) row.matchText = await this.checkUnique(em, faq, row.text);
      Object.assign(row, { status: to, decidedById: viewer.id, decidedAt: new Date() });
      await em.flush();
      if (to === FaqPhrasingStatus.ACCEPTED) await this.reindex(em, faq);
      const verb = to === FaqPhrasingStatus.ACCEPTED ? 'accept' : 'reject';
      this.audit.record(em, scope, {
        action: `faq.phrasing_${verb}`,
        targetType: 'Faq',
        targetId: faq.id,
        summary: `${verb === 'accept' ? 'Accepted' : 'Rejected'} the suggested phrasing “${row.text}” of FAQ “${faq.question}”`,
      });
      await em.flush();
      return row;
    });
  }

  /** The phrasing and its FAQ, both locked, when the viewer keeps the FAQ. */
  private async locked(em: EntityManager, viewer: Viewer, id: string): Promise<{ row: FaqPhrasing; faq: Faq }> {
    const row = isUuid(id) ? await em.findOne(FaqPhrasing, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
    if (!row) throw new NotFound('FAQ phrasing', id);
    return { row, faq: await this.faqs.editable(em, viewer, row.faqId) };
  }

  /** Trimmed, 1 to QUESTION_MAX characters, something searchable in it; else BAD_USER_INPUT on `text`. */
  private checkText(input: string): string {
    const phrasing = text('text', input, QUESTION_MAX);
    if (!SEARCHABLE.test(phrasing)) throw new InvalidInput('text', 'must contain a letter, a digit or a Chinese character');
    return phrasing;
  }

  /**
   * The phrasing's trigram text; BAD_USER_INPUT when it repeats this FAQ's question, another FAQ's question or
   * another FAQ's accepted phrasing (compared as match texts: case, width, traditional characters, lexicon forms
   * and punctuation aside). Callers hold the KNOWLEDGE_PHRASINGS lock, so two FAQs cannot take one text at once.
   */
  private async checkUnique(em: EntityManager, faq: Faq, phrasing: string): Promise<string> {
    const matchText = this.faqs.analyzer.matchText(phrasing);
    if (matchText === this.faqs.analyzer.matchText(faq.question)) throw new InvalidInput('text', 'is the FAQ’s own question');
    if (await questionOfAnotherFaq(em, matchText, faq.id))
      throw new InvalidInput('text', 'is identical to another FAQ’s question: a phrasing must not make two FAQs answer the same question');
    if (await phrasingOfAnotherFaq(em, matchText, faq.id))
      throw new InvalidInput('text', 'is already a phrasing of another FAQ: a phrasing must not make two FAQs answer the same question');
    return matchText;
  }

  /** This FAQ's phrasings (any status) of the same text: the same words, or the same match text. */
  private async sameText(em: EntityManager, faqId: string, phrasing: string, matchText: string): Promise<string[]> {
    const rows = await em.execute<Array<{ id: string }>>(
      `SELECT id FROM faq_phrasings WHERE faq_id = ? AND (lower(btrim(text)) = lower(btrim(?)) OR match_text = ?)`,
      [faqId, phrasing, matchText],
    );
    return rows.map((r) => r.id);
  }

  /** The FAQ's accepted phrasings analysed into its row; a published FAQ takes a new revision, so every process re-indexes it. */
  private async reindex(em: EntityManager, faq: Faq): Promise<void> {
    faq.phrasingTerms = await analysePhrasings(em, this.faqs.analyzer, faq.id);
    if (faq.status === FaqStatus.PUBLISHED) faq.revision = await nextVersion(em);
    await em.flush();
  }
}
