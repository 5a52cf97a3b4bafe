/**
 * Over 400 lines, knowingly: transfers, ending, rating and the idle / offline sweeps of a conversation, which set
 * its status in the same transactions; a transition table for conversations (as tickets have) is the next step
 * (open in the code-health issue).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { pgArray } from '../../platform/db/arrays';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, FieldProblem, Forbidden, InvalidInput } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import type { Scheduler } from '../../platform/scheduler';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import type { PresenceService } from '../presence/presence.service';
import { ChatService, lockConversation, partyOf } from './chat.service';
import { Conversation, ConversationStatus, EndReason } from './conversation.entity';
import { ConversationTransfer } from './conversation-transfer.entity';
import { ConversationEventPayload, ConversationEventType, InboxEventPayload, InboxEventType, StatusChange } from './conversation.events';
import { Message, MessageKind } from './message.entity';
import { claimSeat, RoutingService } from './routing.service';
import { applyRating, checkRating, requireRater } from './rating.policy';
import { transcriptLine } from './transcript';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { render } from '../../platform/i18n/catalogue';
import { customerLocale } from '../accounts/user-locale.service';

/** One idle sweep and one offline sweep at a time in the whole cluster (transaction-level advisory locks). */
export const IDLE_SWEEP_LOCK = AdvisoryLock.IDLE_SWEEP;
export const OFFLINE_SWEEP_LOCK = AdvisoryLock.OFFLINE_SWEEP;

export const MAX_TRANSFER_NOTE = 500;
/** The transfer summary quotes this many of the latest customer and staff messages… */
export const SUMMARY_MESSAGES = 10;
/** …each cut to this many characters (a message may hold 5,000; the summary must stay readable). */
export const SUMMARY_LINE_LENGTH = 200;
/** Rows a sweep handles per run; the next run takes the rest. */
const SWEEP_BATCH = 200;
/** How often the offline sweep looks for agents who went offline without an announcement (a restart). */
const HEAL_EVERY_MS = 60_000;

/** Role labels of the summary lines: `[time][role][name] content`. */
const SYSTEM_NAME = '系统';

export type TransferReason =
  ConflictReason.AGENT_OFFLINE | ConflictReason.AGENT_NOT_AVAILABLE | ConflictReason.AGENT_OFF_DUTY | ConflictReason.AGENT_AT_CAPACITY;

export interface SweepResult {
  /** False when another process held the sweep's lock: this run did nothing. */
  ran: boolean;
  warned: number;
  closed: number;
  moved: number;
  requeued: number;
}

const nothing = (ran: boolean): SweepResult => ({ ran, warned: 0, closed: 0, moved: 0, requeued: 0 });

/**
 * What happens to a conversation after routing gave it to an agent: transfers (by hand, and by the system
 * when an agent stays offline), the idle warning and close, and the customer's rating.
 */
export class ConversationLifecycleService {
  private readonly rateLimiter: RateLimiterAbstract;
  private unsubscribe: (() => void) | null = null;
  /** Presence changes are written in the order they were announced. */
  private presenceWrites: Promise<unknown> = Promise.resolve();
  private lastHeal = 0;

  constructor(
    private readonly config: Config['service'],
    private readonly businessTz: string,
    private readonly pubsub: PubSubPort,
    private readonly presence: PresenceService,
    private readonly routing: RoutingService,
    private readonly chat: ChatService,
    limiters: RateLimiters,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
  ) {
    this.rateLimiter = limiters.create('rate-conversation', config.ratePerMinute.rateConversation, 60);
  }

  /**
   * Hands an ACTIVE conversation to another agent: its agent or a supervisor in scope may, to an active
   * agent who is online, AVAILABLE and on duty, with a free seat (a supervisor may exceed it; the seat
   * still counts). One transaction on the locked conversation: the conversation moves (the database moves
   * the seat with it), a system message summarising the latest messages and the note, a row in its history.
   */
  async transfer(scope: RequestScope, conversationId: string, toAgentId: string, note?: string | null): Promise<Conversation> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const text = note?.trim() || null;
    const problems: FieldProblem[] = [];
    if (!isUuid(toAgentId)) problems.push({ field: 'toAgentId', message: 'must be an agent' });
    if (text && text.length > MAX_TRANSFER_NOTE)
      problems.push({ field: 'note', message: `must be at most ${MAX_TRANSFER_NOTE} characters` });
    if (problems.length) throw new InvalidInput(problems);

