import { ArrayMaxSize, IsEmail, IsInt, IsOptional, Length, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Role } from '../../platform/auth/roles';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../platform/auth/passwords';
import { Connection } from '../../platform/pagination';
import { User } from './user.entity';

const EMPLOYEE_CODE = /^[A-Z]{1,6}\d{1,8}$/;

@ObjectType()
export class AuthPayload {
  @Field({ description: 'Send as `Authorization: Bearer <token>`, or in graphql-ws connection_init' })
  token!: string;

  @Field()
  expiresAt!: Date;

  @Field(() => User)
  user!: User;
}

@InputType()
export class RegisterCustomerInput {
  @Field()
  @IsEmail({}, { message: 'must be an e-mail address' })
  @MaxLength(254)
  email!: string;

  @Field()
  @MinLength(MIN_PASSWORD_LENGTH, { message: `must be at least ${MIN_PASSWORD_LENGTH} characters` })
  @MaxLength(MAX_PASSWORD_LENGTH)
  password!: string;

  @Field()
  @Length(1, 100, { message: 'must be $constraint1 to $constraint2 characters' })
  displayName!: string;
}

@InputType()
export class CreateUserInput extends RegisterCustomerInput {
  @Field(() => Role)
  role!: Role;

  @Field(() => ID, { nullable: true, description: 'Required for managers and agents; customers have none' })
  @IsOptional()
  departmentId?: string | null;

  @Field(() => String, { nullable: true, description: 'Staff number such as KF001: 1 to 6 capital letters, then 1 to 8 digits' })
  @IsOptional()
  @Matches(EMPLOYEE_CODE, { message: 'must look like KF001 (1 to 6 capital letters, then 1 to 8 digits)' })
  employeeCode?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(50)
  @MaxLength(50, { each: true })
  skills?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Default 5' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(50)
  maxConcurrentChats?: number | null;
}

@InputType({ description: 'Only the fields given are changed' })
export class UpdateUserInput {
  @Field({ nullable: true })
  @IsOptional()
  @Length(1, 100, { message: 'must be $constraint1 to $constraint2 characters' })
  displayName?: string;

  @Field(() => Role, { nullable: true, description: 'Admins only; signs the user out everywhere' })
  @IsOptional()
  role?: Role;

  @Field(() => ID, { nullable: true, description: 'Admins only' })
  @IsOptional()
  departmentId?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(EMPLOYEE_CODE, { message: 'must look like KF001 (1 to 6 capital letters, then 1 to 8 digits)' })
  employeeCode?: string;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(50)
  @MaxLength(50, { each: true })
  skills?: string[];

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(50)
  maxConcurrentChats?: number;

  @Field({ nullable: true, description: 'Admins only' })
  @IsOptional()
  @MinLength(MIN_PASSWORD_LENGTH, { message: `must be at least ${MIN_PASSWORD_LENGTH} characters` })
  @MaxLength(MAX_PASSWORD_LENGTH)
  password?: string;
}

@InputType()
export class UserFilter {
  @Field(() => Role, { nullable: true })
  role?: Role;

  @Field(() => ID, { nullable: true, description: 'Managers always see their own department only' })
  departmentId?: string;

  @Field({ nullable: true })
  active?: boolean;

  @Field({ nullable: true, description: 'Part of the name, e-mail or employee code' })
  @IsOptional()
  @MaxLength(100)
  search?: string;

  @Field({ nullable: true, description: 'Has this skill tag' })
  @IsOptional()
  @MaxLength(50)
  skill?: string;
}

@InputType()
export class CreateDepartmentInput {
  @Field()
  @Length(1, 100, { message: 'must be $constraint1 to $constraint2 characters' })
  name!: string;

  @Field({ description: 'Lower-case machine code, e.g. technical' })
  @Matches(/^[a-z][a-z0-9_]{0,39}$/, { message: 'must be lower-case letters, digits or _ (starting with a letter)' })
  code!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(500)
  description?: string | null;
}

@ObjectType()
export class UserConnection extends Connection(User) {}
