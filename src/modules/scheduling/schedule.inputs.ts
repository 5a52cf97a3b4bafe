import { ArrayMaxSize, ArrayMinSize, IsOptional } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Schedule, ScheduleStatus } from './schedule.entity';

export const MAX_AGENTS_PER_CALL = 1000;
export const MAX_DATES_PER_CALL = 366;
export const MAX_SCHEDULES_PER_CALL = 20_000;
export const MAX_RANGE_DAYS = 93;

export enum AssignMode {
  ALL_OR_NOTHING = 'ALL_OR_NOTHING',
  SKIP_CONFLICTS = 'SKIP_CONFLICTS',
}
registerEnumType(AssignMode, {
  name: 'AssignMode',
  valuesConfig: {
    ALL_OR_NOTHING: { description: 'Write nothing when anything conflicts (default)' },
    SKIP_CONFLICTS: { description: 'Write every schedule that does not conflict' },
  },
});

export enum ScheduleConflictReason {
  OVERLAP = 'OVERLAP',
  ON_LEAVE = 'ON_LEAVE',
  INACTIVE_AGENT = 'INACTIVE_AGENT',
  MISSING_SKILL = 'MISSING_SKILL',
  OUT_OF_SCOPE = 'OUT_OF_SCOPE',
}
registerEnumType(ScheduleConflictReason, { name: 'ScheduleConflictReason' });

@InputType()
export class AssignSchedulesInput {
  @Field(() => ID)
  shiftId!: string;

  @Field(() => [ID])
  @ArrayMinSize(1, { message: 'must name at least one agent' })
  @ArrayMaxSize(MAX_AGENTS_PER_CALL, { message: `must name at most ${MAX_AGENTS_PER_CALL} agents` })
  agentIds!: string[];

  @Field(() => [String], { description: 'Business dates YYYY-MM-DD' })
  @ArrayMinSize(1, { message: 'must name at least one date' })
  @ArrayMaxSize(MAX_DATES_PER_CALL, { message: `must name at most ${MAX_DATES_PER_CALL} dates` })
  dates!: string[];

  @Field(() => AssignMode, { defaultValue: AssignMode.ALL_OR_NOTHING })
  mode: AssignMode = AssignMode.ALL_OR_NOTHING;
}

@ObjectType()
export class ScheduleConflict {
  @Field(() => ID)
  agentId!: string;

  @Field()
  date!: string;

  @Field(() => ScheduleConflictReason)
  reason!: ScheduleConflictReason;

  @Field()
  message!: string;

  @Field(() => Schedule, { nullable: true, description: 'For OVERLAP: the schedule in the way' })
  existingSchedule?: Schedule | null;
}

@ObjectType()
export class AssignSchedulesPayload {
  @Field(() => [Schedule])
  created!: Schedule[];

  @Field(() => Int)
  createdCount!: number;

  @Field(() => [ScheduleConflict])
  conflicts!: ScheduleConflict[];
}

@InputType()
export class ScheduleFilter {
  @Field({ description: 'First business date, YYYY-MM-DD' })
  from!: string;

  @Field({ description: `Last business date (included); at most ${MAX_RANGE_DAYS} days after from` })
  to!: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  departmentId?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  agentId?: string;

  @Field(() => ScheduleStatus, { nullable: true })
  @IsOptional()
  status?: ScheduleStatus;
}
