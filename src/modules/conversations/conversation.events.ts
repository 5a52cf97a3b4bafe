import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Role } from '../../platform/auth/roles';
import { ConversationStatus, EndReason } from './conversation.entity';
import { Message, MessageKind } from './message.entity';
import { ServicePriority } from './queue-policy';
import type { PiiType } from '../records/pii-type';

// The event types below are plain data delivered to every subscriber of every event: `simpleResolvers`
// spares each of their fields type-graphql's middleware wrapper (they have no field-level rules).

/** A message as it travels over pub/sub (JSON, dates as ISO strings). */
export interface MessagePayload {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string | null;
  senderRole: Role | null;
  kind: MessageKind;
  content: string;
  clientMessageId: string | null;
  createdAt: string;
  deliveredAt: string | null;
  readAt: string | null;
  /** Found from the original: the masked content no longer shows it. */
  piiTypes?: PiiType[] | null;
}

export function toMessagePayload(m: Message): MessagePayload {
  return {
    id: m.id,
    conversationId: m.conversationId,
    seq: m.seq,
    senderId: m.senderId,
    senderRole: m.senderRole,
    kind: m.kind,
    content: m.content,
    clientMessageId: m.clientMessageId,
    createdAt: m.createdAt.toISOString(),
    deliveredAt: m.deliveredAt?.toISOString() ?? null,
    readAt: m.readAt?.toISOString() ?? null,
    piiTypes: m.piiTypes,
  };
}

/** A Message for output; `instanceof Message` without running the ORM's setters (see outputSchedule). */
export function messageFromPayload(p: MessagePayload): Message {
  return Object.setPrototypeOf(
    {
      ...p,
      createdAt: new Date(p.createdAt),
      deliveredAt: p.deliveredAt ? new Date(p.deliveredAt) : null,
      readAt: p.readAt ? new Date(p.readAt) : null,
    },
    Message.prototype,
  ) as Message;
}

export enum ConversationEventType {
  MESSAGE = 'MESSAGE',
  TYPING = 'TYPING',
  RECEIPT = 'RECEIPT',
  STATUS = 'STATUS',
}
registerEnumType(ConversationEventType, { name: 'ConversationEventType' });

export enum StatusChange {
  ASSIGNED = 'ASSIGNED',
  TRANSFERRED = 'TRANSFERRED',
  IDLE_WARNING = 'IDLE_WARNING',
  REQUEUED = 'REQUEUED',
  ENDED = 'ENDED',
}
registerEnumType(StatusChange, { name: 'StatusChange' });

export enum ReceiptKind {
  DELIVERED = 'DELIVERED',
  READ = 'READ',
}
registerEnumType(ReceiptKind, { name: 'ReceiptKind' });

@ObjectType({ simpleResolvers: true })
export class TypingEvent {
  @Field(() => ID)
  userId!: string;

  @Field(() => Role)
  role!: Role;

  @Field()
  typing!: boolean;
}

@ObjectType({ description: 'Messages of the other side up to upToSeq are now delivered (or read)', simpleResolvers: true })
export class Receipt {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => ID)
  byUserId!: string;

  @Field(() => ReceiptKind)
  kind!: ReceiptKind;

  @Field(() => Int)
  upToSeq!: number;

  @Field(() => Int, { description: 'How many messages changed status' })
  updated!: number;

  @Field()
  at!: Date;
}

@ObjectType({ simpleResolvers: true })
export class StatusEvent {
  @Field(() => StatusChange)
  change!: StatusChange;

  @Field(() => ConversationStatus)
  status!: ConversationStatus;

  @Field(() => ID, { nullable: true })
  agentId!: string | null;

  @Field(() => EndReason, { nullable: true })
  endReason!: EndReason | null;
}

@ObjectType({
  description: 'One thing that happened in a conversation; exactly one of message, typing, receipt, status is set',
  simpleResolvers: true,
})
export class ConversationEvent {
  @Field(() => ConversationEventType)
  type!: ConversationEventType;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => Message, { nullable: true })
  message?: Message | null;

  @Field(() => TypingEvent, { nullable: true })
  typing?: TypingEvent | null;

  @Field(() => Receipt, { nullable: true })
  receipt?: Receipt | null;

  @Field(() => StatusEvent, { nullable: true })
  status?: StatusEvent | null;

  @Field()
  at!: Date;
}

