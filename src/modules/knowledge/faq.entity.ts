import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Node } from '../../platform/node';
import { TimestampColumns } from '../../platform/db/shared-columns';

export enum FaqStatus {
  DRAFT = 'DRAFT',
  PUBLISHED = 'PUBLISHED',
  ARCHIVED = 'ARCHIVED',
}
registerEnumType(FaqStatus, {
  name: 'FaqStatus',
  valuesConfig: {
    DRAFT: { description: 'Being written: only its keepers see it' },
    PUBLISHED: { description: 'Everyone signed in reads and searches it' },
    ARCHIVED: { description: 'Withdrawn: only its keepers see it; may be published again' },
  },
});

/** Who keeps an FAQ. Once published, every FAQ is read by everyone; the scope only says who edits it. */
export enum FaqScope {
  PUBLIC = 'PUBLIC',
  DEPARTMENT = 'DEPARTMENT',
}
registerEnumType(FaqScope, {
  name: 'FaqScope',
  valuesConfig: {
    PUBLIC: { description: 'The whole desk’s: admins keep it' },
    DEPARTMENT: { description: "A department's: its managers (and admins) keep it" },
  },
});

@ObjectType({ implements: Node, description: 'A frequently asked question and its answer' })
@Entity({ tableName: 'faqs' })
export class Faq extends TimestampColumns {
  [OptionalProps]?:
    | 'id'
    | 'departmentId'
    | 'tags'
    | 'status'
    | 'titleTerms'
    | 'bodyTerms'
    | 'analyzer'
    | 'matchText'
    | 'phrasingTerms'
    | 'revision'
    | 'useCount'
    | 'helpfulCount'
    | 'notHelpfulCount'
    | 'publishedAt'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => FaqScope)
  @Enum({ items: () => FaqScope, nativeEnumName: 'faq_scope' })
  scope!: FaqScope;

  @Field(() => ID, { nullable: true, description: 'Set exactly for DEPARTMENT FAQs' })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  @Field()
  @Property({ type: 'text' })
  question!: string;

  @Field()
  @Property({ type: 'text' })
  answer!: string;

  @Field({ description: 'One of the configured categories (faqCategories)' })
  @Property({ type: 'text' })
  category!: string;

  @Field(() => [String])
  @Property({ type: 'text[]', columnType: 'text[]' })
  tags: string[] = [];

  @Field(() => FaqStatus)
  @Enum({ items: () => FaqStatus, nativeEnumName: 'faq_status' })
  status: FaqStatus = FaqStatus.DRAFT;

  /** Index terms of the question and tags (segmented words, synonyms, CJK bigrams); see segmenter.ts. */
  @Property({ type: 'text[]', columnType: 'text[]', lazy: true })
  titleTerms: string[] = [];

  /** Index terms of the answer. */
  @Property({ type: 'text[]', columnType: 'text[]', lazy: true })
  bodyTerms: string[] = [];

  /** The question as pg_trgm compares it (TextAnalyzer.matchText), for the character path of search. */
  @Property({ type: 'text', lazy: true })
  matchText: string = '';

  /** Index terms of each accepted phrasing (faq_phrasings), searched like the question. */
  @Property({ type: 'json', lazy: true })
  phrasingTerms: string[][] = [];

  /** The analysis that made the terms (TextAnalyzer.id); others are re-analysed when the index loads. */
  @Property({ type: 'text', lazy: true })
  analyzer: string = '';

  /** The knowledge index version of the last change (knowledge_index_state); searches catch up by it. */
  @Property({ type: 'bigint', lazy: true })
  revision: string = '0';

  @Field(() => Int, { description: 'How often it answered someone (auto-answers)' })
  @Property({ type: 'integer' })
  useCount: number = 0;

  @Field(() => Int)
  @Property({ type: 'integer' })
  helpfulCount: number = 0;

  @Field(() => Int)
  @Property({ type: 'integer' })
  notHelpfulCount: number = 0;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  createdById!: string;

  @Field(() => Date, { nullable: true, description: 'When it was last published' })
  @Property({ type: 'timestamptz', nullable: true })
  publishedAt: Date | null = null;
}

@ObjectType({ description: 'A search result: the FAQ and how well it answers the query' })
export class FaqHit {
  @Field(() => Faq)
  faq!: Faq;

  @Field(() => Float, { description: '0–1, higher is better; hits come best first' })
  score!: number;

  @Field(() => [String], { description: 'Query terms the FAQ holds (words and two-character pieces), for highlighting' })
  matchedTerms!: string[];
}
