import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { User } from '../accounts/user.entity';
import { AssignSchedulesInput, AssignSchedulesPayload, ScheduleConflict, ScheduleFilter } from './schedule.inputs';
import { Schedule } from './schedule.entity';
import { Shift } from './shift.entity';
import { ScheduleBoard } from './board.types';

@Resolver(() => Schedule)
export class ScheduleResolver {
  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => AssignSchedulesPayload, {
    description: 'Admins: anyone; managers: their department. One transaction; ALL_OR_NOTHING writes nothing when anything conflicts.',
  })
  assignSchedules(@Arg('input') input: AssignSchedulesInput, @Ctx() ctx: Context) {
    return ctx.services.schedules.assign(ctx, input);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => [ID], { description: 'Returns the ids removed' })
  removeSchedules(@Arg('ids', () => [ID]) ids: string[], @Ctx() ctx: Context) {
    return ctx.services.schedules.remove(ctx, ids);
  }

  @Authorized(...STAFF)
  @Query(() => [Schedule], { description: 'Agents: their own; managers: their department; admins: all' })
  schedules(@Arg('filter') filter: ScheduleFilter, @Ctx() ctx: Context) {
    return ctx.services.schedules.list(ctx, filter);
  }

  @Authorized(...STAFF)
  @Query(() => ScheduleBoard, {
    description: 'A row per agent with schedules per day and live state. Admins: any department or all; others: their own.',
  })
  async scheduleBoard(
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Ctx() ctx: Context,
    @Arg('departmentId', () => ID, { nullable: true }) departmentId?: string,
  ) {
    const { board, shiftIds } = await ctx.services.board.board(ctx, from, to, departmentId);
    // A board names few shifts thousands of times: load them once, so each cell's `shift` is read in place.
    await ctx.loaders.shift.loadMany(shiftIds);
    return board;
  }

  @FieldResolver(() => User)
  agent(@Root() s: Schedule, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(s.agentId);
  }

  @FieldResolver(() => Shift)
  shift(@Root() s: Schedule, @Ctx() ctx: Context) {
    return ctx.loaders.shift.get(s.shiftId);
  }

  @FieldResolver(() => Schedule, { nullable: true })
  replacedBy(@Root() s: Schedule, @Ctx() ctx: Context) {
    return s.replacedById ? ctx.loaders.schedule.load(s.replacedById) : null;
  }

  @FieldResolver(() => Schedule, { nullable: true })
  replacing(@Root() s: Schedule, @Ctx() ctx: Context) {
    return s.replacingId ? ctx.loaders.schedule.load(s.replacingId) : null;
  }
}

@Resolver(() => ScheduleConflict)
export class ScheduleConflictResolver {
  @FieldResolver(() => User, { nullable: true })
  agent(@Root() c: ScheduleConflict, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(c.agentId);
  }
}