    return inTransaction(scope.em, async (em, afterCommit) => {
      // The row lock orders the transfer against sendMessage: a message is stored before it (and goes to
      // the old agent) or after it (and goes to the new one), never lost in between.
      const c = await lockConversation(em, conversationId);
      const party = partyOf(viewer, c);
      if (party !== 'AGENT' && party !== 'SUPERVISOR')
        throw new Forbidden('Only the conversation’s agent or a supervisor of its department transfers it');
      if (c.status !== ConversationStatus.ACTIVE)
        throw new Conflict(
          ConflictReason.CONVERSATION_NOT_ACTIVE,
          `The conversation is ${c.status === ConversationStatus.ENDED ? 'over' : 'still waiting'}; only an active one is transferred`,
        );

      const target = await em.findOne(User, { id: toAgentId });
      if (!target || target.role !== Role.AGENT) throw new InvalidInput('toAgentId', 'must be an agent');
      if (!target.active) throw new InvalidInput('toAgentId', 'is a deactivated agent');
      if (target.id === c.agentId) {
        throw new InvalidInput(
          'toAgentId',
          target.id === viewer.id ? 'is yourself: the conversation is already yours' : 'already has this conversation',
        );
      }
      const [presence] = await this.presence.read([target.id]);
      if (!presence?.online) throw refused(`${target.displayName} is offline`, ConflictReason.AGENT_OFFLINE);
      if (presence.status !== 'AVAILABLE')
        throw refused(`${target.displayName} is ${presence.status}, not AVAILABLE`, ConflictReason.AGENT_NOT_AVAILABLE);
      if (!(await this.onDuty(em, target.id))) throw refused(`${target.displayName} is not on duty now`, ConflictReason.AGENT_OFF_DUTY);

      const from = c.agentId!;
      await this.reserveSeat(em, afterCommit, from, target.id, party === 'SUPERVISOR', target.displayName);
      const people = await this.names(em, [from, viewer.id]);
      const summary = await this.summary(em, c);
      const locale = await customerLocale(em, c.customerId);
      const names = { from: people.get(from) ?? from, to: target.displayName, by: people.get(viewer.id) ?? viewer.id };
      const lines = [
        render({ id: party === 'SUPERVISOR' ? 'chat.transferredBy' : 'chat.transferred', params: names }, locale),
        ...(text ? [render({ id: 'chat.transferNote', params: { note: text } }, locale)] : []),
        ...summary,
      ];
      this.handOver(em, afterCommit, c, { from, to: target.id, by: viewer.id, note: text });
      this.chat.systemMessage(em, c, lines.join('\n'), afterCommit);
      await em.flush();
      return c;
    });
  }

  /** The customer rates their ended conversation once (the rating rule: rating.policy.ts). */
  async rate(scope: RequestScope, conversationId: string, score: number, comment?: string | null): Promise<Conversation> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    const rating = checkRating(score, comment);
    await consumeOrThrow(this.rateLimiter, viewer.id, 'Too many ratings; slow down');

    return inTransaction(scope.em, async (em) => {
      const c = await lockConversation(em, conversationId);
      requireRater(viewer, c, 'conversation');
      if (c.status !== ConversationStatus.ENDED)
        throw new Conflict(ConflictReason.NOT_ENDED, 'The conversation has not ended yet; rate it after the end');
      // A request that left the queue without an agent; one handed back to the queue and left there was served.
      if (!c.agentId && !(await em.count(ConversationTransfer, { conversationId: c.id }))) {
        throw new Conflict(ConflictReason.NOT_SERVED, 'Nobody served this request, so there is nothing to rate');
      }
      applyRating(c, rating, 'conversation');
      await em.flush();
      return c;
    });
  }

  /** A conversation's hand-overs, oldest first, for many conversations at once (the `transfers` field). */
  async transfersOf(em: EntityManager, conversationIds: readonly string[]): Promise<ConversationTransfer[][]> {
    const rows = await em.find(
      ConversationTransfer,
      { conversationId: { $in: [...conversationIds] } },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    const byConversation = new Map<string, ConversationTransfer[]>();
    for (const r of rows) byConversation.set(r.conversationId, [...(byConversation.get(r.conversationId) ?? []), r]);
    return conversationIds.map((id) => byConversation.get(id) ?? []);
  }

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
          this.chat.systemMessage(em, c, render({ id: 'chat.idleEnded' }, await customerLocale(em, c.customerId)), afterCommit);
          await this.chat.close(em, afterCommit, c, EndReason.IDLE);
          result.closed += 1;
        } else {
          c.idleWarnedAt = new Date();
          afterCommit(() => this.publishStatus(c, StatusChange.IDLE_WARNING));
          const text = render({ id: 'chat.idleWarning', params: { seconds: afterWarning } }, await customerLocale(em, c.customerId));
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
        available ??= await this.availableAgents(em);
        const from = (await this.names(em, [agentId])).get(agentId) ?? agentId;
        const note = `${from} 离线超过 ${grace} 秒，系统自动转移会话`;
        for (const c of conversations) {
          const to = await this.reassign(em, afterCommit, c, {
            available,
            note,
            movedText: (name) => `您的客服暂时离线，已为您转接至 ${name}，请稍候。`,
            requeuedText: '您的客服暂时离线，会话已重新排队，您将优先由下一位空闲的客服接待，请稍候。',
          });
          if (to) result.moved += 1;
          else result.requeued += 1;
        }
      }
      await em.flush();
      return result;
    });
  }

  /**
   * The system takes a locked ACTIVE conversation away from its agent (the offline sweep, the shift-end
   * handover, the first-reply sweep): to the least-loaded eligible colleague among `available` (routing's
   * rule and order, their seat claimed), with the transfer summary; else, when `requeuedText` is given,
   * back to the front of the queue; else it stays. Returns the new agent, or null. Flushed before it
   * returns: the database has counted the seat before the next pick compares seats.
   */
  async reassign(
    em: EntityManager,
    afterCommit: AfterCommit,
    c: Conversation,
    how: { available: string[]; note: string; movedText: (agentName: string) => string; requeuedText: string | null },
  ): Promise<{ id: string; displayName: string } | null> {
    const from = c.agentId!;
    const to = await this.pickAgent(
      em,
      c,
      how.available.filter((id) => id !== from),
    );
    if (to) {
      const summary = await this.summary(em, c);
      this.handOver(em, afterCommit, c, { from, to: to.id, by: null, note: how.note });
      this.chat.systemMessage(em, c, [how.movedText(to.displayName), ...summary].join('\n'), afterCommit);
    } else if (how.requeuedText !== null) {
      this.requeue(em, afterCommit, c, from, how.note, how.requeuedText);
    }
    await em.flush();
    return to;
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

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
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

  /** The conversation moves to another agent: the common part of a transfer by hand and by the sweep. */
  private handOver(
    em: EntityManager,
    afterCommit: AfterCommit,
    c: Conversation,
    t: { from: string; to: string; by: string | null; note: string | null },
  ): void {
    c.agentId = t.to;
    // The new agent has not written yet: the idle clock starts again with their first message.
    c.lastAgentMessageAt = null;
    c.idleWarnedAt = null;
    em.create(ConversationTransfer, {
      conversationId: c.id,
      fromAgentId: t.from,
      toAgentId: t.to,
      byId: t.by,
      note: t.note,
      createdAt: new Date(),
    });
    // Registered before the summary's system message: agents hear of the move, then read the summary.
    afterCommit(() => {
      const at = new Date().toISOString();
      this.publishStatus(c, StatusChange.TRANSFERRED);
      this.pubsub.publish(Topics.INBOX, t.from, {
        type: InboxEventType.TRANSFERRED_OUT,
        conversationId: c.id,
        at,
      } satisfies InboxEventPayload);
      this.pubsub.publish(Topics.INBOX, t.to, {
        type: InboxEventType.TRANSFERRED_IN,
        conversationId: c.id,
        at,
      } satisfies InboxEventPayload);
    });
  }

  /** Back to the queue, ahead of everyone of its rank who came later: first rank, in line from its first arrival. */
  private requeue(em: EntityManager, afterCommit: AfterCommit, c: Conversation, from: string, note: string, customerText: string): void {
    c.status = ConversationStatus.QUEUED;
    c.agentId = null;
    c.assignedAt = null;
    c.priorityRank = 0;
    c.queuedAt = c.createdAt;
    c.lastAgentMessageAt = null;
    c.idleWarnedAt = null;
    em.create(ConversationTransfer, { conversationId: c.id, fromAgentId: from, toAgentId: null, byId: null, note, createdAt: new Date() });
    afterCommit(() => {
      const at = new Date().toISOString();
      this.publishStatus(c, StatusChange.REQUEUED);
      this.pubsub.publish(Topics.INBOX, from, { type: InboxEventType.REQUEUED, conversationId: c.id, at } satisfies InboxEventPayload);
      // The department's refresh tells every waiting customer their place, this one included: once, not twice.
      this.routing.queueChanged(c.departmentId);
    });
    this.chat.systemMessage(em, c, customerText, afterCommit);
  }

  /**
   * Before a transfer: both agents' seat rows are locked in agent-id order (the database's seat count writes
   * both when the conversation moves, in that order too), so two transfers in opposite directions cannot
   * deadlock; then the target must have a free seat, unless a supervisor overrides (the seat still counts).
   * The seat the old agent frees is offered to the queue after the commit.
   */
  private async reserveSeat(
    em: EntityManager,
    afterCommit: AfterCommit,
    from: string,
    to: string,
    override: boolean,
    toName: string,
  ): Promise<void> {
    await em.execute(`SELECT 1 FROM agent_states WHERE agent_id IN (?, ?) ORDER BY agent_id FOR UPDATE`, [from, to]);
    if (!override && !(await claimSeat(em, to))) throw refused(`${toName} has no free chat slot`, ConflictReason.AGENT_AT_CAPACITY);
    this.routing.offerFreedSeat(afterCommit, from);
  }

  /**
   * `[time][role][name] content` for the latest customer and staff messages (system messages, earlier
   * summaries among them, are left out), oldest first, time in the business time zone.
   */
  private async summary(em: EntityManager, c: Conversation): Promise<string[]> {
    const latest = (
      await em.find(Message, { conversationId: c.id, kind: MessageKind.TEXT }, { orderBy: { seq: 'desc' }, limit: SUMMARY_MESSAGES })
    ).reverse();
    if (!latest.length) return ['（还没有消息）'];
    const names = await this.names(
      em,
      latest.map((m) => m.senderId).filter((id): id is string => Boolean(id)),
    );
    return [
      `最近 ${latest.length} 条消息：`,
      ...latest.map((m) => summaryLine(m, m.senderId ? (names.get(m.senderId) ?? m.senderId) : SYSTEM_NAME, this.businessTz)),
    ];
  }

  private async names(em: EntityManager, ids: string[]): Promise<Map<string, string>> {
    const users = await em.find(User, { id: { $in: [...new Set(ids)] } }, { fields: ['id', 'displayName'] });
    return new Map(users.map((u) => [u.id, u.displayName]));
  }

  /** Routing's on-duty rule (schedule now unless ROUTING_REQUIRE_SHIFT is off; not on approved leave). */
  private async onDuty(em: EntityManager, agentId: string): Promise<boolean> {
    const [row] = await em.execute(`SELECT 1 FROM users u WHERE u.id = ? AND ${this.routing.onDutyCondition()}`, [agentId]);
    return Boolean(row);
  }

  /** Active agents online and AVAILABLE now (the pool `reassign` picks from). */
  async availableAgents(em: EntityManager): Promise<string[]> {
    const agents = await em.find(User, { role: Role.AGENT, active: true }, { fields: ['id'] });
    if (!agents.length) return [];
    return (await this.presence.read(agents.map((a) => a.id))).filter((p) => p.online && p.status === 'AVAILABLE').map((p) => p.userId);
  }

  /** The least-loaded eligible agent for the conversation (routing's order), with their seat claimed; null when none. */
  private async pickAgent(em: EntityManager, c: Conversation, available: string[]): Promise<{ id: string; displayName: string } | null> {
    if (!available.length) return null;
    const rows = await em.execute<Array<{ id: string; display_name: string }>>(
      `SELECT u.id, u.display_name FROM users u LEFT JOIN agent_states a ON a.agent_id = u.id
        WHERE u.id = ANY(?::uuid[]) AND u.role = 'AGENT' AND u.active
          AND (?::uuid IS NULL OR u.department_id = ?::uuid)
          AND (?::text IS NULL OR ?::text = ANY(u.skills))
          AND coalesce(a.active_chats, 0) < u.max_concurrent_chats
          AND ${this.routing.onDutyCondition()}
        ORDER BY coalesce(a.active_chats, 0), a.last_assigned_at NULLS FIRST, u.id`,
      [pgArray(available), c.departmentId, c.departmentId, c.skill, c.skill],
    );
    for (const r of rows) if (await claimSeat(em, r.id)) return { id: r.id, displayName: r.display_name };
    return null;
  }

  private publishStatus(c: Conversation, change: StatusChange): void {
    this.pubsub.publish(Topics.CONVERSATION, c.id, {
      type: ConversationEventType.STATUS,
      conversationId: c.id,
      status: { change, status: c.status, agentId: c.agentId, endReason: c.endReason },
      at: new Date().toISOString(),
    } satisfies ConversationEventPayload);
  }
}

/** A transcript line (transcript.ts) cut to SUMMARY_LINE_LENGTH characters, for hand-over notes. */
export function summaryLine(m: Pick<Message, 'createdAt' | 'senderRole' | 'content'>, name: string, zone: string): string {
  return transcriptLine(m, name, zone, SUMMARY_LINE_LENGTH);
}

/** A sweep runs about four times per period it watches, at least every 10 s and at most every 250 ms. */
export function sweepInterval(periodSeconds: number): number {
  return Math.min(10_000, Math.max(250, Math.floor((periodSeconds * 1000) / 4)));
}

function refused(message: string, reason: TransferReason): Conflict {
  return new Conflict(reason, message);
}

/** A transaction-level advisory lock, or false at once when another transaction holds it (one sweep run per cluster). */
export async function tryLock(em: EntityManager, key: number): Promise<boolean> {
  const [row] = await em.execute<Array<{ locked: boolean }>>('SELECT pg_try_advisory_xact_lock(?) AS locked', [key]);
  return row.locked;
}
