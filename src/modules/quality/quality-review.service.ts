import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { addDays, isBusinessDate, startOfBusinessDate } from '../../platform/clock';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, FieldProblem, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { Page, paginate } from '../../platform/pagination';
import type { Scheduler } from '../../platform/scheduler';
import { Conversation } from '../conversations/conversation.entity';
import { ChecklistScore, QualityReview, QualityReviewStatus } from './quality.entities';
import type { ChecklistItem, QualitySettings } from './quality.settings';
import { QualityRequest, isUuid } from './staff-scope';

/** The audit log's write (audit/audit.service.ts), declared here so this module imports nothing that imports context.ts. */
export interface AuditWriter {
  record(
    em: EntityManager,
    actor: { viewer: QualityRequest['viewer']; traceId: string },
    entry: { action: string; targetType: string; targetId: string; summary: string; comment?: string | null },
  ): unknown;
}

/** How often a process checks whether last week's sample is taken (idempotent: only the first check of a week samples). */
const SAMPLE_CHECK_MS = 15 * 60_000;
const MAX_COMMENT = 2000;

/** Supervisors' reviews of conversations by the checklist, and the weekly sample queued for them. */
export class QualityReviewService {
  constructor(
    private readonly settings: QualitySettings,
    private readonly audit: AuditWriter,
    private readonly businessTz: string,
    private readonly logger: Logger,
    private readonly fork: () => EntityManager,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(scheduler: Scheduler): void {
    scheduler.every('quality-weekly-sample', SAMPLE_CHECK_MS, () => this.sampleWeek(this.lastWeek()));
  }

  checklist(): ChecklistItem[] {
    return this.settings.checklist;
  }

  /** Reviews newest first. Admins: any; managers: their department (the default); agents: FORBIDDEN. */
  list(
    scope: QualityRequest,
    filter: { departmentId?: string | null; agentId?: string | null; status?: QualityReviewStatus | null },
    first: number,
    after?: string | null,
  ): Promise<Page<QualityReview>> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const where: Record<string, unknown> = {};
    if (viewer.role === Role.MANAGER) {
      if (filter.departmentId && filter.departmentId !== viewer.departmentId) throw new Forbidden('Managers see their own department only');
      where.departmentId = viewer.departmentId;
    } else if (filter.departmentId) {
      if (!isUuid(filter.departmentId)) throw new InvalidInput('filter.departmentId', 'is not an id');
      where.departmentId = filter.departmentId;
    }
    if (filter.agentId) {
      if (!isUuid(filter.agentId)) throw new InvalidInput('filter.agentId', 'is not an id');
      where.agentId = filter.agentId;
    }
    if (filter.status) where.status = filter.status;
    return paginate(scope.em, QualityReview, where, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /**
   * Scores a conversation by every checklist item (each once, 0 to its maximum) with an optional comment:
   * supervisors of its department and admins. Completes the review the weekly sample queued, or makes one; a
   * conversation is reviewed once (a second review is CONFLICT). Audited in the same transaction.
   */
  async review(
    scope: QualityRequest,
    input: { conversationId: string; scores: Array<{ item: string; score: number }>; comment?: string | null },
  ): Promise<QualityReview> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const scores = this.checkScores(input.scores);
    const comment = input.comment?.trim() || null;
    if (comment && comment.length > MAX_COMMENT) throw new InvalidInput('comment', `must be at most ${MAX_COMMENT} characters`);
    const c = isUuid(input.conversationId) ? await scope.em.findOne(Conversation, { id: input.conversationId }) : null;
    if (!c) throw new NotFound('Conversation', input.conversationId);
    if (viewer.role === Role.MANAGER && (!c.departmentId || c.departmentId !== viewer.departmentId))
      throw new Forbidden('Managers review their own department’s conversations only');
    if (!c.agentId) throw new Conflict(ConflictReason.NOT_SERVED, 'Nobody has handled this conversation yet; there is nothing to review');
    const agentId = c.agentId;
    const total = scores.reduce((n, s) => n + s.score, 0);
    const max = scores.reduce((n, s) => n + s.maxScore, 0);
    return inTransaction(scope.em, async (em) => {
      // One statement: completes a PENDING sample row, or inserts; a DONE review is left alone (no row back).
      const [row] = await em.execute<Array<{ id: string }>>(
        `INSERT INTO quality_reviews (id, conversation_id, agent_id, department_id, status, reviewer_id, scores, total_score, max_score, comment, created_at, reviewed_at)
         VALUES (gen_random_uuid(), ?, ?, ?, 'DONE', ?, ?::jsonb, ?, ?, ?, now(), now())
         ON CONFLICT (conversation_id) DO UPDATE
           SET status = 'DONE', reviewer_id = EXCLUDED.reviewer_id, scores = EXCLUDED.scores, total_score = EXCLUDED.total_score,
               max_score = EXCLUDED.max_score, comment = EXCLUDED.comment, reviewed_at = EXCLUDED.reviewed_at
           WHERE quality_reviews.status = 'PENDING'
         RETURNING id`,
        [c.id, agentId, c.departmentId, viewer.id, JSON.stringify(scores), total, max, comment],
      );
      if (!row) throw new Conflict(ConflictReason.ALREADY_REVIEWED, 'This conversation has already been reviewed');
      this.audit.record(em, scope, {
        action: 'quality.review',
        targetType: 'Conversation',
        targetId: c.id,
        summary: `Reviewed: ${total} of ${max} (${scores.map((s) => `${s.item} ${s.score}/${s.maxScore}`).join(', ')})`,
        comment,
      });
      await em.flush();
      return em.findOneOrFail(QualityReview, { id: row.id }, { refresh: true });
    });
  }

  /**
   * Queues a sample of each agent's conversations that ended in the week starting on Monday `week` (business
   * dates): `sampling.perAgentPerWeek` each, chosen by a hash of the id and the week (the same choice on
   * every run). Once per week across the cluster (the advisory lock, then quality_sample_weeks); returns how
   * many reviews it queued, 0 when the week was already sampled.
   */
  async sampleWeek(week: string): Promise<number> {
    if (!isBusinessDate(week) || DateTime.fromISO(week).weekday !== 1) throw new Error(`not a Monday: ${week}`);
    const from = startOfBusinessDate(week, this.businessTz);
    const to = startOfBusinessDate(addDays(week, 7), this.businessTz);
    return inTransaction(this.fork(), async (em) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.QUALITY_SAMPLE]);
      const [done] = await em.execute('SELECT 1 FROM quality_sample_weeks WHERE week = ?', [week]);
      if (done) return 0;
      const queued = await em.execute<Array<{ id: string }>>(
        `WITH ranked AS (
           SELECT c.id, c.agent_id, c.department_id,
                  row_number() OVER (PARTITION BY c.agent_id ORDER BY md5(c.id::text || ?)) AS n
             FROM conversations c JOIN users u ON u.id = c.agent_id AND u.role = 'AGENT'
            WHERE c.status = 'ENDED' AND c.ended_at >= ? AND c.ended_at < ?
         )
         INSERT INTO quality_reviews (id, conversation_id, agent_id, department_id, status, sampled_week, created_at)
         SELECT gen_random_uuid(), id, agent_id, department_id, 'PENDING', ?, now() FROM ranked WHERE n <= ?
         ON CONFLICT (conversation_id) DO NOTHING
         RETURNING id`,
        [week, from, to, week, this.settings.sampling.perAgentPerWeek],
      );
      await em.execute('INSERT INTO quality_sample_weeks (week, sampled) VALUES (?, ?)', [week, queued.length]);
      if (queued.length) this.logger.info({ week, queued: queued.length }, 'conversations queued for quality review');
      return queued.length;
    });
  }

  /** Monday of the week before the current one (business time zone). */
  lastWeek(): string {
    return DateTime.fromJSDate(this.now(), { zone: this.businessTz }).startOf('week').minus({ weeks: 1 }).toISODate()!;
  }

  /** Every checklist item once, within its range; the scores carry each item's maximum of today. */
  private checkScores(input: Array<{ item: string; score: number }>): ChecklistScore[] {
    const problems: FieldProblem[] = [];
    const byKey = new Map(this.settings.checklist.map((i) => [i.key, i]));
    const seen = new Set<string>();
    input.forEach((s, i) => {
      const item = byKey.get(s.item);
      if (!item) problems.push({ field: `scores[${i}].item`, message: `is not a checklist item (${[...byKey.keys()].join(', ')})` });
      else if (seen.has(s.item)) problems.push({ field: `scores[${i}].item`, message: 'is scored twice' });
      else if (!Number.isInteger(s.score) || s.score < 0 || s.score > item.maxScore)
        problems.push({ field: `scores[${i}].score`, message: `must be a whole number from 0 to ${item.maxScore}` });
      seen.add(s.item);
    });
    const missing = this.settings.checklist.filter((i) => !seen.has(i.key)).map((i) => i.key);
    if (missing.length) problems.push({ field: 'scores', message: `must score every checklist item; missing: ${missing.join(', ')}` });
    if (problems.length) throw new InvalidInput(problems);
    return this.settings.checklist.map((i) => ({ item: i.key, score: input.find((s) => s.item === i.key)!.score, maxScore: i.maxScore }));
  }
}
