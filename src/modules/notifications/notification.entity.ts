import { Entity, PrimaryKey, Property, OptionalProps } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

@ObjectType({ description: 'A message to one user: stored first, then pushed live' })
@Entity({ tableName: 'notifications' })
export class Notification extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'createdAt' | 'readAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  userId!: string;

  @Field({ description: 'What it is about, e.g. MESSAGE, LEAVE_DECIDED, ASSIGNMENT' })
  @Property({ type: 'text' })
  kind!: string;

  @Field()
  @Property({ type: 'text' })
  title!: string;

  @Field()
  @Property({ type: 'text' })
  body!: string;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  readAt: Date | null = null;
}
