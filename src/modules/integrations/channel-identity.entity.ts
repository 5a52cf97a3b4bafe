import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';

@ObjectType({
  implements: Node,
  description: 'A customer as a channel knows them (a WeChat openid, an e-mail address, …) and the ShiftDesk customer they are',
})
@Entity({ tableName: 'channel_identities' })
export class ChannelIdentity {
  [OptionalProps]?: 'id' | 'createdAt' | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field()
  @Property({ type: 'text' })
  channel!: string;

  @Field()
  @Property({ type: 'text' })
  externalCustomerId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  customerId!: string;

  @Field()
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field()
  @Property({ type: 'timestamptz' })
  updatedAt: Date = new Date();
}
