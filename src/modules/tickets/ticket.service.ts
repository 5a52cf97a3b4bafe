import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import type { AuditService } from '../audit/audit.service';
import type { NotificationService } from '../notifications/notification.service';
import { SlaSweep, SlaSweepResult } from './sla-sweep';
import { TicketAssignmentService } from './ticket-assignment.service';
import { TicketTrail } from './ticket-common';
import { TicketAssist, TicketIntakeService } from './ticket-intake.service';
import { TicketQueryService } from './ticket-queries.service';
import { TicketWorkflowService } from './ticket-workflow.service';
import type { TicketSettings } from './ticket.settings';

// The life cycle, for readers outside the module (its public file).
export { TICKET_FLOW } from './ticket-common';

/**
 * The tickets module as the server holds it: a service per use case, each built with only what it uses,
 * and the periodic sweep. Resolvers call the use case: `tickets.intake.create`, `tickets.workflow.resolve`,
 * `tickets.queries.list`.
 */
export class TicketService {
  /** New tickets: by hand, from a conversation, auto-answered, and the customer's reply to the auto-answer. */
  readonly intake: TicketIntakeService;
  /** assign → escalate → resolve → close → reopen → rate, and comments. */
  readonly workflow: TicketWorkflowService;
  /** Auto-assignment and draining of waiting tickets. */
  readonly assignment: TicketAssignmentService;
  /** get, list, comments, stats, categories. */
  readonly queries: TicketQueryService;
  /** SLA warnings and breaches. */
  readonly sweeper: SlaSweep;

  constructor(
    audit: AuditService,
    notifications: NotificationService,
    private readonly settings: TicketSettings,
    businessTz: string,
    logger: Logger,
    em: () => EntityManager,
    assist: TicketAssist,
  ) {
    // One trail for all: a transaction that passes through several services keeps its entries in order.
    const trail = new TicketTrail(audit);
    this.assignment = new TicketAssignmentService(trail, notifications, settings, businessTz, logger, em);
    this.intake = new TicketIntakeService(trail, this.assignment, notifications, settings, businessTz, assist);
    this.workflow = new TicketWorkflowService(trail, this.assignment, notifications, settings, businessTz);
    this.queries = new TicketQueryService(settings, businessTz);
    this.sweeper = new SlaSweep(notifications, settings, businessTz, logger, em);
  }

  start(scheduler: Scheduler): void {
    scheduler.every('ticket-sla-sweep', this.settings.sweepEveryMs, () => this.sweep());
  }

  /** Warnings and breaches (once each, one process at a time), then every department's waiting tickets. */
  async sweep(): Promise<SlaSweepResult & { assigned: number }> {
    const result = await this.sweeper.run();
    return { ...result, assigned: await this.assignment.drainWaiting() };
  }
}
