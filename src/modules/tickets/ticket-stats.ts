import type { EntityManager } from '@mikro-orm/postgresql';
import { PRIORITY_RANK, ServicePriority } from '../conversations/queue-policy';
import { TicketStatus } from './ticket.entity';
import type { SlaAttainment, TicketStats } from './ticket.inputs';

/**
 * ticketStats in two statements over the tickets created in [start, end) (one department or all): the
 * counts by status, priority and category in one GROUPING SETS pass, and every other figure in one
 * aggregate pass. Times are wall-clock seconds from creation; percentiles are continuous (percentile_cont).
 */
export async function ticketStats(
  em: EntityManager,
  q: { from: string; to: string; start: Date; end: Date; departmentId: string | null; categories: string[] },
): Promise<TicketStats> {
  const where = `created_at >= ? AND created_at < ?${q.departmentId ? ' AND department_id = ?' : ''}`;
  const params: unknown[] = q.departmentId ? [q.start, q.end, q.departmentId] : [q.start, q.end];
  const [groups, [agg]] = await Promise.all([
    em.execute<Array<{ status: string | null; priority: string | null; category: string | null; n: string }>>(
      `SELECT status::text AS status, priority::text AS priority, category, count(*) AS n
         FROM tickets WHERE ${where}
        GROUP BY GROUPING SETS ((status), (priority), (category))`,
      params,
    ),
    em.execute<Array<Record<string, string | number | null>>>(
      `SELECT count(*) AS total,
              count(first_response_at) AS fr_count,
              avg(extract(epoch FROM first_response_at - created_at)) AS fr_avg,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_p90,
              count(resolved_at) AS res_count,
              avg(extract(epoch FROM resolved_at - created_at)) AS res_avg,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)) AS res_p90,
              count(*) FILTER (WHERE first_response_at <= first_response_due_at) AS fr_met,
              count(*) FILTER (WHERE first_response_at > first_response_due_at
                                  OR (first_response_at IS NULL AND first_response_due_at < now())) AS fr_breached,
              count(*) FILTER (WHERE first_response_at IS NULL AND first_response_due_at >= now()) AS fr_pending,
              count(*) FILTER (WHERE resolved_at <= resolution_due_at) AS res_met,
              count(*) FILTER (WHERE resolved_at > resolution_due_at
                                  OR (resolved_at IS NULL AND status <> 'CLOSED' AND resolution_due_at < now())) AS res_breached,
              count(*) FILTER (WHERE resolved_at IS NULL AND status <> 'CLOSED' AND resolution_due_at >= now()) AS res_pending,
              avg(rating) AS rating_avg,
              count(rating) AS rated
         FROM tickets WHERE ${where}`,
      params,
    ),
  ]);

  const byStatus = new Map<string, number>();
  const byPriority = new Map<string, number>();
  const byCategory = new Map<string, number>();
  for (const g of groups) {
    if (g.status !== null) byStatus.set(g.status, Number(g.n));
    else if (g.priority !== null) byPriority.set(g.priority, Number(g.n));
    else if (g.category !== null) byCategory.set(g.category, Number(g.n));
  }
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
    byStatus: Object.values(TicketStatus).map((status) => ({ status, count: byStatus.get(status) ?? 0 })),
    byPriority: (Object.keys(PRIORITY_RANK) as ServicePriority[]).map((priority) => ({ priority, count: byPriority.get(priority) ?? 0 })),
    byCategory: categories.map((category) => ({ category, count: byCategory.get(category) ?? 0 })),
    firstResponseTime: { count: int(agg.fr_count), averageSeconds: num(agg.fr_avg), p90Seconds: num(agg.fr_p90) },
    resolutionTime: { count: int(agg.res_count), averageSeconds: num(agg.res_avg), p90Seconds: num(agg.res_p90) },
    firstResponseSla: attainment(int(agg.fr_met), int(agg.fr_breached), int(agg.fr_pending)),
    resolutionSla: attainment(int(agg.res_met), int(agg.res_breached), int(agg.res_pending)),
    averageSatisfaction: num(agg.rating_avg),
    ratedCount: int(agg.rated),
  };
}
