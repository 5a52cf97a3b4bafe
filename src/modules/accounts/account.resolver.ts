import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { SIGNS_IN } from '../../platform/auth/credentials';
import { Role, STAFF } from '../../platform/auth/roles';
import {
  AuthPayload,
  CreateDepartmentInput,
  CreateUserInput,
  RegisterCustomerInput,
  UpdateUserInput,
  UserConnection,
  UserFilter,
} from './account.inputs';
import { Department } from './department.entity';
import { User } from './user.entity';
import { privateFieldsOf, rememberSignIn } from './user-fields.guard';

@Resolver(() => User)
export class AccountResolver {
  // SIGNS_IN: runs even when the request carries an expired or bad token (a client signing in again).
  @Extensions(SIGNS_IN)
  @Mutation(() => AuthPayload, { description: 'Anyone. Wrong e-mail and wrong password fail alike; repeated failures are RATE_LIMITED.' })
  async login(@Arg('email') email: string, @Arg('password') password: string, @Ctx() ctx: Context) {
    const payload = await ctx.services.accounts.login(ctx, email, password);
    rememberSignIn(ctx, payload.user);
    return payload;
  }

  @Extensions(SIGNS_IN)
  @Mutation(() => AuthPayload, { description: 'Anyone: creates a CUSTOMER account and signs it in; RATE_LIMITED per client address' })
  async registerCustomer(@Arg('input') input: RegisterCustomerInput, @Ctx() ctx: Context) {
    const payload = await ctx.services.accounts.registerCustomer(ctx, input);
    rememberSignIn(ctx, payload.user);
    return payload;
  }

  @Authorized()
  @Query(() => User, { description: 'The signed-in user' })
  me(@Ctx() ctx: Context) {
    return ctx.services.accounts.me(ctx);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Query(() => UserConnection, { description: 'Admins: everyone; managers: their own department' })
  users(
    @Ctx() ctx: Context,
    @Arg('filter', () => UserFilter, { nullable: true }) filter?: UserFilter,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.accounts.list(ctx, filter ?? {}, first, after);
  }

  @Authorized()
  @Query(() => User, { description: 'Admins: anyone; managers: their department; others: themselves' })
  user(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.accounts.user(ctx, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => User)
  createUser(@Arg('input') input: CreateUserInput, @Ctx() ctx: Context) {
    return ctx.services.accounts.createUser(ctx, input);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => User, {
    description: 'Admins: anyone, anything; managers: agents of their department (not role, department or password)',
  })
  updateUser(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateUserInput, @Ctx() ctx: Context) {
    return ctx.services.accounts.updateUser(ctx, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => User, { description: 'Signs the user out everywhere at once, open WebSockets included' })
  deactivateUser(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.accounts.deactivateUser(ctx, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Department)
  createDepartment(@Arg('input') input: CreateDepartmentInput, @Ctx() ctx: Context) {
    return ctx.services.accounts.createDepartment(ctx, input);
  }

  @Authorized(...STAFF)
  @Query(() => [Department], { description: 'Staff' })
  departments(@Ctx() ctx: Context) {
    return ctx.services.accounts.departments(ctx);
  }

  // User's private fields: staff and the user themselves see them; a customer looking at someone else gets
  // FORBIDDEN (privateFieldsOf). Types and descriptions come from the entity's @Field.
  @FieldResolver(() => Department, { nullable: true })
  department(@Root() user: User, @Ctx() ctx: Context) {
    const { departmentId } = privateFieldsOf(user, ctx.viewer, ctx);
    return departmentId ? ctx.loaders.department.load(departmentId) : null;
  }

  @FieldResolver()
  email(@Root() user: User, @Ctx() ctx: Context): string {
    return privateFieldsOf(user, ctx.viewer, ctx).email;
  }

  @FieldResolver()
  employeeCode(@Root() user: User, @Ctx() ctx: Context): string | null {
    return privateFieldsOf(user, ctx.viewer, ctx).employeeCode;
  }

  @FieldResolver()
  departmentId(@Root() user: User, @Ctx() ctx: Context): string | null {
    return privateFieldsOf(user, ctx.viewer, ctx).departmentId;
  }

  @FieldResolver()
  skills(@Root() user: User, @Ctx() ctx: Context): string[] {
    return privateFieldsOf(user, ctx.viewer, ctx).skills;
  }

  @FieldResolver()
  maxConcurrentChats(@Root() user: User, @Ctx() ctx: Context): number {
    return privateFieldsOf(user, ctx.viewer, ctx).maxConcurrentChats;
  }

  @FieldResolver()
  active(@Root() user: User, @Ctx() ctx: Context): boolean {
    return privateFieldsOf(user, ctx.viewer, ctx).active;
  }

  @FieldResolver(() => String, { nullable: true })
  locale(@Root() user: User, @Ctx() ctx: Context): string | null {
    return privateFieldsOf(user, ctx.viewer, ctx).locale;
  }

  @Authorized()
  @Mutation(() => User, {
    description:
      'Anyone signed in: the language of your texts (zh-CN or en; null: Accept-Language, else the default). Others: BAD_USER_INPUT.',
  })
  setMyLocale(@Arg('locale', () => String, { nullable: true }) locale: string | null, @Ctx() ctx: Context) {
    return ctx.services.userLocales.setMyLocale(ctx, locale ?? null);
  }

  @FieldResolver()
  createdAt(@Root() user: User, @Ctx() ctx: Context): Date {
    return privateFieldsOf(user, ctx.viewer, ctx).createdAt;
  }

  @FieldResolver()
  updatedAt(@Root() user: User, @Ctx() ctx: Context): Date {
    return privateFieldsOf(user, ctx.viewer, ctx).updatedAt;
  }
}
