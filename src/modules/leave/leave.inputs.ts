import { ArrayMaxSize, IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Connection } from '../../platform/pagination';
import { DayHalfValue, LeaveRequest, LeaveStatus, LeaveType } from './leave-request.entity';

@InputType()
export class RequestLeaveInput {
  @Field({ description: 'YYYY-MM-DD' })
  startDate!: string;

  @Field(() => DayHalfValue, { defaultValue: DayHalfValue.AM })
  startHalf: DayHalfValue = DayHalfValue.AM;

  @Field({ description: 'YYYY-MM-DD' })
  endDate!: string;

  @Field(() => DayHalfValue, { defaultValue: DayHalfValue.PM })
  endHalf: DayHalfValue = DayHalfValue.PM;

  @Field(() => LeaveType)
  type!: LeaveType;

  @Field({ defaultValue: '' })
  @MaxLength(2000)
  reason: string = '';

  @Field(() => [ID], { nullable: true, description: 'Ids returned by POST /uploads, uploaded by the requester' })
  @IsOptional()
  @ArrayMaxSize(10)
  attachmentIds?: string[] | null;
}

@InputType()
export class LeaveFilter {
  @Field(() => LeaveStatus, { nullable: true })
  @IsOptional()
  status?: LeaveStatus;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  requesterId?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  departmentId?: string;

  @Field({ nullable: true, description: 'Leave that ends on or after this date' })
  @IsOptional()
  from?: string;

  @Field({ nullable: true, description: 'Leave that starts on or before this date' })
  @IsOptional()
  to?: string;
}

@ObjectType()
export class LeaveRequestConnection extends Connection(LeaveRequest) {}
