import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import type { Logger } from '../../platform/logger';
import { User } from '../accounts/user.entity';
import type { NotificationService } from '../notifications/notification.service';
import { Actor, formatInstant, TICKET_FLOW, TicketTrail } from './ticket-common';
import { candidatesFor, chooseAgent, lockAssignments, openLoad } from './ticket-routing';
import { Ticket, TicketStatus } from './ticket.entity';
import type { TicketSettings } from './ticket.settings';

/**
 * The sweep's drain (a backstop for capacity nobody announced, such as a new agent) takes tickets that have
 * waited this long; a newer one was just offered to the agents when it was created, reopened or freed.
 */
const SWEEP_DRAIN_AFTER_SECONDS = 10;
/** Waiting tickets one drain assigns at most (the next drain or sweep takes the rest). */
const DRAIN_BATCH = 100;

/** Who holds a ticket: auto-assignment, assignment by hand, and draining a department's waiting tickets. */
export class TicketAssignmentService {
  constructor(
    private readonly trail: TicketTrail,
    private readonly notifications: NotificationService,
    private readonly settings: TicketSettings,
    private readonly businessTz: string,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
  ) {}

  /** Open tickets one agent holds at most (TICKET_AGENT_LIMIT). */
  get agentLimit(): number {
    return this.settings.agentLimit;
  }

  /** The agent's open tickets, counted under their department's assignment lock (held until the transaction ends). */
  async lockedLoad(em: EntityManager, agent: Pick<User, 'id' | 'departmentId'>): Promise<number> {
    await lockAssignments(em, agent.departmentId);
    return openLoad(em, agent.id);
  }

  /**
   * Gives a waiting ticket to the best agent of its department (see ticket-routing.ts), under the
   * department's assignment lock. False when nobody has room (or the ticket has no department).
   */
  async autoAssign(em: EntityManager, afterCommit: AfterCommit, actor: Actor, ticket: Ticket): Promise<boolean> {
    if (!ticket.departmentId || ticket.assigneeId) return false;
    await lockAssignments(em, ticket.departmentId);
    const chosen = chooseAgent(await candidatesFor(em, ticket.departmentId, ticket.category, ticket.tags), this.settings.agentLimit);
    if (!chosen) return false;
    const agent = await em.findOneOrFail(User, { id: chosen.id });
    this.applyAssignment(em, afterCommit, actor, ticket, agent, true, chosen.open);
    return true;
  }

  /** The ticket to `agent` (the caller checked the limit), audited and told to the agent. */
  applyAssignment(
    em: EntityManager,
    afterCommit: AfterCommit,
    actor: Actor,
    ticket: Ticket,
    agent: User,
    auto: boolean,
    load?: number,
  ): void {
    const previous = ticket.assigneeId;
    ticket.status = TICKET_FLOW.next(ticket.status, 'assign');
    ticket.assigneeId = agent.id;
    ticket.assignedAt = new Date();
    this.trail.record(em, actor, ticket, {
      action: 'ticket.assign',
      targetType: 'Ticket',
      targetId: ticket.id,
      summary: auto
        ? `Auto-assigned to ${agent.displayName} (${load ?? 0} open ticket(s) before)`
        : `${previous ? 'Reassigned' : 'Assigned'} to ${agent.displayName}`,
    });
    this.notifications.notify(em, afterCommit, {
      userId: agent.id,
      kind: 'TICKET_ASSIGNED',
      title: { id: 'notification.ticketAssigned.title', params: { priority: ticket.priority, subject: ticket.subject } },
      body: {
        id: 'notification.ticketAssigned.body',
        params: {
          category: ticket.category,
          firstResponseDue: formatInstant(ticket.firstResponseDueAt, this.businessTz),
          resolutionDue: formatInstant(ticket.resolutionDueAt, this.businessTz),
        },
      },
    });
  }

  /**
   * Capacity appeared in a department: its waiting tickets (queue order) go to agents below the limit,
   * until none is left. Tickets another transaction holds are skipped (the next drain takes them).
   */
  drain(departmentId: string, waitedSeconds = 0): Promise<number> {
    const actor: Actor = { viewer: null, traceId: randomUUID() };
    return inTransaction(this.em(), async (em, afterCommit) => {
      await lockAssignments(em, departmentId);
      const waiting = await em.find(
        Ticket,
        {
          departmentId,
          assigneeId: null,
          status: { $in: [TicketStatus.NEW, TicketStatus.REOPENED] },
          ...(waitedSeconds > 0 ? { updatedAt: { $lt: new Date(Date.now() - waitedSeconds * 1000) } } : {}),
        },
        { orderBy: { priorityRank: 'asc', nextDueAt: 'asc', id: 'asc' }, limit: DRAIN_BATCH, lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE },
      );
      let assigned = 0;
      for (const ticket of waiting) {
        if (!(await this.autoAssign(em, afterCommit, actor, ticket))) break; // no agent has room: none will for the rest
        await em.flush(); // the next candidate query counts this assignment
        assigned++;
      }
      return assigned;
    });
  }

  /** drain, after a change that already committed: a failure is logged, never the caller's. */
  async drainQuietly(departmentId: string, waitedSeconds = 0): Promise<number> {
    try {
      return await this.drain(departmentId, waitedSeconds);
    } catch (err) {
      this.logger.error({ err, departmentId }, 'draining the ticket queue failed');
      return 0;
    }
  }

  /** The sweep's part: every department's tickets that waited SWEEP_DRAIN_AFTER_SECONDS. Returns how many were assigned. */
  async drainWaiting(): Promise<number> {
    let assigned = 0;
    const rows = await this.em().execute<Array<{ department_id: string }>>(
      `SELECT DISTINCT department_id FROM tickets
        WHERE assignee_id IS NULL AND status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'REOPENED') AND department_id IS NOT NULL
          AND updated_at < now() - make_interval(secs => ?)`,
      [SWEEP_DRAIN_AFTER_SECONDS],
    );
    for (const r of rows) assigned += await this.drainQuietly(r.department_id, SWEEP_DRAIN_AFTER_SECONDS);
    return assigned;
  }
}