/** JSON form of a ConversationEvent on the CONVERSATION topic. */
export interface ConversationEventPayload {
  type: ConversationEventType;
  conversationId: string;
  message?: MessagePayload;
  typing?: TypingEvent;
  receipt?: Omit<Receipt, 'at'> & { at: string };
  status?: StatusEvent;
  at: string;
}

export function conversationEventFromPayload(p: ConversationEventPayload): ConversationEvent {
  return {
    type: p.type,
    conversationId: p.conversationId,
    message: p.message ? messageFromPayload(p.message) : null,
    typing: p.typing ?? null,
    receipt: p.receipt ? { ...p.receipt, at: new Date(p.receipt.at) } : null,
    status: p.status ?? null,
    at: new Date(p.at),
  };
}

export enum InboxEventType {
  ASSIGNED = 'ASSIGNED',
  TRANSFERRED_IN = 'TRANSFERRED_IN',
  TRANSFERRED_OUT = 'TRANSFERRED_OUT',
  ENDED = 'ENDED',
  REQUEUED = 'REQUEUED',
  MESSAGE = 'MESSAGE',
}
registerEnumType(InboxEventType, { name: 'InboxEventType' });

@ObjectType({ description: 'What an agent’s workspace needs to know, on one subscription', simpleResolvers: true })
export class InboxEvent {
  @Field(() => InboxEventType)
  type!: InboxEventType;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => Message, { nullable: true, description: 'For MESSAGE' })
  message?: Message | null;

  @Field()
  at!: Date;
}

export interface InboxEventPayload {
  type: InboxEventType;
  conversationId: string;
  message?: MessagePayload;
  at: string;
}

export enum QueueUpdateStatus {
  QUEUED = 'QUEUED',
  ASSIGNED = 'ASSIGNED',
  LEFT = 'LEFT',
  ENDED = 'ENDED',
}
registerEnumType(QueueUpdateStatus, { name: 'QueueUpdateStatus' });

@ObjectType({ description: 'A waiting customer’s place in line, and finally their assignment', simpleResolvers: true })
export class QueueUpdate {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => QueueUpdateStatus)
  status!: QueueUpdateStatus;

  @Field(() => Int, { nullable: true, description: '1 is next' })
  position!: number | null;

  @Field(() => Int, { nullable: true, description: 'Null when no agent who could serve is available now' })
  estimatedWaitSeconds!: number | null;

  @Field(() => ServicePriority)
  priority!: ServicePriority;

  @Field(() => ID, { nullable: true, description: 'For ASSIGNED' })
  agentId!: string | null;

  @Field()
  at!: Date;
}

export type QueueUpdatePayload = Omit<QueueUpdate, 'at'> & { at: string };

/**
 * Two queueUpdates that tell a customer the same place in line (only `at` differs): the second is not sent (see
 * startingWith). Only QUEUED places repeat (the snapshot, then a refresh that changed nothing for them); every
 * other update is an event of its own, announced once: an assignment to the same agent as the last one follows a
 * requeue whose place the coalesced refresh may never have sent, and it must not be taken for a repeat.
 */
export function sameQueueState(a: QueueUpdatePayload, b: QueueUpdatePayload): boolean {
  return (
    a.status === QueueUpdateStatus.QUEUED &&
    a.conversationId === b.conversationId &&
    a.status === b.status &&
    a.position === b.position &&
    a.estimatedWaitSeconds === b.estimatedWaitSeconds &&
    a.priority === b.priority &&
    a.agentId === b.agentId
  );
}

@ObjectType({ description: 'A department’s queue changed; supervisors re-read queue(departmentId)', simpleResolvers: true })
export class QueueChange {
  @Field(() => ID, { nullable: true, description: 'Null: requests routed to no particular department' })
  departmentId!: string | null;

  @Field(() => Int)
  length!: number;

  @Field()
  at!: Date;
}

export type QueueChangePayload = Omit<QueueChange, 'at'> & { at: string };
