import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { User } from '../accounts/user.entity';
import { AuditEntry } from '../audit/audit-entry.entity';
import { Schedule, ScheduleStatus } from '../scheduling/schedule.entity';
import { Upload } from '../uploads/upload.entity';
import { LeaveFilter, LeaveRequestConnection, RequestLeaveInput } from './leave.inputs';
import { LeaveRequest } from './leave-request.entity';

@Resolver(() => LeaveRequest)
export class LeaveResolver {
  @Authorized(...STAFF)
  @Mutation(() => LeaveRequest, { description: 'Staff ask for leave for themselves; approvers are notified' })
  requestLeave(@Arg('input') input: RequestLeaveInput, @Ctx() ctx: Context) {
    return ctx.services.leave.request(ctx, input);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => LeaveRequest, {
    description: 'Managers: their department; admins: all; never one’s own. Marks intersecting schedules ON_LEAVE.',
  })
  approveLeave(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('comment', () => String, { nullable: true }) comment?: string) {
    return ctx.services.leave.approve(ctx, id, comment);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => LeaveRequest)
  rejectLeave(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('comment', () => String, { nullable: true }) comment?: string) {
    return ctx.services.leave.reject(ctx, id, comment);
  }

  @Authorized(...STAFF)
  @Mutation(() => LeaveRequest, { description: 'The requester while pending; an admin also once approved (restores the schedules)' })
  cancelLeave(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('comment', () => String, { nullable: true }) comment?: string) {
    return ctx.services.leave.cancel(ctx, id, comment);
  }

  @Authorized(...STAFF)
  @Query(() => LeaveRequestConnection, { description: 'Agents: their own; managers: their department; admins: all. Newest first.' })
  leaveRequests(
    @Ctx() ctx: Context,
    @Arg('filter', () => LeaveFilter, { nullable: true }) filter?: LeaveFilter,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.leave.list(ctx, filter ?? {}, first, after);
  }

  @Authorized(...STAFF)
  @Query(() => LeaveRequest)
  leaveRequest(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.leave.get(ctx, id);
  }

  @FieldResolver(() => User)
  requester(@Root() l: LeaveRequest, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(l.requesterId);
  }

  @FieldResolver(() => User, { nullable: true })
  decidedBy(@Root() l: LeaveRequest, @Ctx() ctx: Context) {
    return l.decidedById ? ctx.loaders.user.load(l.decidedById) : null;
  }

  @FieldResolver(() => [Schedule], { description: "The requester's schedules that intersect the leave" })
  affectedSchedules(@Root() l: LeaveRequest, @Ctx() ctx: Context) {
    return ctx.em.find(
      Schedule,
      { agentId: l.requesterId, status: { $ne: ScheduleStatus.SWAPPED_OUT }, startsAt: { $lt: l.endsAt }, endsAt: { $gt: l.startsAt } },
      { orderBy: { startsAt: 'asc' } },
    );
  }

  @FieldResolver(() => [Upload])
  attachments(@Root() l: LeaveRequest, @Ctx() ctx: Context) {
    return l.attachmentIds.length ? ctx.em.find(Upload, { id: { $in: l.attachmentIds } }, { orderBy: { createdAt: 'asc' } }) : [];
  }

  @FieldResolver(() => [AuditEntry], { description: 'Who did what to this request, oldest first' })
  auditTrail(@Root() l: LeaveRequest, @Ctx() ctx: Context) {
    return ctx.services.audit.trail(ctx.em, 'LeaveRequest', l.id);
  }
}
