import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The dashboard's SQL. Each figure reads one time window through an index made for it (see the operations
 * migration), so its cost follows the window (minutes of live traffic, a day or a week), not the history.
 * `dept` is null for every department.
 */

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const int = (v: unknown): number => Number(v ?? 0);

/** `AND <alias>department_id = ?` and its parameter, or nothing for all departments. */
function inDepartment(dept: string | null, alias = ''): { sql: string; params: unknown[] } {
  return dept ? { sql: ` AND ${alias}department_id = ?`, params: [dept] } : { sql: '', params: [] };
}

export interface StaffRow {
  id: string;
  maxChats: number;
  onShift: boolean;
  /** Start of the shift the agent is on now. */
  shiftStartedAt: Date | null;
  /** When the agent went offline, as the conversation lifecycle recorded it (agents holding chats). */
  offlineSince: Date | null;
}

/** Active agents of the scope, whether each is on a NORMAL schedule now (and not on approved leave). */
export async function agentsOfScope(em: EntityManager, dept: string | null): Promise<StaffRow[]> {
  const d = inDepartment(dept, 'u.');
  const rows = await em.execute<Array<{ id: string; max_chats: number; shift_start: Date | null; offline_since: Date | null }>>(
    `SELECT u.id, u.max_concurrent_chats AS max_chats, a.offline_since,
            (SELECT lower(s.period) FROM schedules s WHERE s.agent_id = u.id AND s.status = 'NORMAL' AND s.period @> now() LIMIT 1) AS shift_start
       FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id
      WHERE u.role = 'AGENT' AND u.active${d.sql}
        AND NOT EXISTS (SELECT 1 FROM leave_requests l WHERE l.requester_id = u.id AND l.status = 'APPROVED' AND l.period @> now())`,
    d.params,
  );
  return rows.map((r) => ({
    id: r.id,
    maxChats: r.max_chats,
    onShift: r.shift_start !== null,
    shiftStartedAt: r.shift_start ? new Date(r.shift_start) : null,
    offlineSince: r.offline_since ? new Date(r.offline_since) : null,
  }));
}

export interface LiveFigures {
  queueLength: number;
  oldestQueuedAt: Date | null;
  openChats: number;
  messagesLast5Min: number;
  avgFirstResponseSeconds: number | null;
  p90FirstResponseSeconds: number | null;
  satisfaction: number | null;
  ratings24h: number;
  ticketsAtRisk: number;
  ticketsBreached: number;
  slaBreachesLastHour: number;
}

const OPEN_TICKET = `status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'REOPENED')`;

/** Every live figure that PostgreSQL holds, in one statement (one round trip, one snapshot). */
export async function liveFigures(em: EntityManager, dept: string | null): Promise<LiveFigures> {
  const c = inDepartment(dept, 'c.');
  const t = inDepartment(dept);
  const [r] = await em.execute<Array<Record<string, unknown>>>(
    `SELECT q.n AS queue_length, q.oldest, o.n AS open_chats, m.n AS messages,
            fr.avg AS fr_avg, fr.p90 AS fr_p90, sat.avg AS sat_avg, sat.n AS sat_n,
            tk.at_risk, tk.breached, br.n AS breaches
       FROM (SELECT count(*) AS n, min(c.queued_at) AS oldest FROM conversations c WHERE c.status = 'QUEUED'${c.sql}) q,
            (SELECT count(*) AS n FROM conversations c WHERE c.status = 'ACTIVE'${c.sql}) o,
            (SELECT count(*) AS n FROM messages x JOIN conversations c ON c.id = x.conversation_id
              WHERE x.created_at > now() - interval '5 minutes' AND x.kind = 'TEXT'${c.sql}) m,
            (SELECT avg(s) AS avg, percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90
               FROM (SELECT date_part('epoch', c.first_agent_reply_at - c.created_at) AS s FROM conversations c
                      WHERE c.first_agent_reply_at > now() - interval '15 minutes'${c.sql}) f) fr,
            (SELECT avg(c.rating::float8) AS avg, count(*) AS n FROM conversations c
              WHERE c.rating IS NOT NULL AND c.rated_at > now() - interval '24 hours'${c.sql}) sat,
            (SELECT count(*) FILTER (WHERE NOT breached AND warned) AS at_risk, count(*) FILTER (WHERE breached) AS breached
               FROM (SELECT (first_response_at IS NULL AND first_response_due_at <= now()) OR resolution_due_at <= now() AS breached,
                            (first_response_at IS NULL AND first_response_warn_at <= now()) OR resolution_warn_at <= now() AS warned
                       FROM tickets WHERE ${OPEN_TICKET}${t.sql}) x) tk,
            (SELECT (SELECT count(*) FROM tickets WHERE first_response_breach_notified_at > now() - interval '1 hour'${t.sql})
                  + (SELECT count(*) FROM tickets WHERE resolution_breach_notified_at > now() - interval '1 hour'${t.sql}) AS n) br`,
    [...c.params, ...c.params, ...c.params, ...c.params, ...c.params, ...t.params, ...t.params, ...t.params],
  );
  return {
    queueLength: int(r.queue_length),
    oldestQueuedAt: r.oldest ? new Date(r.oldest as string) : null,
    openChats: int(r.open_chats),
    messagesLast5Min: int(r.messages),
    avgFirstResponseSeconds: num(r.fr_avg),
    p90FirstResponseSeconds: num(r.fr_p90),
    satisfaction: num(r.sat_avg),
    ratings24h: int(r.sat_n),
    ticketsAtRisk: int(r.at_risk),
    ticketsBreached: int(r.breached),
    slaBreachesLastHour: int(r.breaches),
  };
}

