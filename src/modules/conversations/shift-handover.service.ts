import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { inTransaction } from '../../platform/db/transaction';
import type { MessageRef } from '../../platform/i18n/catalogue';
import type { Scheduler } from '../../platform/scheduler';
import type { AuditService } from '../audit/audit.service';
import { User } from '../accounts/user.entity';
import type { NotificationService } from '../notifications/notification.service';
import { Conversation } from './conversation.entity';
import type { AgentPool } from './agent-pool';
import { sweepInterval, tryLock } from './conversation-sweeps.service';
import type { HandOver } from './hand-over';
import { AdvisoryLock } from '../../platform/db/advisory-locks';

/** One handover run at a time in the whole cluster (transaction-level advisory lock). */
export const SHIFT_HANDOVER_LOCK = AdvisoryLock.SHIFT_HANDOVER;

/** Agents (and conversations of each) one run hands over; the next run takes the rest. */
const AGENTS_PER_RUN = 50;
const CONVERSATIONS_PER_AGENT = 200;

export interface HandoverResult {
  /** False when another process held the lock: this run did nothing. */
  ran: boolean;
  moved: number;
  requeued: number;
}

/**
 * Routing follows the roster at a shift's end. An agent off shift gets no new conversation (routing's
 * on-duty rule); this sweep hands over the ACTIVE ones they still hold once SHIFT_END_GRACE_SECONDS have
 * passed since their shift ended without them being on a shift — the grace lets them finish a chat, and a following shift (one
 * that has begun by then) keeps them. Each goes to an eligible colleague with the transfer summary, or back
 * to the front of the queue; the customer gets a system message, the agent a notification, and every move
 * an audit entry.
 */
export class ShiftHandoverService {
  constructor(
    private readonly config: Config['service'],
    private readonly handOver: HandOver,
    private readonly pool: AgentPool,
    private readonly notifications: NotificationService,
    private readonly audit: AuditService,
    private readonly em: () => EntityManager,
  ) {}

  /** `now` is the instant the grace is measured at (tests pass one; eligibility of colleagues is the database's now). */
  async sweep(now: Date = new Date()): Promise<HandoverResult> {
    const result: HandoverResult = { ran: true, moved: 0, requeued: 0 };
    if (!this.config.requireShift) return result; // no roster to follow
    const grace = this.config.shiftEndGraceSeconds;
    // A shift of theirs has ended, and they have been on no NORMAL shift at any moment of the last `grace`
    // seconds (an agent who never had a shift has no end to hand over at: the offline sweep still covers them)…
    const offShift = (
      agent: string,
    ) => `EXISTS (SELECT 1 FROM schedules s WHERE s.agent_id = ${agent} AND s.status = 'NORMAL' AND upper(s.period) <= ?::timestamptz)
        AND NOT EXISTS (SELECT 1 FROM schedules s WHERE s.agent_id = ${agent} AND s.status = 'NORMAL'
                        AND s.period && tstzrange(?::timestamptz - make_interval(secs => ?), ?::timestamptz, '[]'))`;
    const params = [now, now, grace, now];
    // …and holding ACTIVE conversations (the database's seat count says so: one row per agent to look at).
    const dueSql = `SELECT a.agent_id FROM agent_states a WHERE a.active_chats > 0 AND ${offShift('a.agent_id')} ORDER BY a.agent_id LIMIT ${AGENTS_PER_RUN}`;
    // Most runs find nothing: one query, no transaction.
    if (!(await this.em().execute(dueSql, params)).length) return result;

    return inTransaction(this.em(), async (em, afterCommit) => {
      if (!(await tryLock(em, SHIFT_HANDOVER_LOCK))) return { ...result, ran: false };
      let available: string[] | null = null;
      const traceId = randomUUID();
      for (const { agent_id: agentId } of await em.execute<Array<{ agent_id: string }>>(dueSql, params)) {
        // Locked, and the rule checked again on the locked rows: a shift assigned meanwhile keeps them.
        const ids = await em.execute<Array<{ id: string }>>(
          `SELECT c.id FROM conversations c WHERE c.agent_id = ? AND c.status = 'ACTIVE' AND ${offShift('c.agent_id')}
            ORDER BY c.created_at, c.id LIMIT ${CONVERSATIONS_PER_AGENT} FOR UPDATE SKIP LOCKED`,
          [agentId, ...params],
        );
        if (!ids.length) continue;
        const conversations = await em.find(
          Conversation,
          { id: { $in: ids.map((r) => r.id) } },
          { orderBy: { createdAt: 'asc', id: 'asc' } },
        );
        available ??= await this.pool.available();
        const agent = await em.findOneOrFail(User, { id: agentId }, { fields: ['id', 'displayName'] });
        const note: MessageRef = { id: 'chat.noteShiftEnded', params: { agent: agent.displayName, seconds: grace } };
        let moved = 0;
        for (const c of conversations) {
          const to = await this.handOver.reassign(em, afterCommit, c, {
            available,
            note,
            moved: 'chat.movedShiftEnded',
            requeued: 'chat.requeuedShiftEnded',
          });
          if (to) moved += 1;
          this.audit.record(
            em,
            { viewer: null, traceId },
            {
              action: 'conversation.shift_handover',
              targetType: 'Conversation',
              targetId: c.id,
              summary: to
                ? `Shift of ${agent.displayName} ended: handed over to ${to.displayName}`
                : `Shift of ${agent.displayName} ended: back to the front of the queue`,
            },
          );
        }
        const requeued = conversations.length - moved;
        this.notifications.notify(em, afterCommit, {
          userId: agentId,
          kind: 'SHIFT_HANDOVER',
          title: { id: 'notification.shiftHandover.title' },
          body: { id: 'notification.shiftHandover.body', params: { seconds: grace, moved, requeued } },
        });
        await em.flush();
        result.moved += moved;
        result.requeued += requeued;
      }
      return result;
    });
  }

  start(scheduler: Scheduler): void {
    scheduler.every('shift-end-handover', sweepInterval(this.config.shiftEndGraceSeconds), () => this.sweep());
  }
}
