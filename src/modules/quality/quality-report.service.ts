import type { EntityManager } from '@mikro-orm/postgresql';
import { stringify } from 'csv-stringify/sync';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { addDays, isBusinessDate, startOfBusinessDate } from '../../platform/clock';
import { pgArray } from '../../platform/db/arrays';
import { InvalidInput } from '../../platform/errors';
import type { ChecklistScore } from './quality.entities';
import type { QualitySettings } from './quality.settings';
import type { AgentQualityRow, QualityFigures, QualityReport } from './quality.types';
import { QualityRequest, staffScope } from './staff-scope';

export const MAX_REPORT_DAYS = 92;

/** Sums behind one agent's figures, so department averages weigh every conversation, rating and review alike. */
interface Tally {
  conversations: number;
  firstResponses: number;
  firstResponseSum: number;
  handleSum: number;
  resolved: number;
  ratings: number;
  ratingSum: number;
  violations: Map<string, number>;
  reviews: number;
  reviewPercentSum: number;
  items: Map<string, { sum: number; n: number }>;
}

const emptyTally = (): Tally => ({
  conversations: 0,
  firstResponses: 0,
  firstResponseSum: 0,
  handleSum: 0,
  resolved: 0,
  ratings: 0,
  ratingSum: 0,
  violations: new Map(),
  reviews: 0,
  reviewPercentSum: 0,
  items: new Map(),
});

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const mean = (sum: number, n: number, digits = 1) => (n ? round(sum / n, digits) : null);

/**
 * qualityReport: per agent, over conversations that ended in the period (business dates, both included):
 * first response (assignment → the agent's first message), handle time (assignment → end), resolution (ended by
 * the customer or the agent, not idle, abandoned or by a supervisor), satisfaction (ratings), rule violations
 * by rule, and review scores by checklist item; beside them the department's averages over all its agents.
 */
export class QualityReportService {
  constructor(
    private readonly settings: QualitySettings,
    private readonly businessTz: string,
  ) {}

