import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

export enum ScheduleStatus {
  NORMAL = 'NORMAL',
  ON_LEAVE = 'ON_LEAVE',
  SWAPPED_OUT = 'SWAPPED_OUT',
}
registerEnumType(ScheduleStatus, { name: 'ScheduleStatus' });

@ObjectType({ implements: Node, description: 'One agent working one shift on one business date', simpleResolvers: true })
@Entity({ tableName: 'schedules' })
export class Schedule extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'status' | 'replacedById' | 'replacingId' | 'createdById' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  agentId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  shiftId!: string;

  @Field({ description: 'Business date YYYY-MM-DD on which the shift starts' })
  @Property({ type: 'date', columnType: 'date' })
  date!: string;

  @Field({ description: 'Fixed when the schedule is made; later edits of the shift do not move it' })
  @Property({ type: 'timestamptz' })
  startsAt!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  endsAt!: Date;

  @Field(() => ScheduleStatus)
  @Enum({ items: () => ScheduleStatus, nativeEnumName: 'schedule_status' })
  status: ScheduleStatus = ScheduleStatus.NORMAL;

  @Field(() => ID, { nullable: true, description: 'The schedule that took over this one in a swap' })
  @Property({ type: 'uuid', nullable: true })
  replacedById: string | null = null;

  @Field(() => ID, { nullable: true, description: 'The schedule this one took over in a swap' })
  @Property({ type: 'uuid', nullable: true })
  replacingId: string | null = null;

  @Property({ type: 'uuid', nullable: true })
  createdById: string | null = null;
}
