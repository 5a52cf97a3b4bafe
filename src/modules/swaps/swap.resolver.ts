import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { User } from '../accounts/user.entity';
import { AuditEntry } from '../audit/audit-entry.entity';
import { Schedule } from '../scheduling/schedule.entity';
import { SwapRequest, SwapStep } from './swap.entity';
import { SwapCandidate, SwapCheck, SwapFilter, SwapInput, SwapRequestConnection } from './swap.inputs';

@Resolver(() => SwapRequest)
export class SwapResolver {
  @Authorized(...STAFF)
  @Query(() => [SwapCandidate], { description: "Agents of the owner's department who work that date, with their schedules" })
  swapCandidates(@Arg('scheduleId', () => ID) scheduleId: string, @Ctx() ctx: Context) {
    return ctx.services.swaps.candidates(ctx, scheduleId);
  }

  @Authorized(...STAFF)
  @Query(() => SwapCheck, { description: 'The conflicts the steps would meet; writes nothing' })
  checkSwap(@Arg('input') input: SwapInput, @Ctx() ctx: Context) {
    return ctx.services.swaps.check(ctx, input);
  }

  @Authorized(...STAFF)
  @Mutation(() => SwapRequest, {
    description: 'By a participant, or a manager (own department) or admin. Refused with CONFLICT when checkSwap finds conflicts.',
  })
  requestSwap(@Arg('input') input: SwapInput, @Ctx() ctx: Context) {
    return ctx.services.swaps.request(ctx, input);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => SwapRequest, {
    description: 'Re-checks every step, then applies all of them at once; every participant must be in the approver’s scope',
  })
  approveSwap(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('comment', () => String, { nullable: true }) comment?: string) {
    return ctx.services.swaps.approve(ctx, id, comment);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => SwapRequest)
  rejectSwap(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('comment', () => String, { nullable: true }) comment?: string) {
    return ctx.services.swaps.reject(ctx, id, comment);
  }

  @Authorized(...STAFF)
  @Mutation(() => SwapRequest, { description: 'The requester (or an admin), while pending' })
  cancelSwap(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Arg('comment', () => String, { nullable: true }) comment?: string) {
    return ctx.services.swaps.cancel(ctx, id, comment);
  }

  @Authorized(...STAFF)
  @Query(() => SwapRequestConnection, { description: 'Agents: swaps they take part in; managers: their department’s; admins: all' })
  swapRequests(
    @Ctx() ctx: Context,
    @Arg('filter', () => SwapFilter, { nullable: true }) filter?: SwapFilter,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.swaps.list(ctx, filter ?? {}, first, after);
  }

  @Authorized(...STAFF)
  @Query(() => SwapRequest)
  swapRequest(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.swaps.get(ctx, id);
  }

  @FieldResolver(() => [SwapStep])
  steps(@Root() swap: SwapRequest, @Ctx() ctx: Context) {
    return ctx.services.swaps.steps(ctx.em, swap.id);
  }

  @FieldResolver(() => User)
  requester(@Root() swap: SwapRequest, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(swap.requesterId);
  }

  @FieldResolver(() => [AuditEntry], { description: 'Who did what to this request, oldest first' })
  auditTrail(@Root() swap: SwapRequest, @Ctx() ctx: Context) {
    return ctx.services.audit.trail(ctx.em, 'SwapRequest', swap.id);
  }
}

@Resolver(() => SwapStep)
export class SwapStepResolver {
  @FieldResolver(() => Schedule)
  schedule(@Root() step: SwapStep, @Ctx() ctx: Context) {
    return ctx.loaders.schedule.load(step.scheduleId);
  }

  @FieldResolver(() => Schedule, { nullable: true })
  newSchedule(@Root() step: SwapStep, @Ctx() ctx: Context) {
    return step.newScheduleId ? ctx.loaders.schedule.load(step.newScheduleId) : null;
  }

  @FieldResolver(() => User)
  fromAgent(@Root() step: SwapStep, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(step.fromAgentId);
  }

  @FieldResolver(() => User)
  toAgent(@Root() step: SwapStep, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(step.toAgentId);
  }
}
