import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { TimestampColumns } from '../../platform/db/shared-columns';
import { Node } from '../../platform/node';

export enum FaqPhrasingStatus {
  SUGGESTED = 'SUGGESTED',
  ACCEPTED = 'ACCEPTED',
  REJECTED = 'REJECTED',
}
registerEnumType(FaqPhrasingStatus, {
  name: 'FaqPhrasingStatus',
  valuesConfig: {
    SUGGESTED: { description: 'Learnt from service; waits for a manager to accept or reject it' },
    ACCEPTED: { description: 'Searched like the FAQ’s question' },
    REJECTED: { description: 'Not searched; the same text is not suggested again' },
  },
});

export enum FaqPhrasingSource {
  MANUAL = 'MANUAL',
  AGENT_ANSWER = 'AGENT_ANSWER',
  AUTO_ANSWER_HELPFUL = 'AUTO_ANSWER_HELPFUL',
}
registerEnumType(FaqPhrasingSource, {
  name: 'FaqPhrasingSource',
  valuesConfig: {
    MANUAL: { description: 'Written by a manager or an admin' },
    AGENT_ANSWER: {
      description:
        'A customer’s question an agent answered with the FAQ (sendFaq, or a quick reply linked to it) in a conversation that ended well',
    },
    AUTO_ANSWER_HELPFUL: { description: 'A customer’s question the FAQ auto-answered, and the customer said it helped' },
  },
});

@ObjectType({ implements: Node, description: 'An alternative phrasing (相似问法) of an FAQ: accepted ones are searched like its question' })
@Entity({ tableName: 'faq_phrasings' })
export class FaqPhrasing extends TimestampColumns {
  [OptionalProps]?: 'id' | 'timesSeen' | 'createdById' | 'decidedById' | 'decidedAt' | 'createdAt' | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  faqId!: string;

  @Field()
  @Property({ type: 'text' })
  text!: string;

  /** The text as pg_trgm compares it (TextAnalyzer.matchText). */
  @Property({ type: 'text' })
  matchText!: string;

  @Field(() => FaqPhrasingStatus)
  @Enum({ items: () => FaqPhrasingStatus, nativeEnumName: 'faq_phrasing_status' })
  status!: FaqPhrasingStatus;

  @Field(() => FaqPhrasingSource)
  @Enum({ items: () => FaqPhrasingSource, nativeEnumName: 'faq_phrasing_source' })
  source!: FaqPhrasingSource;

  @Field(() => Int, { description: 'How often service suggested this text for this FAQ' })
  @Property({ type: 'integer' })
  timesSeen: number = 1;

  @Field(() => ID, { nullable: true, description: 'Who wrote it (MANUAL)' })
  @Property({ type: 'uuid', nullable: true })
  createdById: string | null = null;

  @Field(() => ID, { nullable: true, description: 'Who accepted or rejected the suggestion' })
  @Property({ type: 'uuid', nullable: true })
  decidedById: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  decidedAt: Date | null = null;
}
