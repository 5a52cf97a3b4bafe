import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { CreatedAtColumns } from '../../platform/db/shared-columns';
import { Node } from '../../platform/node';

@ObjectType({ implements: Node, description: 'A file uploaded through POST /uploads (leave attachments)' })
@Entity({ tableName: 'uploads' })
export class Upload extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'createdAt' | 'url';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  ownerId!: string;

  @Field()
  @Property({ type: 'text' })
  name!: string;

  @Field(() => Int, { description: 'Bytes' })
  @Property({ type: 'integer' })
  size!: number;

  @Field()
  @Property({ type: 'text' })
  contentType!: string;

  @Field({ description: 'GET it with the bearer token of someone allowed to see it' })
  get url(): string {
    return `/uploads/${this.id}`;
  }
}
