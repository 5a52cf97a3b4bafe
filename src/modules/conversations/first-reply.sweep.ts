import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { pgArray } from '../../platform/db/arrays';
import { inTransaction } from '../../platform/db/transaction';
import type { Scheduler } from '../../platform/scheduler';
import type { AuditService } from '../audit/audit.service';
import { User } from '../accounts/user.entity';
import type { NotificationService } from '../notifications/notification.service';
import { supervisorsOf } from '../notifications/supervision.policy';
import { Conversation } from './conversation.entity';
import type { AgentPool } from './agent-pool';
import { sweepInterval, tryLock } from './conversation-sweeps.service';
import type { HandOver } from './hand-over';
import { AdvisoryLock } from '../../platform/db/advisory-locks';

/** One first-reply run at a time in the whole cluster (transaction-level advisory lock). */
export const FIRST_REPLY_SWEEP_LOCK = AdvisoryLock.FIRST_REPLY_SWEEP;

const SWEEP_BATCH = 200;

export interface FirstReplyResult {
  /** False when another process held the lock: this run did nothing. */
  ran: boolean;
  /** Given to another agent. */
  moved: number;
  /** Nobody else could take them: they stay with their agent (the supervisors are told all the same). */
  stayed: number;
}

/**
 * A customer whose first message no one on staff has answered within FIRST_REPLY_TIMEOUT_SECONDS of their
 * agent getting it (assignment, or the latest transfer) is given to another eligible agent — once: the
 * conversation is marked, so it is never moved again for this — and the supervisors of its department
 * (its managers; the admins when it has no department or nobody manages it: supervisorsOf) get a notification.
 */
export class FirstReplySweep {
  constructor(
    private readonly config: Config['service'],
    private readonly handOver: HandOver,
    private readonly pool: AgentPool,
    private readonly notifications: NotificationService,
    private readonly audit: AuditService,
    private readonly em: () => EntityManager,
  ) {}

  /** `now` is the instant the timeout is measured at (tests pass one; eligibility of colleagues is the database's now). */
  async sweep(now: Date = new Date()): Promise<FirstReplyResult> {
    const timeout = this.config.firstReplyTimeoutSeconds;
    const due = `FROM conversations c
      WHERE c.status = 'ACTIVE' AND c.last_agent_message_at IS NULL AND c.first_reply_reassigned_at IS NULL
        AND c.assigned_at <= ?::timestamptz - make_interval(secs => ?)
        AND NOT EXISTS (SELECT 1 FROM conversation_transfers t WHERE t.conversation_id = c.id AND t.created_at > ?::timestamptz - make_interval(secs => ?))
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.kind = 'TEXT' AND m.sender_role <> 'CUSTOMER')`;
    const params = [now, timeout, now, timeout];
    // Most runs find nothing: one query on a small partial index, no transaction.
    if (!(await this.em().execute(`SELECT 1 ${due} LIMIT 1`, params)).length) return { ran: true, moved: 0, stayed: 0 };

    return inTransaction(this.em(), async (em, afterCommit) => {
      if (!(await tryLock(em, FIRST_REPLY_SWEEP_LOCK))) return { ran: false, moved: 0, stayed: 0 };
      const result: FirstReplyResult = { ran: true, moved: 0, stayed: 0 };
      const rows = await em.execute<Array<{ id: string }>>(
        `SELECT c.id ${due} ORDER BY c.assigned_at, c.id LIMIT ${SWEEP_BATCH} FOR UPDATE OF c SKIP LOCKED`,
        params,
      );
      if (!rows.length) return result;
      const conversations = await em.find(
        Conversation,
        { id: { $in: rows.map((r) => r.id) } },
        { orderBy: { assignedAt: 'asc', id: 'asc' } },
      );
      const available = await this.pool.available();
      const agents = new Map(
        (await em.find(User, { id: { $in: conversations.map((c) => c.agentId!) } }, { fields: ['id', 'displayName'] })).map((u) => [
          u.id,
          u.displayName,
        ]),
      );
      const traceId = randomUUID();
      for (const c of conversations) {
        const from = agents.get(c.agentId!) ?? c.agentId!;
        const to = await this.handOver.reassign(em, afterCommit, c, {
          available,
          note: { id: 'chat.noteNoFirstReply', params: { agent: from, seconds: timeout } },
          moved: 'chat.movedNoFirstReply',
          requeued: null,
        });
        if (to) result.moved += 1;
        else result.stayed += 1;
        this.audit.record(
          em,
          { viewer: null, traceId },
          {
            action: 'conversation.first_reply_timeout',
            targetType: 'Conversation',
            targetId: c.id,
            summary: to
              ? `No first reply from ${from} in ${timeout} s: given to ${to.displayName}`
              : `No first reply from ${from} in ${timeout} s: no other agent free, left with them`,
          },
        );
        for (const userId of await supervisorsOf(em, c.departmentId)) {
          this.notifications.notify(em, afterCommit, {
            userId,
            kind: 'NO_FIRST_REPLY',
            title: { id: 'notification.noFirstReply.title', params: { topic: c.topic } },
            body: to
              ? { id: 'notification.noFirstReplyMoved.body', params: { agent: from, seconds: timeout, to: to.displayName, id: c.id } }
              : { id: 'notification.noFirstReplyStayed.body', params: { agent: from, seconds: timeout, id: c.id } },
          });
        }
      }
      // Once per conversation, whatever the outcome: the mark is what makes the next run pass it by.
      await em.execute(`UPDATE conversations SET first_reply_reassigned_at = ? WHERE id = ANY(?::uuid[])`, [
        now,
        pgArray(conversations.map((c) => c.id)),
      ]);
      await em.flush();
      return result;
    });
  }

  start(scheduler: Scheduler): void {
    scheduler.every('first-reply-sweep', sweepInterval(this.config.firstReplyTimeoutSeconds), () => this.sweep());
  }
}
