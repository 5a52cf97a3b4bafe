import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Conversation, ConversationStatus } from '../conversations/conversation.entity';
import { ServicePriority } from '../conversations/queue-policy';
import { MessageIntent } from '../knowledge/classification.types';
import { Role } from '../../platform/auth/roles';
import { Connection } from '../../platform/pagination';
import { MAX_SCORE, MIN_SCORE } from '../conversations/rating.policy';

export const KEYWORD_LENGTH = { min: 2, max: 100 };
/** A hit shows at most this many of its matching messages… */
export const MATCHES_PER_HIT = 5;
/** …each as a snippet of at most this many characters around the first match. */
export const SNIPPET_LENGTH = 160;

@InputType({
  description:
    'Conditions on conversations; every one given must hold. Staff see only their scope (agent: own, manager: department, admin: all).',
})
export class ConversationSearchFilter {
  @Field(() => ID, { nullable: true })
  customerId?: string | null;

  @Field(() => ID, { nullable: true })
  agentId?: string | null;

  @Field(() => ID, { nullable: true })
  departmentId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Created at or after' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Created before (exclusive)' })
  to?: Date | null;

  @Field(() => ConversationStatus, { nullable: true })
  status?: ConversationStatus | null;

  @Field(() => Int, { nullable: true, description: `The customer’s rating, ${MIN_SCORE}–${MAX_SCORE}` })
  rating?: number | null;

  @Field(() => ServicePriority, { nullable: true })
  priority?: ServicePriority | null;

  @Field(() => MessageIntent, { nullable: true, description: 'The intent of the first message' })
  intent?: MessageIntent | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Text in a message (masked text only): a substring, Chinese or not, holding at least two letters or digits in a row; ' +
      `${KEYWORD_LENGTH.min}–${KEYWORD_LENGTH.max} characters`,
  })
  keyword?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'true: some message holds personal data (piiTypes not empty); false: none does' })
  hasPii?: boolean | null;
}

@ObjectType({ description: 'Where the keyword is in a snippet: UTF-16 offsets, as JavaScript strings count' })
export class TextRange {
  @Field(() => Int)
  start!: number;

  @Field(() => Int)
  length!: number;
}

@ObjectType({ description: 'A message matching the keyword, in its masked text' })
export class MessageMatch {
  @Field(() => ID)
  messageId!: string;

  @Field(() => Int)
  seq!: number;

  @Field(() => Role, { nullable: true })
  senderRole!: Role | null;

  @Field()
  createdAt!: Date;

  @Field({ description: `Up to ${SNIPPET_LENGTH} characters of the masked text around the first match` })
  snippet!: string;

  @Field(() => [TextRange], { description: 'Every match of the keyword in the snippet' })
  ranges!: TextRange[];

  @Field({ description: 'The snippet as HTML: escaped, each match in <mark>…</mark>' })
  highlighted!: string;
}

@ObjectType({ description: 'A conversation found by searchConversations' })
export class ConversationHit {
  @Field(() => Conversation)
  conversation!: Conversation;

  @Field({ description: 'Moved to the archive (read-only)' })
  archived!: boolean;

  @Field(() => [MessageMatch], {
    description: `With a keyword: its first matching messages (up to ${MATCHES_PER_HIT}), oldest first; otherwise empty`,
  })
  matches!: MessageMatch[];
}

@ObjectType()
export class ConversationHitConnection extends Connection(ConversationHit) {}

export enum ExportFormat {
  CSV = 'CSV',
  XLSX = 'XLSX',
  JSONL = 'JSONL',
}
registerEnumType(ExportFormat, {
  name: 'ExportFormat',
  description: 'CSV (UTF-8 with BOM), XLSX (one sheet), JSONL (one JSON object per line): one row per message',
});

export enum ExportStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  READY = 'READY',
  FAILED = 'FAILED',
  EXPIRED = 'EXPIRED',
}
registerEnumType(ExportStatus, { name: 'ExportStatus' });

@ObjectType({ description: 'How big an export of a filter would be, counted now' })
export class ExportEstimate {
  @Field(() => Int)
  conversations!: number;

  @Field(() => Int, { description: 'Rows of the file: one per message' })
  messages!: number;
}
