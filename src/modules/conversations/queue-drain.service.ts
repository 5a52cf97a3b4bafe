import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../../platform/auth/roles';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { pgArray } from '../../platform/db/arrays';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import { User } from '../accounts/user.entity';
import type { PresenceService } from '../presence/presence.service';
import type { AgentPool } from './agent-pool';
import type { FreedSeats } from './chat.service';
import { CONVERSATION_FLOW } from './conversation-flow';
import type { ConversationQueue } from './conversation-queue.service';
import { Conversation } from './conversation.entity';
import { claimSeat } from './seat-plan';

/**
 * Capacity that appears (an agent coming online or AVAILABLE, a chat ending, a transfer out) is offered to the
 * queue at once, under the routing lock; a periodic sweep backs that up (and catches shift starts).
 */
export class QueueDrain implements FreedSeats {
  private unsubscribe: (() => void) | null = null;
  private readonly offering = new Set<Promise<void>>();

  constructor(
    private readonly presence: PresenceService,
    private readonly pool: AgentPool,
    private readonly line: ConversationQueue,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
  ) {}

  /**
   * Offers an agent's free capacity to the queue: while they have room and are eligible, the best
   * waiting request they can serve (effective priority, then time waited) becomes theirs.
   */
  async offerCapacity(agentId: string): Promise<number> {
    const [record] = await this.presence.read([agentId]);
    if (!record?.online || record.status !== 'AVAILABLE') return 0;
    let assigned = 0;
    await inTransaction(this.em(), async (em, afterCommit) => {
      await em.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.ROUTING]);
      const agent = await em.findOne(User, { id: agentId, role: Role.AGENT, active: true });
      if (!agent || !(await this.pool.isOnDuty(em, agent.id))) return;
      for (;;) {
        const next = await this.line.next(em, agent.departmentId, pgArray(agent.skills));
        if (!next || !(await claimSeat(em, agent.id))) return;
        const c = await em.findOneOrFail(Conversation, { id: next });
        c.status = CONVERSATION_FLOW.next(c.status, 'assign');
        c.agentId = agent.id;
        c.assignedAt = new Date();
        // Written before the next pick: the database counts the seat now, and the next SELECT no longer finds
        // this conversation QUEUED (it is locked by this transaction, so SKIP LOCKED would not skip it).
        await em.flush();
        assigned += 1;
        this.line.announceAssignment(afterCommit, c, null);
      }
    });
    return assigned;
  }

  /** Backs up the event-driven draining: every eligible agent with room is offered the queue. */
  async sweep(): Promise<void> {
    const em = this.em();
    const [{ queued }] = await em.execute<Array<{ queued: number }>>(
      `SELECT count(*)::int AS queued FROM conversations WHERE status = 'QUEUED'`,
    );
    if (!queued) return;
    // Only agents with a free slot: offering a full agent's capacity takes the routing lock for nothing, and
    // while a burst of requests queues up, a sweep over every agent would double the work under the lock.
    const available = await this.pool.available();
    if (!available.length) return;
    for (const id of await this.pool.withRoom(em, available)) await this.offerCapacity(id);
  }

  /**
   * One of the agent's conversations stops being theirs in this transaction (an end, a transfer out): once it
   * commits, the seat it frees is offered to the queue. The database counts the seat itself (see claimSeat).
   */
  offerFreedSeat(afterCommit: AfterCommit, agentId: string): void {
    afterCommit(() => this.offerInBackground(agentId));
  }

  /** The queue of a department changed (chat tells it when a waiting request ends). */
  queueChanged(departmentId: string | null): void {
    this.line.queueChanged(departmentId);
  }

  /** Capacity appearing drains the queue at once; a sweep every few seconds backs that up. */
  start(scheduler: Scheduler): void {
    this.unsubscribe = this.presence.onChange((e) => {
      if (e.online && e.status === 'AVAILABLE') void this.offerInBackground(e.agentId);
    });
    scheduler.every('routing-sweep', 5000, () => this.sweep());
  }

  /** Stops listening and waits for the offers already running (the ORM closes after this). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.line.stop();
    await Promise.all([...this.offering]);
  }

  /** Resolves once no offer is running (those started meanwhile included): tests wait on it instead of sleeping. */
  async settled(): Promise<void> {
    while (this.offering.size) await Promise.all([...this.offering]);
  }

  /** An offer nobody awaits; stop() waits for it. */
  private offerInBackground(agentId: string): Promise<void> {
    const run = this.offerCapacity(agentId)
      .then(() => undefined)
      .catch((err) => this.logger.error({ err }, 'queue drain failed'))
      .finally(() => this.offering.delete(run));
    this.offering.add(run);
    return run;
  }
}