  async report(
    scope: QualityRequest,
    args: { agentId?: string | null; departmentId?: string | null; from: string; to: string },
  ): Promise<QualityReport> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER, Role.AGENT);
    checkPeriod(args.from, args.to);
    const asked = await staffScope(scope.em, viewer, args, { agentsSeeOwn: false });
    // The averages cover the whole department even when one agent is asked for.
    const everyone =
      args.agentId && asked.departmentId
        ? await staffScope(scope.em, viewer, { departmentId: asked.departmentId }, { agentsSeeOwn: false })
        : asked;
    const from = startOfBusinessDate(args.from, this.businessTz);
    const to = startOfBusinessDate(addDays(args.to, 1), this.businessTz);
    const tallies = await this.tally(scope.em, everyone.agentIds, from, to);
    const department = emptyTally();
    for (const t of tallies.values()) merge(department, t);
    // Means weigh every conversation, rating and review alike; counts become counts per agent.
    const averages = this.figures(department);
    const perAgent = (n: number) => round(n / Math.max(1, everyone.agentIds.length), 2);
    averages.conversations = perAgent(averages.conversations);
    averages.ratings = perAgent(averages.ratings);
    averages.reviews = perAgent(averages.reviews);
    averages.violations = perAgent(averages.violations);
    averages.violationsByRule = averages.violationsByRule.map((v) => ({ ...v, count: perAgent(v.count) }));
    return {
      from: args.from,
      to: args.to,
      departmentId: asked.departmentId,
      agents: asked.agentIds.map((agentId): AgentQualityRow => ({ agentId, ...this.figures(tallies.get(agentId) ?? emptyTally()) })),
      departmentAverage: averages,
    };
  }

  /** The same report as CSV (UTF-8, header row, one row per agent, then the department's averages). */
  async csv(
    scope: QualityRequest,
    args: { agentId?: string | null; departmentId?: string | null; from: string; to: string },
  ): Promise<string> {
    const report = await this.report(scope, args);
    const names = new Map(
      (
        await scope.em.execute<Array<{ id: string; display_name: string; employee_code: string | null }>>(
          'SELECT id, display_name, employee_code FROM users WHERE id = ANY(?::uuid[])',
          [pgArray(report.agents.map((a) => a.agentId))],
        )
      ).map((u) => [u.id, u]),
    );
    const rules = this.settings.rules.map((r) => r.code);
    const items = this.settings.checklist.map((i) => i.key);
    const header = [
      'agent_id',
      'employee_code',
      'agent',
      'conversations',
      'first_response_seconds',
      'handle_seconds',
      'resolution_rate',
      'satisfaction',
      'ratings',
      'violations',
      ...rules.map((r) => `violations_${r}`),
      'reviews',
      'review_score_percent',
      ...items.map((i) => `review_${i}`),
    ];
    const line = (id: string, code: string, name: string, f: QualityFigures) => [
      id,
      code,
      name,
      f.conversations,
      f.firstResponseSeconds,
      f.handleSeconds,
      f.resolutionRate,
      f.satisfaction,
      f.ratings,
      f.violations,
      ...rules.map((r) => f.violationsByRule.find((v) => v.rule === r)?.count ?? 0),
      f.reviews,
      f.reviewScorePercent,
      ...items.map((i) => f.reviewScoresByItem.find((s) => s.item === i)?.average ?? null),
    ];
    const rows = report.agents.map((a) =>
      line(a.agentId, names.get(a.agentId)?.employee_code ?? '', names.get(a.agentId)?.display_name ?? '', a),
    );
    rows.push(line('', '', 'DEPARTMENT_AVERAGE', report.departmentAverage));
    return stringify([header, ...rows]);
  }

  private async tally(em: EntityManager, agentIds: string[], from: Date, to: Date): Promise<Map<string, Tally>> {
    const out = new Map<string, Tally>();
    if (!agentIds.length) return out;
    const ids = pgArray(agentIds);
    const of = (id: string) => out.get(id) ?? out.set(id, emptyTally()).get(id)!;
    const [conversations, violations, reviews] = await Promise.all([
      em.execute<
        Array<{
          agent_id: string;
          n: string;
          first_n: string;
          first_sum: number | null;
          handle_sum: number | null;
          resolved: string;
          ratings: string;
          rating_sum: string | null;
        }>
      >(
        `SELECT c.agent_id, count(*) AS n,
                count(fr.first_at) AS first_n,
                sum(extract(epoch FROM fr.first_at - c.assigned_at))::float8 AS first_sum,
                sum(extract(epoch FROM c.ended_at - c.assigned_at))::float8 AS handle_sum,
                count(*) FILTER (WHERE c.end_reason IN ('CUSTOMER', 'AGENT')) AS resolved,
                count(c.rating) AS ratings, sum(c.rating) AS rating_sum
           FROM conversations c
           LEFT JOIN LATERAL (
             SELECT min(m.created_at) AS first_at FROM messages m WHERE m.conversation_id = c.id AND m.sender_id = c.agent_id
           ) fr ON true
          WHERE c.agent_id = ANY(?::uuid[]) AND c.status = 'ENDED' AND c.assigned_at IS NOT NULL AND c.ended_at >= ? AND c.ended_at < ?
          GROUP BY c.agent_id`,
        [ids, from, to],
      ),
      em.execute<Array<{ agent_id: string; rule: string; n: string }>>(
        `SELECT agent_id, rule, count(*) AS n FROM quality_violations
          WHERE agent_id = ANY(?::uuid[]) AND created_at >= ? AND created_at < ? GROUP BY agent_id, rule`,
        [ids, from, to],
      ),
      em.execute<Array<{ agent_id: string; scores: ChecklistScore[]; total_score: number; max_score: number }>>(
        `SELECT agent_id, scores, total_score, max_score FROM quality_reviews
          WHERE agent_id = ANY(?::uuid[]) AND status = 'DONE' AND reviewed_at >= ? AND reviewed_at < ?`,
        [ids, from, to],
      ),
    ]);
    for (const r of conversations) {
      const t = of(r.agent_id);
      t.conversations = Number(r.n);
      t.firstResponses = Number(r.first_n);
      t.firstResponseSum = Number(r.first_sum ?? 0);
      t.handleSum = Number(r.handle_sum ?? 0);
      t.resolved = Number(r.resolved);
      t.ratings = Number(r.ratings);
      t.ratingSum = Number(r.rating_sum ?? 0);
    }
    for (const v of violations) of(v.agent_id).violations.set(v.rule, Number(v.n));
    for (const r of reviews) {
      const t = of(r.agent_id);
      t.reviews += 1;
      t.reviewPercentSum += r.max_score > 0 ? (100 * r.total_score) / r.max_score : 0;
      for (const s of typeof r.scores === 'string' ? (JSON.parse(r.scores) as ChecklistScore[]) : r.scores) {
        const item = t.items.get(s.item) ?? { sum: 0, n: 0 };
        item.sum += s.score;
        item.n += 1;
        t.items.set(s.item, item);
      }
    }
    return out;
  }

  private figures(t: Tally): QualityFigures {
    const label = (code: string) => this.settings.rules.find((r) => r.code === code)?.label ?? code;
    return {
      conversations: t.conversations,
      firstResponseSeconds: mean(t.firstResponseSum, t.firstResponses),
      handleSeconds: mean(t.handleSum, t.conversations),
      resolutionRate: mean(t.resolved, t.conversations, 3),
      satisfaction: mean(t.ratingSum, t.ratings, 2),
      ratings: t.ratings,
      violations: sumOf(t.violations),
      violationsByRule: [...t.violations]
        .map(([rule, count]) => ({ rule, label: label(rule), count }))
        .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule)),
      reviews: t.reviews,
      reviewScorePercent: mean(t.reviewPercentSum, t.reviews),
      reviewScoresByItem: this.settings.checklist
        .filter((i) => t.items.has(i.key))
        .map((i) => ({
          item: i.key,
          label: i.label,
          maxScore: i.maxScore,
          average: round(t.items.get(i.key)!.sum / t.items.get(i.key)!.n, 2),
        })),
    };
  }
}

function checkPeriod(from: string, to: string): void {
  if (!isBusinessDate(from)) throw new InvalidInput('from', 'must be a real date YYYY-MM-DD');
  if (!isBusinessDate(to)) throw new InvalidInput('to', 'must be a real date YYYY-MM-DD');
  if (to < from) throw new InvalidInput('to', 'must not be before from');
  if (to > addDays(from, MAX_REPORT_DAYS - 1)) throw new InvalidInput('to', `must be at most ${MAX_REPORT_DAYS} days after from`);
}

function sumOf(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

function merge(into: Tally, t: Tally): void {
  into.conversations += t.conversations;
  into.firstResponses += t.firstResponses;
  into.firstResponseSum += t.firstResponseSum;
  into.handleSum += t.handleSum;
  into.resolved += t.resolved;
  into.ratings += t.ratings;
  into.ratingSum += t.ratingSum;
  for (const [rule, n] of t.violations) into.violations.set(rule, (into.violations.get(rule) ?? 0) + n);
  into.reviews += t.reviews;
  into.reviewPercentSum += t.reviewPercentSum;
  for (const [key, v] of t.items) {
    const item = into.items.get(key) ?? { sum: 0, n: 0 };
    item.sum += v.sum;
    item.n += v.n;
    into.items.set(key, item);
  }
}
