-- VARIANT seqscan count only
SELECT count(*) FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day';;
-- VARIANT aggregate (current)
SELECT count(*) AS total, count(first_response_at) AS fr_count, avg(extract(epoch FROM first_response_at - created_at)) AS fr_avg,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_p90,
  count(resolved_at) AS res_count, avg(extract(epoch FROM resolved_at - created_at)) AS res_avg,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)) AS res_p90,
  count(*) FILTER (WHERE first_response_at <= first_response_due_at) AS fr_met,
  count(*) FILTER (WHERE first_response_at > first_response_due_at OR (first_response_at IS NULL AND first_response_due_at < now())) AS fr_breached,
  count(*) FILTER (WHERE first_response_at IS NULL AND first_response_due_at >= now()) AS fr_pending,
  count(*) FILTER (WHERE resolved_at <= resolution_due_at) AS res_met,
  count(*) FILTER (WHERE resolved_at > resolution_due_at OR (resolved_at IS NULL AND status <> 'CLOSED' AND resolution_due_at < now())) AS res_breached,
  count(*) FILTER (WHERE resolved_at IS NULL AND status <> 'CLOSED' AND resolution_due_at >= now()) AS res_pending,
  avg(rating) AS rating_avg, count(rating) AS rated
FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day';;
-- VARIANT aggregate without percentiles
SELECT count(*) AS total, count(first_response_at) AS fr_count, avg(extract(epoch FROM first_response_at - created_at)) AS fr_avg,
  count(resolved_at) AS res_count, avg(extract(epoch FROM resolved_at - created_at)) AS res_avg,
  count(*) FILTER (WHERE first_response_at <= first_response_due_at) AS fr_met,
  avg(rating) AS rating_avg, count(rating) AS rated
FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day';;
-- VARIANT grouping sets
SELECT status::text AS status, priority::text AS priority, category, count(*) AS n FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day' GROUP BY GROUPING SETS ((status), (priority), (category));;
-- VARIANT covering index, aggregate (current)
!CREATE INDEX tickets_stats_idx ON tickets (created_at) INCLUDE (department_id, status, priority, category, first_response_at, first_response_due_at, resolved_at, resolution_due_at, rating);;
!VACUUM ANALYZE tickets;;
SELECT count(*) AS total, count(first_response_at) AS fr_count, avg(extract(epoch FROM first_response_at - created_at)) AS fr_avg,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_p90,
  count(resolved_at) AS res_count, avg(extract(epoch FROM resolved_at - created_at)) AS res_avg,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)) AS res_p90,
  count(*) FILTER (WHERE first_response_at <= first_response_due_at) AS fr_met,
  count(*) FILTER (WHERE first_response_at > first_response_due_at OR (first_response_at IS NULL AND first_response_due_at < now())) AS fr_breached,
  count(*) FILTER (WHERE first_response_at IS NULL AND first_response_due_at >= now()) AS fr_pending,
  count(*) FILTER (WHERE resolved_at <= resolution_due_at) AS res_met,
  count(*) FILTER (WHERE resolved_at > resolution_due_at OR (resolved_at IS NULL AND status <> 'CLOSED' AND resolution_due_at < now())) AS res_breached,
  count(*) FILTER (WHERE resolved_at IS NULL AND status <> 'CLOSED' AND resolution_due_at >= now()) AS res_pending,
  avg(rating) AS rating_avg, count(rating) AS rated
FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day';;
-- VARIANT covering index, grouping sets
SELECT status::text AS status, priority::text AS priority, category, count(*) AS n FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day' GROUP BY GROUPING SETS ((status), (priority), (category));;
-- VARIANT covering, count only
SELECT count(*) FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day';;
-- VARIANT covering, dept aggregate
SELECT count(*) AS total, count(first_response_at) AS fr_count, avg(extract(epoch FROM first_response_at - created_at)) AS fr_avg,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_p90,
  count(resolved_at) AS res_count, avg(extract(epoch FROM resolved_at - created_at)) AS res_avg,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)) AS res_p90,
  avg(rating) AS rating_avg, count(rating) AS rated
FROM tickets WHERE created_at >= now() - interval '91 days' AND created_at < now() + interval '1 day' AND department_id = $DEPT;;
