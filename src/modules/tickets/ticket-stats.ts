import type { EntityManager } from '@mikro-orm/postgresql';
import { transactionally } from '../../platform/db/transaction';
import { PRIORITY_RANK, ServicePriority } from '../conversations/queue-policy';
import { TicketStatus } from './ticket.entity';
import type { SlaAttainment, TicketStats } from './ticket.inputs';

/**
 * ticketStats in three statements, run side by side, over the tickets created in [start, end) (one
 * department or all): the counts by category; every count and average in one aggregate pass (the fixed sets
 * of statuses and priorities as FILTER counts); the two percentiles. Times are wall-clock seconds from creation; percentiles are continuous
 * (percentile_cont). Resolved and closed tickets always have resolved_at, so "no resolved_at" means open.
 */
export async function ticketStats(
  em: EntityManager,
  q: { from: string; to: string; start: Date; end: Date; departmentId: string | null; categories: string[] },
): Promise<TicketStats> {
  const where = `created_at >= ? AND created_at < ?${q.departmentId ? ' AND department_id = ?' : ''}`;
  const params: unknown[] = q.departmentId ? [q.start, q.end, q.departmentId] : [q.start, q.end];
  const statuses = Object.values(TicketStatus);
  const priorities = Object.keys(PRIORITY_RANK) as ServicePriority[];
  // Three statements side by side, each on its own connection: the percentiles (ordered-set aggregates,
  // which PostgreSQL runs single-threaded) apart from the counts (which it may scan in parallel).
  const [groups, [agg], [pct]] = await Promise.all([
    em.execute<Array<{ category: string; n: string }>>(
      `SELECT category, count(*) AS n FROM tickets WHERE ${where} GROUP BY category`,
      params,
    ),
    em.execute<Array<Record<string, string | number | null>>>(
      `SELECT count(*) AS total,
              ${statuses.map((s, i) => `count(*) FILTER (WHERE status = '${s}') AS s${i}`).join(', ')},
              ${priorities.map((p, i) => `count(*) FILTER (WHERE priority = '${p}') AS p${i}`).join(', ')},
              count(first_response_at) AS fr_count, avg(date_part('epoch', first_response_at - created_at)) AS fr_avg,
              count(resolved_at) AS res_count, avg(date_part('epoch', resolved_at - created_at)) AS res_avg,
              count(*) FILTER (WHERE first_response_at <= first_response_due_at) AS fr_met,
              count(*) FILTER (WHERE first_response_at > first_response_due_at
                                  OR (first_response_at IS NULL AND first_response_due_at < now())) AS fr_breached,
              count(*) FILTER (WHERE first_response_at IS NULL AND first_response_due_at >= now()) AS fr_pending,
              count(*) FILTER (WHERE resolved_at <= resolution_due_at) AS res_met,
              count(*) FILTER (WHERE resolved_at > resolution_due_at
                                  OR (resolved_at IS NULL AND resolution_due_at < now())) AS res_breached,
              count(*) FILTER (WHERE resolved_at IS NULL AND resolution_due_at >= now()) AS res_pending,
              avg(rating::float8) AS rating_avg,
              count(rating) AS rated
         FROM tickets WHERE ${where}`,
      params,
    ),
    // Durations as float8 seconds (date_part), not numeric (extract), which sorts far faster; work_mem is
    // raised for this transaction only, so the sorts stay in memory.
    transactionally(em, async (tx) => {
      await tx.execute(`SET LOCAL work_mem = '64MB'`);
      return tx.execute<Array<{ fr_p90: number | null; res_p90: number | null }>>(
        `SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', first_response_at - created_at)) AS fr_p90,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', resolved_at - created_at)) AS res_p90
           FROM tickets WHERE ${where} AND (first_response_at IS NOT NULL OR resolved_at IS NOT NULL)`,
        params,
      );
    }),
  ]);

  const byCategory = new Map(groups.map((g) => [g.category, Number(g.n)]));
  const categories = [...q.categories, ...[...byCategory.keys()].filter((c) => !q.categories.includes(c)).sort()];
  const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
  const int = (v: string | number | null | undefined) => Number(v ?? 0);
  const attainment = (met: number, breached: number, pending: number): SlaAttainment => ({
    met,
    breached,
    pending,
    rate: met + breached > 0 ? met / (met + breached) : null,
  });
  return {
    from: q.from,
    to: q.to,
    departmentId: q.departmentId,
    total: int(agg.total),
    byStatus: statuses.map((status, i) => ({ status, count: int(agg[`s${i}`]) })),
    byPriority: priorities.map((priority, i) => ({ priority, count: int(agg[`p${i}`]) })),
    byCategory: categories.map((category) => ({ category, count: byCategory.get(category) ?? 0 })),
    firstResponseTime: { count: int(agg.fr_count), averageSeconds: num(agg.fr_avg), p90Seconds: num(pct.fr_p90) },
    resolutionTime: { count: int(agg.res_count), averageSeconds: num(agg.res_avg), p90Seconds: num(pct.res_p90) },
    firstResponseSla: attainment(int(agg.fr_met), int(agg.fr_breached), int(agg.fr_pending)),
    resolutionSla: attainment(int(agg.res_met), int(agg.res_breached), int(agg.res_pending)),
    averageSatisfaction: num(agg.rating_avg),
    ratedCount: int(agg.rated),
  };
}
