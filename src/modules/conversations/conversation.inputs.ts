import { IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../platform/pagination';
import { formatLimit } from '../../platform/text-input';
import { Conversation, ConversationStatus, MAX_TOPIC_LENGTH } from './conversation.entity';
import { MAX_CLIENT_MESSAGE_ID_LENGTH, MAX_MESSAGE_LENGTH, Message } from './message.entity';
import { ServicePriority } from './queue-policy';
import { QueueReason, WaitEstimateBasis } from './queue-reason';
import { ServiceRequestStatus } from './routing.service';

registerEnumType(ServiceRequestStatus, {
  name: 'ServiceRequestStatus',
  valuesConfig: {
    ASSIGNED: { description: 'An agent has the conversation' },
    QUEUED: { description: 'Waiting; see position and estimatedWaitSeconds, and subscribe to queueUpdates' },
    NO_CAPACITY: { description: 'The queue is full (QUEUE_MAX_LENGTH); nothing was stored' },
  },
});

@InputType()
export class RequestServiceInput {
  @Field({
    description: `What it is about: a department (code or name), a skill, or anything else (any agent); 1 to ${MAX_TOPIC_LENGTH} characters`,
  })
  @MaxLength(MAX_TOPIC_LENGTH)
  topic!: string;

  @Field({ description: 'The first message; its keywords may raise the priority' })
  message!: string;

  @Field(() => ServicePriority, { nullable: true, description: 'Default NORMAL' })
  @IsOptional()
  priority?: ServicePriority | null;
}

@ObjectType()
export class ServiceRequest {
  @Field(() => ServiceRequestStatus)
  status!: ServiceRequestStatus;

  @Field(() => Conversation, { nullable: true })
  conversation!: Conversation | null;

  @Field(() => Int, { nullable: true, description: 'For QUEUED: 1 is next' })
  position!: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'For QUEUED: position × recent handling time ÷ capacity of the eligible agents; null when none is available',
  })
  estimatedWaitSeconds!: number | null;

  @Field(() => ServicePriority)
  priority!: ServicePriority;

  @Field(() => QueueReason, { nullable: true, description: 'For QUEUED: why nobody took it at once' })
  queueReason!: QueueReason | null;

  @Field(() => WaitEstimateBasis, { nullable: true, description: 'For QUEUED: what estimatedWaitSeconds was computed from' })
  estimateBasis!: WaitEstimateBasis | null;
}

@ObjectType()
export class QueueEntry {
  @Field(() => Conversation)
  conversation!: Conversation;

  @Field(() => Int)
  position!: number;

  @Field(() => Int)
  waitedSeconds!: number;

  @Field(() => ServicePriority, { description: 'After ageing' })
  effectivePriority!: ServicePriority;

  @Field(() => Int, { nullable: true })
  estimatedWaitSeconds!: number | null;
}

@InputType()
export class SendMessageInput {
  @Field(() => ID)
  conversationId!: string;

  @Field({ description: `1 to ${formatLimit(MAX_MESSAGE_LENGTH)} characters` })
  content!: string;

  @Field({
    description: `Chosen by the client (1 to ${MAX_CLIENT_MESSAGE_ID_LENGTH} characters); sending it again returns the same message and stores nothing`,
  })
  clientMessageId!: string;
}

@ObjectType({ description: 'A Relay connection (a cursor is the message’s seq: pass it as afterSeq) with the older fields kept' })
export class MessagePage extends Connection(Message) {
  @Field(() => [Message])
  messages!: Message[];

  @Field()
  hasMore!: boolean;

  @Field(() => Int, { description: 'The newest seq of the conversation' })
  lastSeq!: number;
}

@InputType()
export class ConversationFilterInput {
  @Field(() => ConversationStatus, { nullable: true })
  status?: ConversationStatus;

  @Field(() => ID, { nullable: true })
  agentId?: string;

  @Field(() => ID, { nullable: true })
  customerId?: string;

  @Field(() => ID, { nullable: true })
  departmentId?: string;

  @Field({ nullable: true })
  from?: Date;

  @Field({ nullable: true, description: 'Exclusive' })
  to?: Date;
}

@ObjectType()
export class ConversationConnection extends Connection(Conversation) {}
