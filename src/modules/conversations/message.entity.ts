import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Role } from '../../platform/auth/roles';
import { PiiType } from '../records/pii-type';
import { Node } from '../../platform/node';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

export enum MessageKind {
  TEXT = 'TEXT',
  SYSTEM = 'SYSTEM',
}
registerEnumType(MessageKind, { name: 'MessageKind' });

export enum MessageStatus {
  SENT = 'SENT',
  DELIVERED = 'DELIVERED',
  READ = 'READ',
}
registerEnumType(MessageStatus, { name: 'MessageStatus', description: 'Only ever moves forward' });

export const MAX_MESSAGE_LENGTH = 5000;
/** A client's idempotency key for a send. */
export const MAX_CLIENT_MESSAGE_ID_LENGTH = 100;

@ObjectType({
  implements: Node,
  description: 'One message of a conversation, numbered by seq (1, 2, 3, … with no gaps)',
  simpleResolvers: true,
})
@Entity({ tableName: 'messages' })
export class Message extends CreatedAtColumns {
  [OptionalProps]?:
    | 'id'
    | 'senderId'
    | 'senderRole'
    | 'kind'
    | 'clientMessageId'
    | 'createdAt'
    | 'deliveredAt'
    | 'readAt'
    | 'status'
    | 'piiTypes'
    | 'sealed';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  conversationId!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  seq!: number;

  @Field(() => ID, { nullable: true, description: 'Null for system messages' })
  @Property({ type: 'uuid', nullable: true })
  senderId: string | null = null;

  @Field(() => Role, { nullable: true })
  @Enum({ items: () => Role, nativeEnumName: 'user_role', nullable: true })
  senderRole: Role | null = null;

  @Field(() => MessageKind)
  @Enum({ items: () => MessageKind, nativeEnumName: 'message_kind' })
  kind: MessageKind = MessageKind.TEXT;

  @Field()
  @Property({ type: 'text' })
  content!: string;

  /**
   * The kinds of personal data in content, found on every write (records/pii-tagger.ts); null only for a row
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

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  clientMessageId: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  deliveredAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  readAt: Date | null = null;

  @Field(() => MessageStatus)
  get status(): MessageStatus {
    return this.readAt ? MessageStatus.READ : this.deliveredAt ? MessageStatus.DELIVERED : MessageStatus.SENT;
  }
}
