import { ArrayMaxSize, IsOptional } from 'class-validator';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../platform/node';
import { DEFAULT_WEIGHTS } from './roster-model';
import { DEFAULT_INTERVAL_MINUTES } from './staffing.settings';

/** addForecastOverride: the largest factor and the longest reason. */
export const MAX_OVERRIDE_FACTOR = 100;
export const MAX_OVERRIDE_REASON = 500;

@ObjectType()
export class ForecastInterval {
  @Field()
  startsAt!: Date;

  @Field()
  endsAt!: Date;

  @Field(() => Float, { description: 'Expected new conversations' })
  conversations!: number;

  @Field(() => Float, { description: 'Expected new tickets' })
  tickets!: number;

  @Field(() => Float, { description: 'Average seconds from assignment to end of a conversation (a chat seat held that long)' })
  handlingSeconds!: number;

  @Field(() => Float, { description: 'Product of the overrides covering the interval (1: none)' })
  overrideFactor!: number;
}

@ObjectType()
export class ContactForecast {
  @Field(() => ID)
  departmentId!: string;

  @Field(() => Int)
  intervalMinutes!: number;

  @Field({ description: 'How the figures were computed' })
  method!: string;

  @Field(() => Int, { description: 'Days of history the model learnt from' })
  historyDays!: number;

  @Field(() => Float, { description: 'Trend of the conversations: growth per week (0.02: +2 %)' })
  weeklyGrowth!: number;

  @Field(() => [ForecastInterval])
  intervals!: ForecastInterval[];
}

@ObjectType()
export class StaffingInterval {
  @Field()
  startsAt!: Date;

  @Field()
  endsAt!: Date;

  @Field(() => Float)
  forecastConversations!: number;

  @Field(() => Float)
  forecastTickets!: number;

  @Field(() => Float)
  handlingSeconds!: number;

  @Field(() => Int, { description: 'Agents to schedule: Erlang C seats ÷ chats per agent, ÷ (1 − shrinkage), rounded up' })
  agentsRequired!: number;

  @Field(() => Int, { description: 'Agents scheduled then, less those on approved leave' })
  agentsScheduled!: number;

  @Field(() => Int, { description: 'agentsScheduled − agentsRequired (negative: short)' })
  gap!: number;

  @Field(() => Float, { description: 'Share answered within the target time with the scheduled agents (1 when no contact is expected)' })
  expectedServiceLevel!: number;

  @Field(() => Float, { nullable: true, description: 'Average wait with the scheduled agents; null when they cannot keep up at all' })
  expectedWaitSeconds!: number | null;
}

@ObjectType()
export class StaffingPlan {
  @Field(() => ID)
  departmentId!: string;

  @Field(() => Int)
  intervalMinutes!: number;

  @Field(() => Float)
  serviceLevelTarget!: number;

  @Field(() => Int)
  serviceLevelSeconds!: number;

  @Field(() => Float)
  maxOccupancy!: number;

  @Field(() => Float)
  shrinkage!: number;

  @Field(() => Float, { description: 'Chats an agent of the department holds at once (their average maxConcurrentChats)' })
  chatsPerAgent!: number;

  @Field(() => [StaffingInterval])
  intervals!: StaffingInterval[];
}

@InputType()
export class ShiftPreferenceInput {
  @Field(() => ID)
  agentId!: string;

  @Field(() => ID)
  shiftId!: string;

  @Field({ description: 'true: the agent would like this shift type; false: would rather not' })
  prefer!: boolean;
}

@InputType()
export class ProposeScheduleOptions {
  @Field(() => Int, {
    nullable: true,
    description: `Interval of the coverage (minutes, divides a day); default ${DEFAULT_INTERVAL_MINUTES}`,
  })
  @IsOptional()
  intervalMinutes?: number;

  @Field(() => Float, {
    nullable: true,
    description: `Weight of one missing agent in one interval (default ${DEFAULT_WEIGHTS.understaffing})`,
  })
  @IsOptional()
  understaffingWeight?: number;

  @Field(() => Float, {
    nullable: true,
    description: `Weight of one agent too many in one interval (default ${DEFAULT_WEIGHTS.overstaffing})`,
  })
  @IsOptional()
  overstaffingWeight?: number;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'true: the department’s schedules in the range that took part in no swap are replaced (removed when the proposal is applied) and planned afresh; default false: kept',
  })
  @IsOptional()
  replaceExisting?: boolean;

  @Field(() => [ShiftPreferenceInput], { nullable: true, description: 'Agents’ stated preferences' })
  @IsOptional()
  @ArrayMaxSize(5000)
  preferences?: ShiftPreferenceInput[];
}

export enum UnmetReason {
  NO_SHIFT_COVERS = 'NO_SHIFT_COVERS',
  NOT_ENOUGH_AGENTS = 'NOT_ENOUGH_AGENTS',
  WORK_RULES = 'WORK_RULES',
}
registerEnumType(UnmetReason, {
  name: 'UnmetReason',
  valuesConfig: {
    NO_SHIFT_COVERS: { description: 'No shift type of the department covers this time' },
    NOT_ENOUGH_AGENTS: { description: 'Every agent who may work a covering shift then (skills, leave, kept schedules) already does' },
    WORK_RULES: { description: 'More agents exist, but rest time, days or hours per week leave none of them free' },
  },
});

@ObjectType()
export class ProposedAssignment {
  @Field(() => ID)
  agentId!: string;

  @Field()
  date!: string;

  @Field(() => ID)
  shiftId!: string;

  @Field()
  shiftCode!: string;
}

@ObjectType()
export class UnmetCoverage {
  @Field()
  startsAt!: Date;

  @Field()
  endsAt!: Date;

  @Field(() => Int)
  required!: number;

  @Field(() => Int)
  covered!: number;

  @Field(() => UnmetReason)
  reason!: UnmetReason;
}

@ObjectType({ implements: Node })
export class ScheduleProposal {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  departmentId!: string;

  @Field()
  from!: string;

  @Field()
  to!: string;

  @Field({ description: 'PROPOSED or APPLIED' })
  status!: string;

  @Field(() => [ProposedAssignment], { description: 'New schedules; schedules that already exist are kept and not listed' })
  assignments!: ProposedAssignment[];

  @Field(() => [ID], { description: 'Existing schedules the proposal replaces (replaceExisting): removed when it is applied' })
  removedScheduleIds!: string[];

  @Field(() => [UnmetCoverage], { description: 'Intervals still short of agents, and why' })
  unmet!: UnmetCoverage[];

  @Field(() => Int, { description: 'Σ over intervals of the agents required' })
  requiredAgentIntervals!: number;

  @Field(() => Int, { description: 'Σ over intervals of min(required, covered by kept and proposed schedules)' })
  coveredAgentIntervals!: number;

  @Field(() => Float, { description: 'coveredAgentIntervals ÷ requiredAgentIntervals' })
  coverage!: number;

  @Field({ description: 'The solver’s status (OPTIMAL, TIME_LIMIT, …)' })
  solverStatus!: string;

  @Field(() => Float)
  solveSeconds!: number;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  appliedAt!: Date | null;
}

@ObjectType()
export class ApplyScheduleProposalPayload {
  @Field(() => ScheduleProposal)
  proposal!: ScheduleProposal;

  @Field(() => Int)
  createdCount!: number;
}
