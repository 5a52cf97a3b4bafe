import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { pgArray } from '../../platform/db/arrays';
import { inTransaction } from '../../platform/db/transaction';
import { MessageRef, render } from '../../platform/i18n/catalogue';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import { customerLocale } from '../accounts/user-locale.service';
import type { PresenceService } from '../presence/presence.service';
import type { AgentPool } from './agent-pool';
import type { ChatService } from './chat.service';
import { Conversation, EndReason } from './conversation.entity';
import { StatusChange } from './conversation.events';
import type { HandOver } from './hand-over';

/** One idle sweep and one offline sweep at a time in the whole cluster (transaction-level advisory locks). */
export const IDLE_SWEEP_LOCK = AdvisoryLock.IDLE_SWEEP;
export const OFFLINE_SWEEP_LOCK = AdvisoryLock.OFFLINE_SWEEP;

/** Rows a sweep handles per run; the next run takes the rest. */
const SWEEP_BATCH = 200;
/** How often the offline sweep looks for agents who went offline without an announcement (a restart). */
const HEAL_EVERY_MS = 60_000;

export interface SweepResult {
  /** False when another process held the sweep's lock: this run did nothing. */
  ran: boolean;
  warned: number;
  closed: number;
  moved: number;
  requeued: number;
}

const nothing = (ran: boolean): SweepResult => ({ ran, warned: 0, closed: 0, moved: 0, requeued: 0 });

/** What happens to an ACTIVE conversation by itself: the idle warning and close, and the offline agent's grace. */
export class ConversationSweeps {
  private unsubscribe: (() => void) | null = null;
  /** Presence changes are written in the order they were announced. */
  private presenceWrites: Promise<unknown> = Promise.resolve();
  private lastHeal = 0;

  constructor(
    private readonly config: Config['service'],
    private readonly presence: PresenceService,
    private readonly pool: AgentPool,
    private readonly handOver: HandOver,
    private readonly chat: Pick<ChatService, 'systemMessage' | 'close'>,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
  ) {}

  /**
   * Idle handling. The ACTIVE conversations where the agent wrote last: IDLE_WARNING_SECONDS after the
   * agent's last message the customer is warned (a system message and a STATUS IDLE_WARNING event);
   * IDLE_CLOSE_SECONDS after it — and never sooner than the difference of the two after the warning —
   * the conversation ends with reason IDLE. One process of a cluster runs it at a time.
   */
  async idleSweep(): Promise<SweepResult> {
    const warnAfter = this.config.idleWarningSeconds;
    const closeAfter = this.config.idleCloseSeconds;
    const afterWarning = Math.max(0, closeAfter - warnAfter);
    const due = `FROM conversations c
          WHERE c.status = 'ACTIVE' AND c.last_agent_message_at IS NOT NULL
            AND c.last_agent_message_at <= now() - make_interval(secs => ?)
            AND c.last_agent_message_at > coalesce(c.last_customer_message_at, '-infinity')
            AND (c.idle_warned_at IS NULL OR c.idle_warned_at < c.last_agent_message_at
                 OR (c.last_agent_message_at <= now() - make_interval(secs => ?) AND c.idle_warned_at <= now() - make_interval(secs => ?)))`;
    const params = [warnAfter, closeAfter, afterWarning];
    // Most runs find nothing: one indexed query, no transaction.
    if (!(await this.em().execute(`SELECT 1 ${due} LIMIT 1`, params)).length) return nothing(true);

    return inTransaction(this.em(), async (em, afterCommit) => {
      if (!(await tryLock(em, IDLE_SWEEP_LOCK))) return nothing(false);
      const rows = await em.execute<Array<{ id: string; close: boolean }>>(
        `SELECT c.id, (c.idle_warned_at IS NOT NULL AND c.idle_warned_at >= c.last_agent_message_at) AS close
           ${due}
          ORDER BY c.last_agent_message_at
          LIMIT ${SWEEP_BATCH}
          FOR UPDATE SKIP LOCKED`,
        params,
      );
      if (!rows.length) return nothing(true);
      const result = nothing(true);
      const conversations = new Map((await em.find(Conversation, { id: { $in: rows.map((r) => r.id) } })).map((c) => [c.id, c]));
      for (const row of rows) {
        const c = conversations.get(row.id)!;
        if (row.close) {
          this.chat.systemMessage(em, c, render({ id: 'chat.idleEnded' }, await customerLocale(em, c.customerId, c.locale)), afterCommit);
          await this.chat.close(em, afterCommit, c, EndReason.IDLE);
          result.closed += 1;
        } else {
          c.idleWarnedAt = new Date();
          afterCommit(() => this.handOver.publishStatus(c, StatusChange.IDLE_WARNING));
          const text = render(
            { id: 'chat.idleWarning', params: { seconds: afterWarning } },
            await customerLocale(em, c.customerId, c.locale),
          );
          this.chat.systemMessage(em, c, text, afterCommit);
          result.warned += 1;
        }
      }
      await em.flush();
      return result;
    });
  }

