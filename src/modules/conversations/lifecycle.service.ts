import type { EntityManager } from '@mikro-orm/postgresql';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, FieldProblem, Forbidden, InvalidInput } from '../../platform/errors';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import type { PresenceService } from '../presence/presence.service';
import type { AgentPool } from './agent-pool';
import { ChatService, FreedSeats, lockConversation, partyOf } from './chat.service';
import { Conversation, ConversationStatus } from './conversation.entity';
import { ConversationTransfer } from './conversation-transfer.entity';
import type { HandOver } from './hand-over';
import { claimSeat } from './seat-plan';
import { applyRating, checkRating, requireRater } from './rating.policy';
import { render } from '../../platform/i18n/catalogue';
import { customerLocale } from '../accounts/user-locale.service';

export const MAX_TRANSFER_NOTE = 500;

export type TransferReason =
  ConflictReason.AGENT_OFFLINE | ConflictReason.AGENT_NOT_AVAILABLE | ConflictReason.AGENT_OFF_DUTY | ConflictReason.AGENT_AT_CAPACITY;

/**
 * What a person does to a conversation after routing gave it to an agent: a transfer, and the customer's
 * rating (the sweeps that act by themselves: conversation-sweeps.service.ts).
 */
export class ConversationLifecycleService {
  private readonly rateLimiter: RateLimiterAbstract;

  constructor(
    limits: Config['service']['ratePerMinute'],
    private readonly presence: PresenceService,
    private readonly pool: AgentPool,
    private readonly seats: FreedSeats,
    private readonly handOver: HandOver,
    private readonly chat: Pick<ChatService, 'systemMessage'>,
    limiters: RateLimiters,
  ) {
    this.rateLimiter = limiters.create('rate-conversation', limits.rateConversation, 60);
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
      if (!(await this.pool.isOnDuty(em, target.id)))
        throw refused(`${target.displayName} is not on duty now`, ConflictReason.AGENT_OFF_DUTY);

      const from = c.agentId!;
      await this.reserveSeat(em, afterCommit, from, target.id, party === 'SUPERVISOR', target.displayName);
      const people = await this.handOver.names(em, [from, viewer.id]);
      const locale = await customerLocale(em, c.customerId, c.locale);
      const summary = await this.handOver.summary(em, c, locale);
      const names = { from: people.get(from) ?? from, to: target.displayName, by: people.get(viewer.id) ?? viewer.id };
      const lines = [
        render({ id: party === 'SUPERVISOR' ? 'chat.transferredBy' : 'chat.transferred', params: names }, locale),
        ...(text ? [render({ id: 'chat.transferNote', params: { note: text } }, locale)] : []),
        ...summary,
      ];
      this.handOver.move(em, afterCommit, c, { from, to: target.id, by: viewer.id, note: text });
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
    this.seats.offerFreedSeat(afterCommit, from);
  }
}

function refused(message: string, reason: TransferReason): Conflict {
  return new Conflict(reason, message);
}
