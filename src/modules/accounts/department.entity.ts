import { Entity, PrimaryKey, Property, OptionalProps } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

@ObjectType({ implements: Node, description: 'A team of the service desk (sales, technical support, after-sales, ...)' })
@Entity({ tableName: 'departments' })
export class Department extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'description' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field({ description: 'Display name, e.g. 技术支持' })
  @Property({ type: 'text' })
  name!: string;

  @Field({ description: 'Stable machine code, e.g. technical; unique' })
  @Property({ type: 'text' })
  code!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description: string | null = null;
}