  /**
   * Agents offline for longer than AGENT_OFFLINE_GRACE_SECONDS lose their ACTIVE conversations: each
   * goes to another eligible agent when there is one, else back to the front of the queue; the customer
   * and the agents are told. Costs one indexed query when nobody qualifies.
   */
  async offlineSweep(): Promise<SweepResult> {
    if (Date.now() - this.lastHeal >= HEAL_EVERY_MS) await this.healOffline();
    const grace = this.config.offlineGraceSeconds;
    const dueSql = `SELECT a.agent_id FROM agent_states a
       WHERE a.offline_since <= now() - make_interval(secs => ?)
         AND EXISTS (SELECT 1 FROM conversations c WHERE c.agent_id = a.agent_id AND c.status = 'ACTIVE')
       ORDER BY a.offline_since LIMIT 50`;
    if (!(await this.em().execute(dueSql, [grace])).length) return nothing(true);

    return inTransaction(this.em(), async (em, afterCommit) => {
      if (!(await tryLock(em, OFFLINE_SWEEP_LOCK))) return nothing(false);
      const result = nothing(true);
      let available: string[] | null = null;
      for (const { agent_id: agentId } of await em.execute<Array<{ agent_id: string }>>(dueSql, [grace])) {
        const [presence] = await this.presence.read([agentId]);
        if (presence?.online) {
          // Back before the sweep saw the announcement: they keep their conversations.
          await em.execute(`UPDATE agent_states SET offline_since = NULL WHERE agent_id = ?`, [agentId]);
          continue;
        }
        const ids = await em.execute<Array<{ id: string }>>(
          `SELECT id FROM conversations WHERE agent_id = ? AND status = 'ACTIVE' ORDER BY created_at, id LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED`,
          [agentId],
        );
        if (!ids.length) continue;
        const conversations = await em.find(
          Conversation,
          { id: { $in: ids.map((r) => r.id) } },
          { orderBy: { createdAt: 'asc', id: 'asc' } },
        );
        available ??= await this.pool.available();
        const from = (await this.handOver.names(em, [agentId])).get(agentId) ?? agentId;
        const note: MessageRef = { id: 'chat.noteOffline', params: { agent: from, seconds: grace } };
        for (const c of conversations) {
          const to = await this.handOver.reassign(em, afterCommit, c, {
            available,
            note,
            moved: 'chat.movedOffline',
            requeued: 'chat.requeuedOffline',
          });
          if (to) result.moved += 1;
          else result.requeued += 1;
        }
      }
      await em.flush();
      return result;
    });
  }

  /** Keeps agent_states.offline_since in step with presence, and starts both sweeps. */
  start(scheduler: Scheduler): void {
    this.unsubscribe = this.presence.onChange((e) => {
      this.presenceWrites = this.presenceWrites
        .then(() => this.markPresence(e.agentId, e.online))
        .catch((err) => this.logger.error({ err, agentId: e.agentId }, 'recording an agent’s presence failed'));
    });
    const idleEvery = Math.min(this.config.idleWarningSeconds, Math.max(1, this.config.idleCloseSeconds - this.config.idleWarningSeconds));
    scheduler.every('conversation-idle-sweep', sweepInterval(idleEvery), () => this.idleSweep());
    scheduler.every('agent-offline-sweep', sweepInterval(this.config.offlineGraceSeconds), () => this.offlineSweep());
  }

  /** Stops listening and waits for the offline_since writes already queued (the ORM closes after this). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.presenceWrites;
  }

  /** offline_since: set when an agent goes offline (kept if already set), cleared when they are back. */
  async markPresence(agentId: string, online: boolean): Promise<void> {
    await this.em().execute(
      online
        ? `UPDATE agent_states SET offline_since = NULL WHERE agent_id = ? AND offline_since IS NOT NULL`
        : `UPDATE agent_states SET offline_since = coalesce(offline_since, now()) WHERE agent_id = ?`,
      [agentId],
    );
  }

  /**
   * Agents holding ACTIVE conversations who are offline though no announcement said so (presence kept
   * in memory does not survive a restart) get their offline_since now, so the grace period starts.
   */
  private async healOffline(): Promise<void> {
    this.lastHeal = Date.now();
    const em = this.em();
    const rows = await em.execute<Array<{ agent_id: string }>>(
      `SELECT a.agent_id FROM agent_states a
        WHERE a.offline_since IS NULL AND EXISTS (SELECT 1 FROM conversations c WHERE c.agent_id = a.agent_id AND c.status = 'ACTIVE')`,
    );
    if (!rows.length) return;
    const offline = (await this.presence.read(rows.map((r) => r.agent_id))).filter((p) => !p.online).map((p) => p.userId);
    if (offline.length)
      await em.execute(`UPDATE agent_states SET offline_since = coalesce(offline_since, now()) WHERE agent_id = ANY(?::uuid[])`, [
        pgArray(offline),
      ]);
  }
}

/** A sweep runs about four times per period it watches, at least every 10 s and at most every 250 ms. */
export function sweepInterval(periodSeconds: number): number {
  return Math.min(10_000, Math.max(250, Math.floor((periodSeconds * 1000) / 4)));
}

/** A transaction-level advisory lock, or false at once when another transaction holds it (one sweep run per cluster). */
export async function tryLock(em: EntityManager, key: number): Promise<boolean> {
  const [row] = await em.execute<Array<{ locked: boolean }>>('SELECT pg_try_advisory_xact_lock(?) AS locked', [key]);
  return row.locked;
}
