import { randomUUID } from 'node:crypto';
import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MessageRef, render } from '../../platform/i18n/catalogue';
import { Node } from '../../platform/node';

@ObjectType({ implements: Node, description: 'A receiver of signed event deliveries (see docs/integrations.md)' })
@Entity({ tableName: 'webhooks' })
export class Webhook {
  [OptionalProps]?:
    | 'id'
    | 'departmentId'
    | 'createdById'
    | 'enabled'
    | 'disabledReason'
    | 'disabledReasonMessage'
    | 'failingSince'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field()
  @Property({ type: 'text' })
  url!: string;

  @Field(() => [String], { description: 'Event types, e.g. conversation.created, message.created, ticket.status_changed' })
  @Property({ type: 'text[]' })
  events!: string[];

  @Field(() => ID, { nullable: true, description: "Only this department's events; null: every department (admins only)" })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  /** The signing secret, AES-256-GCM under the webhook's own data key; never returned after creation. */
  @Property({ type: 'blob', hidden: true, lazy: true })
  secretSealed!: Buffer;

  @Field(() => ID, { nullable: true, description: 'Who created it: told when it is disabled' })
  @Property({ type: 'uuid', nullable: true })
  createdById: string | null = null;

  @Field({ description: 'False once disabled (by hand, or after failing for WEBHOOK_DISABLE_AFTER_SECONDS)' })
  @Property({ type: 'boolean' })
  enabled: boolean = true;

  /** In English; the `disabledReason` field renders `disabledReasonMessage` in the reader's language when it is set. */
  @Field(() => String, { nullable: true, description: 'Why it was disabled, in the reader’s language' })
  @Property({ type: 'text', nullable: true })
  disabledReason: string | null = null;

  /** The catalogue's message id and parameters of `disabledReason` (null for older rows: shown as written). */
  @Property({ type: 'json', nullable: true })
  disabledReasonMessage: MessageRef | null = null;

  @Field(() => Date, { nullable: true, description: 'Since when every attempt has failed; null after a success' })
  @Property({ type: 'timestamptz', nullable: true })
  failingSince: Date | null = null;

  @Field()
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field()
  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}

/** Why a webhook is disabled: the message for readers, and its English for SQL readers and older clients' logs. */
export function disabledReason(ref: MessageRef): Pick<Webhook, 'disabledReason' | 'disabledReasonMessage'> {
  return { disabledReason: render(ref, 'en'), disabledReasonMessage: ref };
}

export enum WebhookDeliveryStatus {
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
}
registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description: 'PENDING (waiting its turn or retrying) → DELIVERED (a 2xx answer) or FAILED (attempts used up, or the webhook disabled)',
});

@ObjectType({ implements: Node, description: 'One event sent (or being sent) to one webhook: the latest attempt and how many were made' })
@Entity({ tableName: 'webhook_deliveries' })
export class WebhookDelivery {
  [OptionalProps]?:
    | 'id'
    | 'redeliveryOfId'
    | 'status'
    | 'claimedBy'
    | 'attempts'
    | 'responseStatus'
    | 'durationMs'
    | 'error'
    | 'createdAt'
    | 'lastAttemptAt'
    | 'finishedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  webhookId!: string;

  @Field(() => ID, { description: 'The event id, as sent in X-ShiftDesk-Event-Id: the same on every attempt and redelivery' })
  @Property({ type: 'uuid' })
  eventId!: string;

  @Field()
  @Property({ type: 'text' })
  eventType!: string;

  /** The object whose events are delivered in order (a message's lane is its conversation). */
  @Property({ type: 'uuid' })
  laneId!: string;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  redeliveryOfId: string | null = null;

  @Field(() => WebhookDeliveryStatus)
  @Enum({ items: () => WebhookDeliveryStatus, nativeEnumName: 'webhook_delivery_status' })
  status: WebhookDeliveryStatus = WebhookDeliveryStatus.PENDING;

  /** The job that owns the sending, so two jobs never send the same delivery at once. */
  @Property({ type: 'text', nullable: true })
  claimedBy: string | null = null;

  @Field(() => Int)
  @Property({ type: 'integer' })
  attempts: number = 0;

  @Field(() => Int, { nullable: true, description: 'HTTP status of the latest attempt; null when none answered' })
  @Property({ type: 'integer', nullable: true })
  responseStatus: number | null = null;

  @Field(() => Int, { nullable: true, description: 'How long the latest attempt took' })
  @Property({ type: 'integer', nullable: true })
  durationMs: number | null = null;

  @Field(() => String, { nullable: true, description: 'Why the latest attempt failed' })
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Field()
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  lastAttemptAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'When it was delivered or given up' })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;
}
