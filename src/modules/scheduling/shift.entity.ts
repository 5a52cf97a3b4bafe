import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { isOvernight, shiftMinutes } from '../../platform/clock';
import { Node } from '../../platform/node';
import { TimestampColumns } from '../../platform/db/shared-columns';

@ObjectType({
  implements: Node,
  description: 'A kind of shift (早班 09:00–18:00, 夜班 22:00–06:00, ...), in business time',
  simpleResolvers: true,
})
@Entity({ tableName: 'shifts' })
export class Shift extends TimestampColumns {
  [OptionalProps]?:
    'id' | 'departmentId' | 'requiredSkills' | 'color' | 'archived' | 'createdAt' | 'updatedAt' | 'overnight' | 'durationMinutes';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field()
  @Property({ type: 'text' })
  name!: string;

  @Field({ description: 'Unique short code, e.g. EARLY' })
  @Property({ type: 'text' })
  code!: string;

  @Field({ description: '"HH:mm" in the business time zone' })
  @Property({ type: 'text' })
  startTime!: string;

  @Field({ description: '"HH:mm"; not after startTime means the next day' })
  @Property({ type: 'text' })
  endTime!: string;

  @Field(() => ID, { nullable: true, description: 'Null: usable by every department' })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  @Field(() => [String], { description: 'Skills an agent needs to work this shift' })
  @Property({ type: 'text[]' })
  requiredSkills: string[] = [];

  @Field({ description: 'Display colour, #RRGGBB' })
  @Property({ type: 'text' })
  color: string = '#4A90D9';

  @Field()
  @Property({ type: 'boolean' })
  archived: boolean = false;

  @Field({ description: 'Ends the day after it starts' })
  get overnight(): boolean {
    return isOvernight(this.startTime, this.endTime);
  }

  @Field(() => Int)
  get durationMinutes(): number {
    return shiftMinutes(this.startTime, this.endTime);
  }
}
