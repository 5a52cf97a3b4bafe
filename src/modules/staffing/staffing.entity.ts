import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, Float, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { CreatedAtColumns } from '../../platform/db/shared-columns';
import { Node } from '../../platform/node';

@ObjectType({
  implements: Node,
  description: 'A manager’s correction of the forecast: its contacts × factor over [from, to)',
  simpleResolvers: true,
})
@Entity({ tableName: 'forecast_overrides' })
export class ForecastOverride extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'createdById' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  departmentId!: string;

  @Field({ description: 'First instant the factor applies to (an interval counts when its middle is in [from, to))' })
  @Property({ type: 'timestamptz' })
  startsAt!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  endsAt!: Date;

  @Field(() => Float, { description: 'Multiplies the forecast contacts (3: three times as many)' })
  @Property({ type: 'double' })
  factor!: number;

  @Field()
  @Property({ type: 'text' })
  reason!: string;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  createdById: string | null = null;
}
