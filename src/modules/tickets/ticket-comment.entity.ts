import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Role } from '../../platform/auth/roles';
import { MessageKind } from '../conversations/message.entity';
import { PiiType } from '../records/pii-type';
import { Node } from '../../platform/node';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

export const MAX_COMMENT_LENGTH = 5000;

@ObjectType({
  implements: Node,
  description:
    'A comment on a ticket; internal ones are notes among the staff, never shown to the customer; SYSTEM ones come from ShiftDesk itself (no author)',
})
@Entity({ tableName: 'ticket_comments' })
export class TicketComment extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'authorId' | 'authorRole' | 'kind' | 'internal' | 'createdAt' | 'piiTypes' | 'sealed';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  ticketId!: string;

  @Field(() => ID, { nullable: true, description: 'Null for system comments' })
  @Property({ type: 'uuid', nullable: true })
  authorId: string | null = null;

  @Field(() => Role, { nullable: true })
  @Enum({ items: () => Role, nativeEnumName: 'user_role', nullable: true })
  authorRole: Role | null = null;

  @Field(() => MessageKind, { description: 'TEXT: written by someone; SYSTEM: by ShiftDesk (an auto-answer)' })
  @Enum({ items: () => MessageKind, nativeEnumName: 'message_kind' })
  kind: MessageKind = MessageKind.TEXT;

  @Field()
  @Property({ type: 'text' })
  body!: string;

  /**
   * The kinds of personal data in the body, found on every write (records/pii-tagger.ts); null only for a row
   * written before detection existed, until the records backfill reads it. GraphQL: piiTypes (records/pii.resolver.ts).
   */
  @Property({ type: 'text[]', nullable: true })
  piiTypes: PiiType[] | null = null;

  /**
   * The original text, sealed (AES-256-GCM under its subject's data key, records/text-protector.ts) when it held
   * personal data: the text column then holds the masked text. Only revealText opens it; never loaded by default.
   */
  @Property({ type: 'blob', nullable: true, lazy: true, hidden: true })
  sealed: Buffer | null = null;

  @Field()
  @Property({ type: 'boolean' })
  internal: boolean = false;
}
