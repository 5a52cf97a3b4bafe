import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Role } from '../../platform/auth/roles';
import { Node } from '../../platform/node';
import { TimestampColumns } from '../../platform/db/shared-columns';

export const DEFAULT_MAX_CONCURRENT_CHATS = 5;

/** Fields other than id, displayName and role resolve in AccountResolver, which hides them from customers (privateFieldsOf). */
@ObjectType({
  implements: Node,
  description:
    'Anyone who signs in: staff (admins, managers, agents) and customers. A customer sees only id, displayName and role of other users (other fields: FORBIDDEN)',
  simpleResolvers: true,
})
@Entity({ tableName: 'users' })
export class User extends TimestampColumns {
  [OptionalProps]?:
    | 'id'
    | 'employeeCode'
    | 'departmentId'
    | 'locale'
    | 'skills'
    | 'maxConcurrentChats'
    | 'active'
    | 'tokenVersion'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field({ description: 'Lower-case; unique' })
  @Property({ type: 'text' })
  email!: string;

  @Field()
  @Property({ type: 'text' })
  displayName!: string;

  @Field(() => String, { nullable: true, description: 'Staff number such as KF001; unique; null for customers' })
  @Property({ type: 'text', nullable: true })
  employeeCode: string | null = null;

  @Field(() => Role)
  @Enum({ items: () => Role, nativeEnumName: 'user_role' })
  role!: Role;

  /** Kept as a plain id: the GraphQL `department` field resolves it through a DataLoader. */
  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  @Field(() => [String], { description: 'Skill tags used for routing, e.g. 退款, english' })
  @Property({ type: 'text[]' })
  skills: string[] = [];

  @Field(() => Int)
  @Property({ type: 'integer' })
  maxConcurrentChats: number = DEFAULT_MAX_CONCURRENT_CHATS;

  @Field()
  @Property({ type: 'boolean' })
  active: boolean = true;

  @Field(() => String, { nullable: true, description: 'zh-CN or en, set with setMyLocale; null: Accept-Language, else the role’s default' })
  @Property({ type: 'text', nullable: true })
  locale: string | null = null;

  @Property({ type: 'text', hidden: true, lazy: true })
  passwordHash!: string;

  /** Bumped on role change or deactivation: tokens carrying an older version stop working at once. */
  @Property({ type: 'integer' })
  tokenVersion: number = 1;
}
