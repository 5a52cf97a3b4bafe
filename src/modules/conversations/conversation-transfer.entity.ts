import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

/**
 * One hand-over of a conversation from one agent to another: by its agent or a supervisor
 * (`transferConversation`), or by the system when the agent stayed offline past the grace period
 * (`byId` null). A conversation handed back to the queue has a row with `toAgentId` null.
 */
@ObjectType({
  implements: Node,
  description: 'One hand-over of a conversation: who had it, who got it (null: back to the queue), who moved it (null: the system)',
  simpleResolvers: true,
})
@Entity({ tableName: 'conversation_transfers' })
export class ConversationTransfer extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'fromAgentId' | 'toAgentId' | 'byId' | 'note' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  conversationId!: string;

  @Property({ type: 'uuid', nullable: true })
  fromAgentId: string | null = null;

  @Property({ type: 'uuid', nullable: true })
  toAgentId: string | null = null;

  @Property({ type: 'uuid', nullable: true })
  byId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  note: string | null = null;
}
