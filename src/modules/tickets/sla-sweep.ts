import type { EntityManager } from '@mikro-orm/postgresql';
import { DateTime } from 'luxon';
import { Role } from '../../platform/auth/roles';
import { inTransaction } from '../../platform/db/transaction';
import type { MessageId } from '../../platform/i18n/catalogue';
import type { Logger } from '../../platform/logger';
import { pgArray } from '../../platform/db/arrays';
import type { NotificationService } from '../notifications/notification.service';
import { TICKET_SWEEP_LOCK } from './ticket-routing';
import type { TicketSettings } from './ticket.settings';

/** Tickets one kind of a sweep handles per run; the next run takes the rest. */
const SWEEP_BATCH = 500;
const OPEN = `status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'REOPENED')`;

export type SlaEventKind = 'FIRST_RESPONSE_BREACHED' | 'RESOLUTION_BREACHED' | 'FIRST_RESPONSE_WARNING' | 'RESOLUTION_WARNING';

interface KindSpec {
  kind: SlaEventKind;
  /** The guard column, set in the same statement that claims the ticket. */
  guard: string;
  /** The instant that must have passed. */
  at: string;
  /** The deadline it is about. */
  due: string;
  /** Extra guard columns to set (a breach also settles the warning, so none follows it). */
  alsoSet: string[];
  /** Rows this kind looks at: must match a partial index of the migration. */
  where: string;
  breach: boolean;
  /** Which deadline, in words (the catalogue's). */
  deadline: MessageId;
}

/** Breaches first: a ticket found past its due time gets the breach notice, never a late warning. */
const KINDS: KindSpec[] = [
  {
    kind: 'FIRST_RESPONSE_BREACHED',
    guard: 'first_response_breach_notified_at',
    at: 'first_response_due_at',
    due: 'first_response_due_at',
    alsoSet: ['first_response_warned_at'],
    where: `first_response_at IS NULL AND first_response_breach_notified_at IS NULL AND ${OPEN}`,
    breach: true,
    deadline: 'ticket.deadline.firstResponse',
  },
  {
    kind: 'RESOLUTION_BREACHED',
    guard: 'resolution_breach_notified_at',
    at: 'resolution_due_at',
    due: 'resolution_due_at',
    alsoSet: ['resolution_warned_at'],
    where: `resolution_breach_notified_at IS NULL AND ${OPEN}`,
    breach: true,
    deadline: 'ticket.deadline.resolution',
  },
  {
    kind: 'FIRST_RESPONSE_WARNING',
    guard: 'first_response_warned_at',
    at: 'first_response_warn_at',
    due: 'first_response_due_at',
    alsoSet: [],
    where: `first_response_at IS NULL AND first_response_warned_at IS NULL AND ${OPEN}`,
    breach: false,
    deadline: 'ticket.deadline.firstResponse',
  },
  {
    kind: 'RESOLUTION_WARNING',
    guard: 'resolution_warned_at',
    at: 'resolution_warn_at',
    due: 'resolution_due_at',
    alsoSet: [],
    where: `resolution_warned_at IS NULL AND ${OPEN}`,
    breach: false,
    deadline: 'ticket.deadline.resolution',
  },
];

export interface SlaSweepResult {
  /** False when another process held the sweep lock: this run did nothing. */
  ran: boolean;
  warnings: number;
  breaches: number;
  notifications: number;
}

interface Claimed {
  id: string;
  subject: string;
  priority: string;
  assignee_id: string | null;
  department_id: string | null;
  due: Date;
}

/**
 * Near-breaches (80% of the allowed time used) and breaches of open tickets, told to the owner (the
 * assignee, or, unassigned, the department's managers) and the assignee's manager(s), once each per kind.
 * Once means: the guard column is set by the same UPDATE that claims the ticket, in the same transaction
 * that stores the notifications; and the whole sweep runs under pg_try_advisory_xact_lock, so in a cluster
 * one process sweeps while the others skip.
 */
export class SlaSweep {
  constructor(
    private readonly notifications: NotificationService,
    private readonly settings: TicketSettings,
    private readonly businessTz: string,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
  ) {}

