import { Arg, Authorized, Ctx, Field, FieldResolver, ID, InputType, Int, ObjectType, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { Connection } from '../../platform/pagination';
import { User } from '../accounts/user.entity';
import { AuditEntry } from './audit-entry.entity';

@ObjectType()
export class AuditEntryConnection extends Connection(AuditEntry) {}

@InputType()
export class AuditLogFilter {
  @Field(() => ID, { nullable: true })
  actorId?: string;

  @Field({ nullable: true, description: 'e.g. user.create' })
  action?: string;

  @Field({ nullable: true, description: 'e.g. User' })
  targetType?: string;

  @Field(() => ID, { nullable: true })
  targetId?: string;

  @Field({ nullable: true })
  from?: Date;

  @Field({ nullable: true, description: 'Exclusive' })
  to?: Date;
}

@Resolver(() => AuditEntry)
export class AuditResolver {
  @Authorized(Role.ADMIN)
  @Query(() => AuditEntryConnection, { description: 'Admins: the audit log, newest first' })
  auditLog(
    @Ctx() ctx: Context,
    @Arg('filter', () => AuditLogFilter, { nullable: true }) filter?: AuditLogFilter,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.audit.list(ctx, filter ?? {}, first, after);
  }

  @FieldResolver(() => User, { nullable: true })
  actor(@Root() entry: AuditEntry, @Ctx() ctx: Context) {
    return entry.actorId ? ctx.loaders.user.load(entry.actorId) : null;
  }
}
