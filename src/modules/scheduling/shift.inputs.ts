import { ArrayMaxSize, IsOptional, Length, Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { CLOCK_TIME } from '../../platform/clock';

const TIME_MESSAGE = 'must be a time "HH:mm" from 00:00 to 23:59';

@InputType()
export class CreateShiftInput {
  @Field()
  @Length(1, 100, { message: 'must be $constraint1 to $constraint2 characters' })
  name!: string;

  @Field({ description: 'Unique; letters, digits, - and _' })
  @Matches(/^[A-Za-z0-9_-]{1,20}$/, { message: 'must be 1 to 20 letters, digits, - or _' })
  code!: string;

  @Field({ description: '"HH:mm" in the business time zone' })
  @Matches(CLOCK_TIME, { message: TIME_MESSAGE })
  startTime!: string;

  @Field({ description: '"HH:mm"; not after startTime means the shift ends the next day' })
  @Matches(CLOCK_TIME, { message: TIME_MESSAGE })
  endTime!: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  departmentId?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(20)
  @MaxLength(50, { each: true })
  requiredSkills?: string[] | null;

  @Field(() => String, { nullable: true, description: '#RRGGBB' })
  @IsOptional()
  @Matches(/^#[0-9A-Fa-f]{6}$/, { message: 'must be a colour #RRGGBB' })
  color?: string | null;
}

@InputType({ description: 'Only the fields given change. New times apply to schedules made afterwards only.' })
export class UpdateShiftInput {
  @Field({ nullable: true })
  @IsOptional()
  @Length(1, 100, { message: 'must be $constraint1 to $constraint2 characters' })
  name?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,20}$/, { message: 'must be 1 to 20 letters, digits, - or _' })
  code?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Matches(CLOCK_TIME, { message: TIME_MESSAGE })
  startTime?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Matches(CLOCK_TIME, { message: TIME_MESSAGE })
  endTime?: string;

  @Field(() => ID, { nullable: true, description: 'Set to move the shift to a department' })
  @IsOptional()
  departmentId?: string;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(20)
  @MaxLength(50, { each: true })
  requiredSkills?: string[];

  @Field({ nullable: true })
  @IsOptional()
  @Matches(/^#[0-9A-Fa-f]{6}$/, { message: 'must be a colour #RRGGBB' })
  color?: string;
}
