import { ArrayMaxSize, ArrayMinSize, IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { User } from '../accounts/user.entity';
import { Schedule } from '../scheduling/schedule.entity';
import { Connection } from '../../platform/pagination';
import { SwapRequest, SwapStatus } from './swap.entity';

export const MAX_SWAP_STEPS = 10;

@InputType()
export class SwapStepInput {
  @Field(() => ID)
  scheduleId!: string;

  @Field(() => ID, { description: 'Who takes the schedule over' })
  toAgentId!: string;
}

@InputType()
export class SwapInput {
  @Field(() => [SwapStepInput], { description: `1 step: hand-over; 2: swap; more: a chain (at most ${MAX_SWAP_STEPS})` })
  @ArrayMinSize(1, { message: 'must have at least one step' })
  @ArrayMaxSize(MAX_SWAP_STEPS, { message: `must have at most ${MAX_SWAP_STEPS} steps` })
  steps!: SwapStepInput[];

  @Field({ nullable: true })
  @IsOptional()
  @MaxLength(2000)
  reason?: string;
}

export enum SwapConflictReason {
  NOT_NORMAL = 'NOT_NORMAL',
  ALREADY_STARTED = 'ALREADY_STARTED',
  OVERLAP = 'OVERLAP',
  ON_LEAVE = 'ON_LEAVE',
  MISSING_SKILL = 'MISSING_SKILL',
  INACTIVE_AGENT = 'INACTIVE_AGENT',
  PENDING_SWAP = 'PENDING_SWAP',
  OUT_OF_SCOPE = 'OUT_OF_SCOPE',
  NOT_ENOUGH_NOTICE = 'NOT_ENOUGH_NOTICE',
  REST_TOO_SHORT = 'REST_TOO_SHORT',
  WEEKLY_HOURS = 'WEEKLY_HOURS',
}
registerEnumType(SwapConflictReason, {
  name: 'SwapConflictReason',
  valuesConfig: {
    NOT_ENOUGH_NOTICE: { description: 'The shift starts sooner than SWAP_MIN_NOTICE_HOURS from now' },
    REST_TOO_SHORT: { description: 'After the swap the receiver would rest less than MIN_REST_HOURS between two shifts' },
    WEEKLY_HOURS: { description: 'After the swap the receiver would work more than MAX_WEEKLY_HOURS that week (Monday–Sunday)' },
  },
});

@ObjectType()
export class SwapConflict {
  @Field(() => ID)
  scheduleId!: string;

  @Field(() => ID)
  toAgentId!: string;

  @Field(() => SwapConflictReason)
  reason!: SwapConflictReason;

  @Field()
  message!: string;

  @Field(() => ID, { nullable: true, description: 'For OVERLAP: the schedule in the way' })
  conflictingScheduleId?: string | null;
}

@ObjectType()
export class SwapCheck {
  @Field({ description: 'True when requestSwap would accept these steps' })
  ok!: boolean;

  @Field(() => [SwapConflict])
  conflicts!: SwapConflict[];
}

@ObjectType()
export class SwapCandidate {
  @Field(() => User)
  agent!: User;

  @Field(() => [Schedule], { description: 'Their schedules on that date' })
  schedules!: Schedule[];

  @Field({ description: 'One of those schedules is already in a pending swap' })
  hasPendingSwap!: boolean;
}

@InputType()
export class SwapFilter {
  @Field(() => SwapStatus, { nullable: true })
  @IsOptional()
  status?: SwapStatus;

  @Field(() => ID, { nullable: true, description: 'Swaps this agent gives or receives in' })
  @IsOptional()
  participantId?: string;
}

@ObjectType()
export class SwapRequestConnection extends Connection(SwapRequest) {}
