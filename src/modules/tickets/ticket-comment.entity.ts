import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Role } from '../../platform/auth/roles';

export const MAX_COMMENT_LENGTH = 5000;

@ObjectType({ description: 'A comment on a ticket; internal ones are notes among the staff, never shown to the customer' })
@Entity({ tableName: 'ticket_comments' })
export class TicketComment {
  [OptionalProps]?: 'id' | 'internal' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  ticketId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  authorId!: string;

  @Field(() => Role)
  @Enum({ items: () => Role, nativeEnumName: 'user_role' })
  authorRole!: Role;

  @Field()
  @Property({ type: 'text' })
  body!: string;

  @Field()
  @Property({ type: 'boolean' })
  internal: boolean = false;

  @Field()
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}
