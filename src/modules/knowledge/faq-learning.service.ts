import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { addDays, isBusinessDate, startOfBusinessDate } from '../../platform/clock';
import { Role, STAFF } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { pgArray } from '../../platform/db/arrays';
import { inTransaction } from '../../platform/db/transaction';
import { InvalidInput, NotFound } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import { isUuid } from '../../platform/ids';
import type { Message } from '../conversations/message.entity';
import { Faq } from './faq.entity';
import { FaqPhrasingSource } from './faq-phrasing.entity';
import { canReadFaq } from './faq-rules';
import { REPORT_MAX_DAYS } from './faq.inputs';
import type { FaqService } from './faq.service';
import { suggestPhrasing } from './phrasing-store';
import type { UnansweredCluster } from './unanswered';

/** Sends a chat message as the viewer (the chat service's `send`, given in services.ts: knowledge does not import chat). */
export type SendChatMessage = (
  scope: RequestScope,
  input: { conversationId: string; content: string; clientMessageId: string },
) => Promise<Message>;

/** An unrated conversation counts as ended well only once the customer has had this long to rate it. */
const RATING_GRACE_MS = 60 * 60 * 1000;
/** Answers settled per sweep run. */
const SETTLE_BATCH = 500;
const SWEEP_EVERY_MS = 60_000;

/**
 * The knowledge base learning from service:
 * - `sendFaq`: an agent answers their conversation with an FAQ's answer (sent as their chat message) and the
 *   pairing of the customer's question (the conversation's first message) with the FAQ is kept;
 * - the sweep: once such a conversation has ENDED WELL — the customer rated it 4 or 5, or did not rate it
 *   within an hour of its end and it was ended by the customer or the agent (not idle, not by a supervisor) —
 *   the question becomes a suggested phrasing of the FAQ; any other ending drops it;
 * - `unansweredQuestions`: the log of questions that found nothing or whose auto-answer did not help, grouped.
 */
export class FaqLearningService {
  constructor(
    private readonly faqs: FaqService,
    private readonly send: SendChatMessage,
    private readonly businessTz: string,
    private readonly logger: Logger,
    private readonly fork: () => EntityManager,
  ) {}

  start(scheduler: Scheduler): void {
    scheduler.every('knowledge-learning-sweep', SWEEP_EVERY_MS, () => this.settleAnswers());
  }

  /** Agents: sends a published FAQ's answer into their conversation (same rules and idempotency as sendMessage). */
  async sendFaq(scope: RequestScope, conversationId: string, faqId: string, clientMessageId: string): Promise<Message> {
    const viewer = withRole(scope.viewer, Role.AGENT);
    const faq = isUuid(faqId) ? await scope.em.findOne(Faq, { id: faqId }) : null;
    if (!faq || !canReadFaq(viewer, faq) || faq.status !== 'PUBLISHED') throw new NotFound('FAQ', faqId);
    const message = await this.send(scope, { conversationId, content: faq.answer, clientMessageId });
    await this.answeredWithFaq(scope, message.conversationId, faq.id);
    return message;
  }

  /**
   * Keeps the pairing of the conversation's question with a published FAQ the viewer (its agent, who has just
   * answered with it: `sendFaq`, or a quick reply linked to the FAQ) used; once per conversation and FAQ.
   */
  async answeredWithFaq(scope: RequestScope, conversationId: string, faqId: string): Promise<void> {
    const viewer = withRole(scope.viewer, ...STAFF);
    // The question it answers: the customer's request, which opens every conversation (seq 1).
    await scope.em.execute(
      `INSERT INTO faq_answers_sent (id, conversation_id, faq_id, agent_id, question)
       SELECT ?, m.conversation_id, f.id, ?, m.content
         FROM messages m JOIN faqs f ON f.id = ? AND f.status = 'PUBLISHED'
        WHERE m.conversation_id = ? AND m.seq = 1
       ON CONFLICT (conversation_id, faq_id) DO NOTHING`,
      [randomUUID(), viewer.id, faqId, conversationId],
    );
  }

  /** One sweep run: FAQ answers of ended conversations become suggestions (ended well) or are dropped. Returns how many were settled. */
  async settleAnswers(): Promise<number> {
    return inTransaction(this.fork(), async (em) => {
      const [{ locked }] = await em.execute<Array<{ locked: boolean }>>('SELECT pg_try_advisory_xact_lock(?) AS locked', [
        AdvisoryLock.KNOWLEDGE_LEARNING_SWEEP,
      ]);
      if (!locked) return 0;
      const rows = await em.execute<Array<{ id: string; faq_id: string; question: string; ended_well: boolean }>>(
        `SELECT s.id, s.faq_id, s.question,
                (c.rating >= 4 OR (c.rating IS NULL AND c.end_reason IN ('CUSTOMER', 'AGENT'))) AS ended_well
           FROM faq_answers_sent s JOIN conversations c ON c.id = s.conversation_id
          WHERE s.settled_at IS NULL AND c.status = 'ENDED' AND (c.rating IS NOT NULL OR c.ended_at < ?)
          ORDER BY s.sent_at LIMIT ${SETTLE_BATCH}`,
        [new Date(Date.now() - RATING_GRACE_MS)],
      );
      for (const row of rows)
        if (row.ended_well)
          await suggestPhrasing(
            em,
            this.faqs.analyzer,
            row.faq_id,
            this.faqs.maskPersonalData(row.question),
            FaqPhrasingSource.AGENT_ANSWER,
          );
      if (rows.length)
        await em.execute(`UPDATE faq_answers_sent SET settled_at = now() WHERE id = ANY(?::uuid[])`, [pgArray(rows.map((r) => r.id))]);
      if (rows.length) this.logger.debug({ settled: rows.length }, 'knowledge: settled FAQ answers of ended conversations');
      return rows.length;
    });
  }

  /** Managers and admins: questions asked from `from` to `to` (business dates, both included) that went unanswered, grouped. */
  async unansweredQuestions(scope: RequestScope, from: string, to: string): Promise<UnansweredCluster[]> {
    withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const problems = [];
    if (!isBusinessDate(from)) problems.push({ field: 'from', message: 'must be a real date YYYY-MM-DD' });
    if (!isBusinessDate(to)) problems.push({ field: 'to', message: 'must be a real date YYYY-MM-DD' });
    if (!problems.length && to < from) problems.push({ field: 'to', message: 'must not be before from' });
    if (!problems.length && from < addDays(to, -REPORT_MAX_DAYS))
      problems.push({ field: 'from', message: `must be at most ${REPORT_MAX_DAYS} days before to` });
    if (problems.length) throw new InvalidInput(problems);
    return this.faqs.unanswered.report(
      scope.em,
      startOfBusinessDate(from, this.businessTz),
      startOfBusinessDate(addDays(to, 1), this.businessTz),
    );
  }
}
