import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';
import { TimestampColumns } from '../../platform/db/shared-columns';

/** Whose shelf a quick reply is on. The order is the order lists show them in. */
export enum QuickReplyScope {
  PERSONAL = 'PERSONAL',
  DEPARTMENT = 'DEPARTMENT',
  PUBLIC = 'PUBLIC',
}
registerEnumType(QuickReplyScope, {
  name: 'QuickReplyScope',
  valuesConfig: {
    PERSONAL: { description: "The owner's own; nobody else sees it" },
    DEPARTMENT: { description: "A department's: its members use it, its manager (or an admin) keeps it" },
    PUBLIC: { description: 'Everybody’s: admins keep it' },
  },
});

export const DEFAULT_QUICK_REPLY_CATEGORY = '通用';

@ObjectType({
  implements: Node,
  description: 'A canned answer an agent sends into a chat; {customerName} and {agentName} are filled in when sent',
})
@Entity({ tableName: 'quick_replies' })
export class QuickReply extends TimestampColumns {
  [OptionalProps]?: 'id' | 'departmentId' | 'category' | 'shortcut' | 'faqId' | 'createdAt' | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID, { description: 'Who created it' })
  @Property({ type: 'uuid' })
  ownerId!: string;

  @Field(() => ID, { nullable: true, description: 'Set exactly for DEPARTMENT replies' })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  @Field(() => QuickReplyScope)
  @Enum({ items: () => QuickReplyScope, nativeEnumName: 'quick_reply_scope' })
  scope!: QuickReplyScope;

  @Field()
  @Property({ type: 'text' })
  title!: string;

  @Field({ description: 'The text sent; may contain {customerName} and {agentName}' })
  @Property({ type: 'text' })
  content!: string;

  @Field()
  @Property({ type: 'text' })
  category: string = DEFAULT_QUICK_REPLY_CATEGORY;

  @Field(() => String, { nullable: true, description: 'Typed in the chat box to pick it, e.g. /refund' })
  @Property({ type: 'text', nullable: true })
  shortcut: string | null = null;

  @Field(() => ID, {
    nullable: true,
    description: 'The FAQ this reply answers with: sending it counts as answering with that FAQ (learning from service)',
  })
  @Property({ type: 'uuid', nullable: true })
  faqId: string | null = null;
}
