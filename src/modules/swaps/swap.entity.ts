import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';
import { DecisionColumns } from '../../platform/db/shared-columns';

export enum SwapStatus {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(SwapStatus, { name: 'SwapStatus' });

@ObjectType({
  implements: Node,
  description: 'A hand-over (one step), a swap (two) or a chain (A→B→C→A, up to ten), applied all at once on approval',
})
@Entity({ tableName: 'swap_requests' })
export class SwapRequest extends DecisionColumns {
  [OptionalProps]?: 'id' | 'status' | 'reason' | 'decidedById' | 'decidedAt' | 'decisionComment' | 'createdAt' | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  requesterId!: string;

  @Field(() => SwapStatus)
  @Enum({ items: () => SwapStatus, nativeEnumName: 'swap_status' })
  status: SwapStatus = SwapStatus.PENDING;

  @Field()
  @Property({ type: 'text' })
  reason: string = '';

  /** Everyone who gives or receives a schedule (for scope checks and "my swaps"). */
  @Field(() => [ID])
  @Property({ type: 'uuid[]', columnType: 'uuid[]' })
  participantIds!: string[];

  @Property({ type: 'uuid[]', columnType: 'uuid[]' })
  departmentIds!: string[];
}

@ObjectType({ implements: Node, description: 'One schedule handed from its owner to another agent' })
@Entity({ tableName: 'swap_steps' })
export class SwapStep {
  [OptionalProps]?: 'id' | 'newScheduleId' | 'requestStatus';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  swapRequestId!: string;

  @Field(() => Int)
  @Property({ type: 'smallint' })
  position!: number;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  scheduleId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  fromAgentId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  toAgentId!: string;

  @Field(() => ID, { nullable: true, description: "The receiver's schedule, once approved" })
  @Property({ type: 'uuid', nullable: true })
  newScheduleId: string | null = null;

  /** A copy of the request's status, so the database can allow one pending swap per schedule. */
  @Enum({ items: () => SwapStatus, nativeEnumName: 'swap_status' })
  requestStatus: SwapStatus = SwapStatus.PENDING;
}