export interface PeriodTotals {
  conversations: number;
  handled: number;
  abandoned: number;
  ticketsCreated: number;
  ticketsResolved: number;
  slaMet: number;
  slaBreached: number;
  avgFirstResponseSeconds: number | null;
  satisfaction: number | null;
}

/** The period's totals: each window read through its own index (created, ended, first reply, rated, resolved). */
export async function periodTotals(em: EntityManager, dept: string | null, from: Date, to: Date): Promise<PeriodTotals> {
  const c = inDepartment(dept, 'c.');
  const t = inDepartment(dept);
  const w = [from, to];
  const [r] = await em.execute<Array<Record<string, unknown>>>(
    `SELECT (SELECT count(*) FROM conversations c WHERE c.created_at >= ? AND c.created_at < ?${c.sql}) AS conversations,
            e.handled, e.abandoned,
            (SELECT avg(date_part('epoch', c.first_agent_reply_at - c.created_at)) FROM conversations c
              WHERE c.first_agent_reply_at >= ? AND c.first_agent_reply_at < ?${c.sql}) AS fr_avg,
            (SELECT avg(c.rating::float8) FROM conversations c WHERE c.rating IS NOT NULL AND c.rated_at >= ? AND c.rated_at < ?${c.sql}) AS sat,
            tc.created, tc.sla_met, tc.sla_breached,
            (SELECT count(*) FROM tickets WHERE resolved_at >= ? AND resolved_at < ?${t.sql}) AS resolved
       FROM (SELECT count(*) FILTER (WHERE c.assigned_at IS NOT NULL) AS handled, count(*) FILTER (WHERE c.assigned_at IS NULL) AS abandoned
               FROM conversations c WHERE c.ended_at >= ? AND c.ended_at < ?${c.sql}) e,
            (SELECT count(*) AS created,
                    count(*) FILTER (WHERE first_response_at <= first_response_due_at)
                  + count(*) FILTER (WHERE resolved_at <= resolution_due_at) AS sla_met,
                    count(*) FILTER (WHERE first_response_at > first_response_due_at OR (first_response_at IS NULL AND first_response_due_at < now()))
                  + count(*) FILTER (WHERE resolved_at > resolution_due_at OR (resolved_at IS NULL AND resolution_due_at < now())) AS sla_breached
               FROM tickets WHERE created_at >= ? AND created_at < ?${t.sql}) tc`,
    [...w, ...c.params, ...w, ...c.params, ...w, ...c.params, ...w, ...t.params, ...w, ...c.params, ...w, ...t.params],
  );
  return {
    conversations: int(r.conversations),
    handled: int(r.handled),
    abandoned: int(r.abandoned),
    ticketsCreated: int(r.created),
    ticketsResolved: int(r.resolved),
    slaMet: int(r.sla_met),
    slaBreached: int(r.sla_breached),
    avgFirstResponseSeconds: num(r.fr_avg),
    satisfaction: num(r.sat),
  };
}

