import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';
import { AuditEntry } from '../audit/audit-entry.entity';
import { AutoAnswer } from '../conversations/conversation.entity';
import { MAX_SCORE, MIN_SCORE } from '../conversations/rating.policy';
import { autoAnswerOf } from '../knowledge/auto-answer';
import { TicketComment } from './ticket-comment.entity';
import { Ticket } from './ticket.entity';
import { CreateTicketInput, TicketCategory, TicketConnection, TicketFilter, TicketStats } from './ticket.inputs';
import { CUSTOMER_TRAIL_ACTIONS } from './ticket-common';

const EVERYONE = [...STAFF, Role.CUSTOMER];

@Resolver(() => Ticket)
export class TicketResolver {
  @Authorized(...EVERYONE)
  @Mutation(() => Ticket, {
    description:
      'Customers for themselves; staff for a customer (customerId). Auto-assigned when an agent of the category’s department has room.',
  })
  createTicket(@Arg('input') input: CreateTicketInput, @Ctx() ctx: Context) {
    return ctx.services.tickets.intake.create(ctx, input);
  }

  @Authorized(...EVERYONE)
  @Mutation(() => Ticket, {
    description: 'A ticket carrying a conversation on (customer, priority, transcript); asked again, the same ticket',
  })
  ticketFromConversation(@Arg('conversationId', () => ID) conversationId: string, @Ctx() ctx: Context) {
    return ctx.services.tickets.intake.fromConversation(ctx, conversationId);
  }

  @Authorized(...STAFF)
  @Mutation(() => Ticket, {
    description:
      'Managers: to their department’s agents; admins: to any agent; agents: an unassigned ticket of their department to themselves',
  })
  assignTicket(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('agentId', () => ID, { nullable: true }) agentId?: string) {
    return ctx.services.tickets.workflow.assign(ctx, id, agentId);
  }

  @Authorized(...STAFF)
  @Mutation(() => Ticket, { description: 'Priority one step up, due times recomputed, the department’s managers told' })
  escalateTicket(@Arg('id', () => ID) id: string, @Arg('reason') reason: string, @Ctx() ctx: Context) {
    return ctx.services.tickets.workflow.escalate(ctx, id, reason);
  }

  @Authorized(...STAFF)
  @Mutation(() => Ticket, { description: 'The assignee, the department’s managers or an admin; the customer is told' })
  resolveTicket(@Arg('id', () => ID) id: string, @Arg('resolution') resolution: string, @Ctx() ctx: Context) {
    return ctx.services.tickets.workflow.resolve(ctx, id, resolution);
  }

  @Authorized(...EVERYONE)
  @Mutation(() => Ticket, { description: 'A resolved ticket: by its customer or the staff who work on it' })
  closeTicket(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.tickets.workflow.close(ctx, id);
  }

  @Authorized(...EVERYONE)
  @Mutation(() => Ticket, { description: 'A resolved ticket within TICKET_REOPEN_WINDOW_DAYS of its resolution' })
  reopenTicket(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('reason', () => String, { nullable: true }) reason?: string) {
    return ctx.services.tickets.workflow.reopen(ctx, id, reason);
  }

  @Authorized(...EVERYONE)
  @Mutation(() => TicketComment, {
    description: 'Internal comments are staff notes, never shown to the customer. The first public staff comment is the first response.',
  })
  commentOnTicket(
    @Arg('id', () => ID) id: string,
    @Arg('body') body: string,
    @Ctx() ctx: Context,
    @Arg('internal', () => Boolean, { defaultValue: false }) internal = false,
  ) {
    return ctx.services.tickets.workflow.comment(ctx, id, body, internal);
  }

  @Authorized(Role.CUSTOMER)
  @Mutation(() => Ticket, { description: `The customer, once, after the resolution: ${MIN_SCORE}–${MAX_SCORE}` })
  rateTicket(
    @Arg('id', () => ID) id: string,
    @Arg('score', () => Int) score: number,
    @Ctx() ctx: Context,
    @Arg('comment', () => String, { nullable: true }) comment?: string,
  ) {
    return ctx.services.tickets.workflow.rate(ctx, id, score, comment);
  }

