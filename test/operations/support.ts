import { randomUUID } from 'node:crypto';
import type { TestApp } from '../support/harness';

/** Puts an agent on a NORMAL schedule that began `startedMinutesAgo` minutes ago and runs for hours. */
export async function putOnShift(app: TestApp, agentId: string, startedMinutesAgo = 5): Promise<void> {
  const em = app.services.orm.em.fork();
  const shiftId = randomUUID();
  await em.execute(`INSERT INTO shifts (id, name, code, start_time, end_time) VALUES (?, 'Test', ?, '00:00', '23:59')`, [
    shiftId,
    `T${shiftId.slice(0, 8)}`,
  ]);
  await em.execute(
    `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at)
     VALUES (?, ?, ?, current_date, now() - make_interval(mins => ?), now() + interval '6 hours')`,
    [randomUUID(), agentId, shiftId, startedMinutesAgo],
  );
}

/** A ticket in `departmentId` created `ageMinutes` ago, open, with its SLA clocks at the given offsets from now (minutes). */
export async function insertTicket(
  app: TestApp,
  opts: {
    departmentId: string;
    customerId: string;
    ageMinutes: number;
    warnInMinutes: number;
    dueInMinutes: number;
    breachNotifiedMinutesAgo?: number;
  },
): Promise<string> {
  const id = randomUUID();
  await app.services.orm.em.fork().execute(
    `INSERT INTO tickets (id, customer_id, created_by_id, subject, category, department_id, priority, priority_rank,
                          first_response_due_at, first_response_warn_at, resolution_started_at, resolution_due_at, resolution_warn_at, next_due_at,
                          first_response_breach_notified_at, created_at)
     VALUES (?, ?, ?, 'subject', 'general', ?, 'NORMAL', 2,
             now() + make_interval(mins => ?), now() + make_interval(mins => ?), now() - make_interval(mins => ?),
             now() + interval '1 day', now() + interval '20 hours', now() + make_interval(mins => ?),
             CASE WHEN ?::int IS NULL THEN NULL ELSE now() - make_interval(mins => ?::int) END, now() - make_interval(mins => ?))`,
    [
      id,
      opts.customerId,
      opts.customerId,
      opts.departmentId,
      opts.dueInMinutes,
      opts.warnInMinutes,
      opts.ageMinutes,
      opts.dueInMinutes,
      opts.breachNotifiedMinutesAgo ?? null,
      opts.breachNotifiedMinutesAgo ?? null,
      opts.ageMinutes,
    ],
  );
  return id;
}
