import { Entity, PrimaryKey, Property, OptionalProps } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';

@ObjectType({ implements: Node, description: 'A message to one user: stored first, then pushed live' })
@Entity({ tableName: 'notifications' })
export class Notification {
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

  @Field()
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  readAt: Date | null = null;
}
