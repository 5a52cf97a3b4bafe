import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import type { DayHalf } from './leave.period';
import { PiiType } from '../records/pii-type';
import { Node } from '../../platform/node';
import { DecisionColumns } from '../../platform/db/shared-columns';

export enum LeaveType {
  PERSONAL = 'PERSONAL',
  SICK = 'SICK',
  ANNUAL = 'ANNUAL',
  COMPENSATORY = 'COMPENSATORY',
  OTHER = 'OTHER',
}
registerEnumType(LeaveType, { name: 'LeaveType' });

export enum LeaveStatus {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(LeaveStatus, { name: 'LeaveStatus' });

export enum DayHalfValue {
  AM = 'AM',
  PM = 'PM',
}
registerEnumType(DayHalfValue, {
  name: 'DayHalf',
  valuesConfig: { AM: { description: '00:00–12:00' }, PM: { description: '12:00–24:00' } },
});

@ObjectType({ implements: Node, description: 'A request for leave, from a half-day to a half-day (both included)' })
@Entity({ tableName: 'leave_requests' })
export class LeaveRequest extends DecisionColumns {
  [OptionalProps]?:
    | 'id'
    | 'reason'
    | 'attachmentIds'
    | 'status'
    | 'decidedById'
    | 'decidedAt'
    | 'decisionComment'
    | 'createdAt'
    | 'updatedAt'
    | 'piiTypes'
    | 'sealed';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  requesterId!: string;

  @Field(() => ID, { nullable: true, description: "The requester's department when they asked" })
  @Property({ type: 'uuid', nullable: true })
  departmentId!: string | null;

  @Field(() => LeaveType)
  @Enum({ items: () => LeaveType, nativeEnumName: 'leave_type' })
  type!: LeaveType;

  @Field()
  @Property({ type: 'date', columnType: 'date' })
  startDate!: string;

  @Field(() => DayHalfValue)
  @Enum({ items: () => DayHalfValue, nativeEnumName: 'day_half' })
  startHalf!: DayHalf;

  @Field()
  @Property({ type: 'date', columnType: 'date' })
  endDate!: string;

  @Field(() => DayHalfValue)
  @Enum({ items: () => DayHalfValue, nativeEnumName: 'day_half' })
  endHalf!: DayHalf;

  @Field()
  @Property({ type: 'timestamptz' })
  startsAt!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  endsAt!: Date;

  @Field(() => Float, { description: 'Length in days; halves count 0.5' })
  @Property({ type: 'float', columnType: 'numeric(6,1)' })
  days!: number;

  @Field()
  @Property({ type: 'text' })
  reason: string = '';

  /**
   * The kinds of personal data in the reason, found on every write (records/pii-tagger.ts); null only for a row
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

  @Field(() => [ID])
  @Property({ type: 'uuid[]', columnType: 'uuid[]' })
  attachmentIds: string[] = [];

  @Field(() => LeaveStatus)
  @Enum({ items: () => LeaveStatus, nativeEnumName: 'leave_status' })
  status: LeaveStatus = LeaveStatus.PENDING;
}