/** Conversations and tickets created in each hour of [from, to), every hour present. */
export async function hourlyVolume(
  em: EntityManager,
  dept: string | null,
  from: Date,
  to: Date,
): Promise<Array<{ hour: Date; conversations: number; tickets: number }>> {
  const c = inDepartment(dept, 'c.');
  const t = inDepartment(dept);
  const rows = await em.execute<Array<{ hour: string; conversations: string; tickets: string }>>(
    `SELECT h.hour, coalesce(cv.n, 0) AS conversations, coalesce(tk.n, 0) AS tickets
       FROM generate_series(date_trunc('hour', ?::timestamptz), ?::timestamptz - interval '1 microsecond', interval '1 hour') AS h(hour)
       LEFT JOIN (SELECT date_trunc('hour', c.created_at) AS hour, count(*) AS n FROM conversations c
                   WHERE c.created_at >= ? AND c.created_at < ?${c.sql} GROUP BY 1) cv ON cv.hour = h.hour
       LEFT JOIN (SELECT date_trunc('hour', created_at) AS hour, count(*) AS n FROM tickets
                   WHERE created_at >= ? AND created_at < ?${t.sql} GROUP BY 1) tk ON tk.hour = h.hour
      ORDER BY h.hour`,
    [from, to, from, to, ...c.params, from, to, ...t.params],
  );
  return rows.map((r) => ({ hour: new Date(r.hour), conversations: int(r.conversations), tickets: int(r.tickets) }));
}

/** Average rating per bucket (`hour`, or `day` in the business time zone), buckets with ratings only. */
export async function satisfactionTrend(
  em: EntityManager,
  dept: string | null,
  from: Date,
  to: Date,
  bucket: 'hour' | 'day',
  zone: string,
): Promise<Array<{ at: Date; average: number | null; ratings: number }>> {
  const c = inDepartment(dept, 'c.');
  const rows = await em.execute<Array<{ at: string; average: number; ratings: string }>>(
    `SELECT date_trunc(?, c.rated_at AT TIME ZONE ?) AT TIME ZONE ? AS at, avg(c.rating::float8) AS average, count(*) AS ratings
       FROM conversations c WHERE c.rating IS NOT NULL AND c.rated_at >= ? AND c.rated_at < ?${c.sql}
      GROUP BY 1 ORDER BY 1`,
    [bucket, zone, zone, from, to, ...c.params],
  );
  return rows.map((r) => ({ at: new Date(r.at), average: num(r.average), ratings: int(r.ratings) }));
}

/** Per agent: conversations ended in the period that they held, and tickets they resolved in it. */
export async function agentPerformance(
  em: EntityManager,
  dept: string | null,
  from: Date,
  to: Date,
): Promise<
  Array<{
    agentId: string;
    displayName: string;
    handled: number;
    avgFirstResponseSeconds: number | null;
    avgHandleSeconds: number | null;
    satisfaction: number | null;
    ticketsResolved: number;
  }>
> {
  const c = inDepartment(dept, 'c.');
  const t = inDepartment(dept);
  const rows = await em.execute<Array<Record<string, unknown>>>(
    `WITH conv AS (
       SELECT c.agent_id, count(*) AS handled,
              avg(date_part('epoch', c.first_agent_reply_at - c.created_at)) AS fr,
              avg(date_part('epoch', c.ended_at - c.assigned_at)) AS handle,
              avg(c.rating::float8) AS sat
         FROM conversations c
        WHERE c.ended_at >= ? AND c.ended_at < ? AND c.agent_id IS NOT NULL AND c.assigned_at IS NOT NULL${c.sql}
        GROUP BY c.agent_id),
     tk AS (
       SELECT assignee_id AS agent_id, count(*) AS resolved FROM tickets
        WHERE resolved_at >= ? AND resolved_at < ? AND assignee_id IS NOT NULL${t.sql}
        GROUP BY assignee_id)
     SELECT u.id, u.display_name, coalesce(conv.handled, 0) AS handled, conv.fr, conv.handle, conv.sat, coalesce(tk.resolved, 0) AS resolved
       FROM (SELECT agent_id FROM conv UNION SELECT agent_id FROM tk) a
       JOIN users u ON u.id = a.agent_id
       LEFT JOIN conv ON conv.agent_id = a.agent_id
       LEFT JOIN tk ON tk.agent_id = a.agent_id
      ORDER BY coalesce(conv.handled, 0) DESC, u.display_name, u.id
      LIMIT 200`,
    [from, to, ...c.params, from, to, ...t.params],
  );
  return rows.map((r) => ({
    agentId: r.id as string,
    displayName: r.display_name as string,
    handled: int(r.handled),
    avgFirstResponseSeconds: num(r.fr),
    avgHandleSeconds: num(r.handle),
    satisfaction: num(r.sat),
    ticketsResolved: int(r.resolved),
  }));
}