  run(): Promise<SlaSweepResult> {
    return inTransaction(this.em(), async (em, afterCommit) => {
      const [lock] = await em.execute<Array<{ locked: boolean }>>('SELECT pg_try_advisory_xact_lock(?) AS locked', [TICKET_SWEEP_LOCK]);
      if (!lock.locked) return { ran: false, warnings: 0, breaches: 0, notifications: 0 };
      const result: SlaSweepResult = { ran: true, warnings: 0, breaches: 0, notifications: 0 };
      for (const spec of KINDS) {
        const set = [spec.guard, ...spec.alsoSet].map((c) => `${c} = coalesce(${c}, now())`).join(', ');
        const claimed = await em.execute<Claimed[]>(
          `UPDATE tickets t SET ${set}
            WHERE t.id IN (SELECT id FROM tickets WHERE ${spec.where} AND ${spec.at} <= now()
                            ORDER BY ${spec.at} LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)
            RETURNING t.id, t.subject, t.priority, t.assignee_id, t.department_id, t.${spec.due} AS due`,
        );
        if (!claimed.length) continue;
        const recipients = await recipientsOf(em, claimed);
        for (const t of claimed) {
          for (const userId of recipients.get(t.id) ?? []) {
            this.notifications.notify(em, afterCommit, {
              userId,
              kind: spec.breach ? 'TICKET_SLA_BREACHED' : 'TICKET_SLA_WARNING',
              title: {
                id: spec.breach ? 'notification.slaBreached.title' : 'notification.slaWarning.title',
                params: { deadline: { id: spec.deadline }, subject: t.subject },
              },
              body: {
                id: 'notification.sla.body',
                params: {
                  priority: t.priority,
                  deadline: { id: spec.deadline },
                  due: DateTime.fromJSDate(new Date(t.due), { zone: this.businessTz }).toFormat('yyyy-MM-dd HH:mm'),
                  kind: spec.kind,
                },
              },
            });
            result.notifications++;
          }
          if (spec.breach) result.breaches++;
          else result.warnings++;
        }
      }
      await em.flush();
      if (result.notifications) this.logger.info({ ...result }, 'ticket SLA sweep');
      return result;
    });
  }
}

/**
 * Per ticket: the assignee (or, unassigned, the managers of the ticket's department, or the admins when
 * it has none) and the managers of the assignee's department; each person once.
 */
async function recipientsOf(em: EntityManager, tickets: Claimed[]): Promise<Map<string, string[]>> {
  const assigneeIds = [...new Set(tickets.map((t) => t.assignee_id).filter((id): id is string => Boolean(id)))];
  const assignees = assigneeIds.length
    ? await em.execute<Array<{ id: string; department_id: string | null; active: boolean }>>(
        `SELECT id, department_id, active FROM users WHERE id = ANY(?::uuid[])`,
        [pgArray(assigneeIds)],
      )
    : [];
  const assigneeDept = new Map(assignees.map((a) => [a.id, a.department_id]));
  const departments = [
    ...new Set([...tickets.map((t) => t.department_id), ...assignees.map((a) => a.department_id)].filter((d): d is string => Boolean(d))),
  ];
  const managers = departments.length
    ? await em.execute<Array<{ id: string; department_id: string }>>(
        `SELECT id, department_id FROM users WHERE role = ? AND active AND department_id = ANY(?::uuid[]) ORDER BY id`,
        [Role.MANAGER, pgArray(departments)],
      )
    : [];
  const managersOf = (d: string | null) => (d ? managers.filter((m) => m.department_id === d).map((m) => m.id) : []);
  let admins: string[] | null = null;
  const out = new Map<string, string[]>();
  for (const t of tickets) {
    const people = new Set<string>();
    if (t.assignee_id) {
      people.add(t.assignee_id);
      for (const m of managersOf(assigneeDept.get(t.assignee_id) ?? null)) people.add(m);
    } else {
      let owners = managersOf(t.department_id);
      if (!owners.length) {
        admins ??= (
          await em.execute<Array<{ id: string }>>(`SELECT id FROM users WHERE role = ? AND active ORDER BY id`, [Role.ADMIN])
        ).map((a) => a.id);
        owners = admins;
      }
      for (const o of owners) people.add(o);
    }
    out.set(t.id, [...people]);
  }
  return out;
}
