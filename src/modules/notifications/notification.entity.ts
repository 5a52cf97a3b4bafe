import { Entity, PrimaryKey, Property, OptionalProps } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';
import type { MessageRef } from '../../platform/i18n/catalogue';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

export interface NotificationTexts {
  title: MessageRef;
  body: MessageRef;
}

@ObjectType({ implements: Node, description: 'A message to one user: stored first, then pushed live' })
@Entity({ tableName: 'notifications' })
export class Notification extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'createdAt' | 'readAt' | 'texts';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  userId!: string;

  @Field({ description: 'What it is about, e.g. MESSAGE, LEAVE_DECIDED, ASSIGNMENT' })
  @Property({ type: 'text' })
  kind!: string;

  /** Rendered in zh-CN; the `title` and `body` fields render `texts` in the reader's language when it is set. */
  @Field({ description: 'In the reader’s language when composed by ShiftDesk; as written when sent by an admin' })
  @Property({ type: 'text' })
  title!: string;

  @Field()
  @Property({ type: 'text' })
  body!: string;

  /** The catalogue's message ids and parameters of title and body (null for free text). */
  @Property({ type: 'json', nullable: true })
  texts: NotificationTexts | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  readAt: Date | null = null;
}
