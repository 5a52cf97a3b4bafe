import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { PRIORITY_RANK, ServicePriority } from './queue-policy';
import { Node } from '../../platform/node';
import { RatingColumns } from './rating.policy';

/** What a customer says the conversation is about (requestService's topic). */
export const MAX_TOPIC_LENGTH = 100;

export enum ConversationStatus {
  QUEUED = 'QUEUED',
  ACTIVE = 'ACTIVE',
  ENDED = 'ENDED',
}
registerEnumType(ConversationStatus, { name: 'ConversationStatus' });

export enum EndReason {
  CUSTOMER = 'CUSTOMER',
  AGENT = 'AGENT',
  SUPERVISOR = 'SUPERVISOR',
  IDLE = 'IDLE',
  LEFT_QUEUE = 'LEFT_QUEUE',
  RESOLVED_BY_FAQ = 'RESOLVED_BY_FAQ',
}
registerEnumType(EndReason, { name: 'EndReason' });

export enum AutoAnswerState {
  ASKED = 'ASKED',
  HELPED = 'HELPED',
  NOT_HELPED = 'NOT_HELPED',
}
registerEnumType(AutoAnswerState, { name: 'AutoAnswerState', description: 'Whether the customer found the FAQ answer helpful' });

@ObjectType({ description: 'The FAQ that answered a request or a ticket' })
export class AutoAnswerFaq {
  @Field(() => ID)
  id!: string;

  @Field()
  question!: string;
}

@ObjectType({
  description: 'ShiftDesk answered a conversation’s first message or a new ticket from the knowledge base and asked whether it helped',
})
export class AutoAnswer {
  @Field(() => AutoAnswerFaq)
  faq!: AutoAnswerFaq;

  @Field(() => AutoAnswerState)
  state!: AutoAnswerState;
}

@ObjectType({
  implements: Node,
  description: 'A customer’s request for help: queued, then a chat with an agent, then ended',
  simpleResolvers: true,
})
@Entity({ tableName: 'conversations' })
export class Conversation extends RatingColumns {
  [OptionalProps]?:
    | 'id'
    | 'agentId'
    | 'departmentId'
    | 'skill'
    | 'createdAt'
    | 'queuedAt'
    | 'assignedAt'
    | 'endedAt'
    | 'endReason'
    | 'lastSeq'
    | 'lastCustomerMessageAt'
    | 'lastAgentMessageAt'
    | 'idleWarnedAt'
    | 'rating'
    | 'ratingComment'
    | 'ratedAt'
    | 'autoAnswerFaqId'
    | 'autoAnswerState'
    | 'intent'
    | 'locale';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  customerId!: string;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  agentId: string | null = null;

  @Field(() => ID, { nullable: true, description: 'The department the topic routed to; null: any' })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  @Field(() => String, { nullable: true, description: 'The skill the topic asked for; null: any' })
  @Property({ type: 'text', nullable: true })
  skill: string | null = null;

  @Field()
  @Property({ type: 'text' })
  topic!: string;

  @Field(() => ConversationStatus)
  @Enum({ items: () => ConversationStatus, nativeEnumName: 'conversation_status' })
  status!: ConversationStatus;

  @Field(() => ServicePriority)
  @Enum({ items: () => ServicePriority, nativeEnumName: 'service_priority' })
  priority!: ServicePriority;

  @Property({ type: 'smallint' })
  priorityRank!: number;

  /** Place in line: when the request joined (or, for one handed back by an offline agent, its first arrival). */
  @Property({ type: 'timestamptz' })
  queuedAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  assignedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  endedAt: Date | null = null;

  @Field(() => EndReason, { nullable: true })
  @Property({ type: 'text', nullable: true })
  endReason: EndReason | null = null;

  @Field(() => Int, { description: 'The seq of the newest message' })
  @Property({ type: 'integer' })
  lastSeq: number = 0;

  @Property({ type: 'timestamptz', nullable: true })
  lastCustomerMessageAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  lastAgentMessageAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  idleWarnedAt: Date | null = null;

  /** The FAQ auto-answered with (exposed as `autoAnswer`). */
  @Property({ type: 'uuid', nullable: true })
  autoAnswerFaqId: string | null = null;

  @Property({ type: 'text', nullable: true })
  autoAnswerState: AutoAnswerState | null = null;

  /** The classifier's intent of the first message (a MessageIntent; records search filters on it, GraphQL: records/). */
  @Property({ type: 'text', nullable: true })
  intent: string | null = null;

  /** The language the customer asked for when it began (system messages: their stored locale first, else this). */
  @Property({ type: 'text', nullable: true })
  locale: string | null = null;
}

export function rankOf(priority: ServicePriority): number {
  return PRIORITY_RANK[priority];
}
