import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { Department } from '../accounts/department.entity';
import { CreateShiftInput, UpdateShiftInput } from './shift.inputs';
import { Shift } from './shift.entity';

@Resolver(() => Shift)
export class ShiftResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => Shift)
  createShift(@Arg('input') input: CreateShiftInput, @Ctx() ctx: Context) {
    return ctx.services.shifts.create(ctx, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Shift, { description: 'Schedules already made keep their times; new times apply to new schedules' })
  updateShift(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateShiftInput, @Ctx() ctx: Context) {
    return ctx.services.shifts.update(ctx, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Shift, { description: 'Hides the shift from new scheduling; existing schedules stay' })
  archiveShift(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.shifts.archive(ctx, id);
  }

  @Authorized(...STAFF)
  @Query(() => [Shift], { description: "Staff: a department's shifts plus those shared by all" })
  shifts(
    @Ctx() ctx: Context,
    @Arg('departmentId', () => ID, { nullable: true }) departmentId?: string,
    @Arg('includeArchived', () => Boolean, { defaultValue: false }) includeArchived = false,
  ) {
    return ctx.services.shifts.list(ctx, departmentId, includeArchived);
  }

  @FieldResolver(() => Department, { nullable: true })
  department(@Root() shift: Shift, @Ctx() ctx: Context) {
    return shift.departmentId ? ctx.loaders.department.load(shift.departmentId) : null;
  }
}