  @Authorized(Role.CUSTOMER)
  @Mutation(() => Ticket, {
    description:
      'The ticket’s customer answers its auto-answer, once: helped resolves the ticket; not helped leaves it where it is (its place in the queue, or its agent)',
  })
  ticketAnswerHelped(@Arg('ticketId', () => ID) ticketId: string, @Arg('helped') helped: boolean, @Ctx() ctx: Context) {
    return ctx.services.tickets.intake.answerHelped(ctx, ticketId, helped);
  }

  @Authorized(...EVERYONE)
  @Query(() => TicketConnection, {
    description:
      'Customers: their own; agents: theirs and their department’s unassigned queue; managers: their department; admins: all. Queue order: priority, then the nearest due time.',
  })
  tickets(
    @Ctx() ctx: Context,
    @Arg('filter', () => TicketFilter, { nullable: true }) filter?: TicketFilter,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.tickets.queries.list(ctx, filter ?? {}, first, after);
  }

  @Authorized(...EVERYONE)
  @Query(() => Ticket)
  ticket(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.tickets.queries.get(ctx, id);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Query(() => TicketStats, {
    description: 'Tickets created from `from` to `to` (business dates, both included); managers: their department',
  })
  ticketStats(
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Ctx() ctx: Context,
    @Arg('departmentId', () => ID, { nullable: true }) departmentId?: string,
  ) {
    return ctx.services.tickets.queries.stats(ctx, from, to, departmentId);
  }

  @Authorized(...EVERYONE)
  @Query(() => [TicketCategory], { description: 'The categories a ticket may have (TICKET_CATEGORIES) and their departments' })
  ticketCategories(@Ctx() ctx: Context) {
    return ctx.services.tickets.queries.categories();
  }

  @FieldResolver(() => User)
  customer(@Root() t: Ticket, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(t.customerId);
  }

  @FieldResolver(() => User, { nullable: true })
  assignee(@Root() t: Ticket, @Ctx() ctx: Context) {
    return t.assigneeId ? ctx.loaders.user.load(t.assigneeId) : null;
  }

  @FieldResolver(() => Department, { nullable: true })
  department(@Root() t: Ticket, @Ctx() ctx: Context) {
    return t.departmentId ? ctx.loaders.department.load(t.departmentId) : null;
  }

  @FieldResolver(() => AutoAnswer, {
    nullable: true,
    description: 'The FAQ ShiftDesk answered the new ticket with, if any, and what the customer said about it',
  })
  autoAnswer(@Root() t: Ticket, @Ctx() ctx: Context): Promise<AutoAnswer | null> {
    return autoAnswerOf(ctx.em, t);
  }

  @FieldResolver(() => [TicketComment], { description: 'Oldest first; customers never see internal ones' })
  comments(@Root() t: Ticket, @Ctx() ctx: Context) {
    return ctx.services.tickets.queries.comments(ctx.em, ctx.viewer, t.id);
  }

  @FieldResolver(() => [AuditEntry], {
    description: 'Who did what to this ticket, oldest first (customers: creation, resolution, closing, reopening and rating)',
  })
  auditTrail(@Root() t: Ticket, @Ctx() ctx: Context) {
    if (ctx.viewer?.role === Role.CUSTOMER) {
      return ctx.em.find(
        AuditEntry,
        { targetType: 'Ticket', targetId: t.id, action: { $in: CUSTOMER_TRAIL_ACTIONS } },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
    }
    return ctx.services.audit.trail(ctx.em, 'Ticket', t.id);
  }
}

@Resolver(() => TicketComment)
export class TicketCommentResolver {
  @FieldResolver(() => User, { nullable: true, description: 'Null for system comments' })
  author(@Root() c: TicketComment, @Ctx() ctx: Context) {
    return c.authorId ? ctx.loaders.user.load(c.authorId) : null;
  }
}
