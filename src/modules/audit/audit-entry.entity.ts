import { Entity, Enum, PrimaryKey, Property, OptionalProps } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Role } from '../../platform/auth/roles';
import { Node } from '../../platform/node';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

@ObjectType({ implements: Node, description: 'One recorded change: who did what to which record, and when' })
@Entity({ tableName: 'audit_entries' })
export class AuditEntry extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'actorId' | 'actorRole' | 'comment' | 'traceId' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID, { nullable: true, description: 'Null for actions of the system itself' })
  @Property({ type: 'uuid', nullable: true })
  actorId: string | null = null;

  @Field(() => Role, { nullable: true })
  @Enum({ items: () => Role, nativeEnumName: 'user_role', nullable: true })
  actorRole: Role | null = null;

  @Field({ description: 'What happened, e.g. user.create, user.role_change, user.deactivate' })
  @Property({ type: 'text' })
  action!: string;

  @Field()
  @Property({ type: 'text' })
  targetType!: string;

  @Field(() => ID)
  @Property({ type: 'text' })
  targetId!: string;

  @Field()
  @Property({ type: 'text' })
  summary!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  comment: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  traceId: string | null = null;
}
