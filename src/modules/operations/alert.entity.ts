import { randomUUID } from 'node:crypto';
import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CreatedAtColumns } from '../../platform/db/shared-columns';
import type { MessageRef } from '../../platform/i18n/catalogue';
import { Node } from '../../platform/node';

export enum AlertStatus {
  OPEN = 'OPEN',
  ACKNOWLEDGED = 'ACKNOWLEDGED',
  RESOLVED = 'RESOLVED',
}
registerEnumType(AlertStatus, {
  name: 'AlertStatus',
  description: 'OPEN → ACKNOWLEDGED (someone is on it) → RESOLVED (clear long enough); OPEN → RESOLVED',
});

@ObjectType({ implements: Node, description: 'One episode of an alert rule breaking in a department (or the whole cluster)' })
@Entity({ tableName: 'alerts' })
export class Alert {
  [OptionalProps]?:
    | 'id'
    | 'status'
    | 'summaryMessage'
    | 'openedAt'
    | 'lastValue'
    | 'acknowledgedAt'
    | 'acknowledgedById'
    | 'acknowledgeComment'
    | 'resolvedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field({ description: 'The rule name in ALERT_RULES_FILE' })
  @Property({ type: 'text' })
  rule!: string;

  @Field()
  @Property({ type: 'text' })
  metric!: string;

  @Field(() => ID, { nullable: true, description: 'null: a cluster-wide rule (error rate)' })
  @Property({ type: 'uuid', nullable: true })
  departmentId!: string | null;

  @Field({ description: 'info, warning or critical' })
  @Property({ type: 'text' })
  severity!: string;

  @Field(() => AlertStatus)
  @Enum({ items: () => AlertStatus, nativeEnumName: 'alert_status' })
  status: AlertStatus = AlertStatus.OPEN;

  /** Rendered in ALERT_LOCALE; the `summary` field renders `summaryMessage` in the reader's language when it is set. */
  @Field({ description: 'The rule, metric, value and place, in the reader’s language' })
  @Property({ type: 'text' })
  summary!: string;

  /** The catalogue's message id and parameters of the summary (null for alerts raised before it was kept). */
  @Property({ type: 'json', nullable: true })
  summaryMessage: MessageRef | null = null;

  @Field(() => Float)
  @Property({ type: 'double' })
  threshold!: number;

  @Field(() => Float, { description: 'The value when the alert opened' })
  @Property({ type: 'double' })
  value!: number;

  @Field(() => Float, { nullable: true, description: 'The value at the latest evaluation' })
  @Property({ type: 'double', nullable: true })
  lastValue: number | null = null;

  @Field()
  @Property({ type: 'timestamptz' })
  openedAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  acknowledgedAt: Date | null = null;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  acknowledgedById: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  acknowledgeComment: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  resolvedAt: Date | null = null;
}

@ObjectType({ implements: Node, description: 'One attempt to deliver an alert to a webhook' })
@Entity({ tableName: 'alert_deliveries' })
export class AlertDelivery extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'createdAt' | 'responseStatus' | 'error';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  alertId!: string;

  @Field({ description: 'The webhook name in ALERT_RULES_FILE' })
  @Property({ type: 'text' })
  webhook!: string;

  @Field({ description: 'generic, dingtalk or wecom' })
  @Property({ type: 'text' })
  kind!: string;

  @Field(() => Int, { description: '1 for the first attempt' })
  @Property({ type: 'integer' })
  attempt!: number;

  @Field({ description: 'DELIVERED or FAILED' })
  @Property({ type: 'text' })
  outcome!: string;

  @Field(() => Int, { nullable: true, description: "The receiver's HTTP status, when it answered" })
  @Property({ type: 'integer', nullable: true })
  responseStatus: number | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  error: string | null = null;
}
