import { Arg, Authorized, Ctx, Float, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { ForecastOverride } from './staffing.entity';
import { ApplyScheduleProposalPayload, ContactForecast, ProposeScheduleOptions, ScheduleProposal, StaffingPlan } from './staffing.inputs';
import { DEFAULT_INTERVAL_MINUTES, MAX_FORECAST_DAYS } from './staffing.settings';

const PLANNERS = [Role.ADMIN, Role.MANAGER];

@Resolver()
export class StaffingResolver {
  @Authorized(...PLANNERS)
  @Query(() => ContactForecast, {
    description: `Expected conversations and tickets per interval (at most ${MAX_FORECAST_DAYS} days; the interval divides a day). Managers: their department.`,
  })
  forecastContacts(
    @Arg('departmentId', () => ID) departmentId: string,
    @Arg('from', { description: 'First business date YYYY-MM-DD' }) from: string,
    @Arg('to', { description: 'Last business date (included)' }) to: string,
    @Ctx() ctx: Context,
    @Arg('intervalMinutes', () => Int, { defaultValue: DEFAULT_INTERVAL_MINUTES }) intervalMinutes: number,
  ) {
    return ctx.services.forecasts.forecast(ctx, { departmentId, from, to, intervalMinutes });
  }

  @Authorized(...PLANNERS)
  @Query(() => StaffingPlan, {
    description:
      'Per interval: forecast, handling time, agents required (Erlang C), agents scheduled, the gap and the expected service level',
  })
  staffingPlan(
    @Arg('departmentId', () => ID) departmentId: string,
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Ctx() ctx: Context,
    @Arg('intervalMinutes', () => Int, { defaultValue: DEFAULT_INTERVAL_MINUTES }) intervalMinutes: number,
    @Arg('serviceLevelTarget', () => Float, {
      nullable: true,
      description: 'Share within serviceLevelSeconds, 0–1 (default SERVICE_LEVEL_TARGET)',
    })
    serviceLevelTarget?: number,
    @Arg('serviceLevelSeconds', () => Int, { nullable: true, description: 'Default SERVICE_LEVEL_SECONDS' }) serviceLevelSeconds?: number,
  ) {
    return ctx.services.staffingPlans.plan(ctx, { departmentId, from, to, intervalMinutes }, { serviceLevelTarget, serviceLevelSeconds });
  }

  @Authorized(...PLANNERS)
  @Query(() => [ForecastOverride])
  forecastOverrides(@Arg('departmentId', () => ID) departmentId: string, @Ctx() ctx: Context) {
    return ctx.services.forecasts.overrides(ctx, departmentId);
  }

  @Authorized(...PLANNERS)
  @Mutation(() => ForecastOverride, { description: 'Multiplies the forecast over [from, to) by factor (an on-sale event: 3); audited' })
  addForecastOverride(
    @Arg('departmentId', () => ID) departmentId: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('factor', () => Float) factor: number,
    @Arg('reason') reason: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.forecasts.addOverride(ctx, { departmentId, from, to, factor, reason });
  }

  @Authorized(...PLANNERS)
  @Mutation(() => ID)
  removeForecastOverride(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.forecasts.removeOverride(ctx, id);
  }

  @Authorized(...PLANNERS)
  @Mutation(() => ScheduleProposal, {
    description: 'Proposes schedules (existing shift types) covering the agents required, solved by HiGHS; stored, not yet applied',
  })
  proposeSchedule(
    @Arg('departmentId', () => ID) departmentId: string,
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Ctx() ctx: Context,
    @Arg('options', () => ProposeScheduleOptions, { nullable: true }) options?: ProposeScheduleOptions,
  ) {
    return ctx.services.proposals.propose(ctx, departmentId, from, to, options ?? {});
  }

  @Authorized(...PLANNERS)
  @Query(() => ScheduleProposal)
  scheduleProposal(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.proposals.get(ctx, id);
  }

  @Authorized(...PLANNERS)
  @Mutation(() => ApplyScheduleProposalPayload, {
    description:
      'Writes the proposal through assignSchedules (ALL_OR_NOTHING), once; CONFLICT when the schedules changed since it was made',
  })
  applyScheduleProposal(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.proposals.apply(ctx, id);
  }
}
