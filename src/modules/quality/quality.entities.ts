import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { CreatedAtColumns } from '../../platform/db/shared-columns';
import { Node } from '../../platform/node';

@ObjectType({
  implements: Node,
  description: 'A quality rule an agent message broke (config/quality.json), found when it was sent',
  simpleResolvers: true,
})
@Entity({ tableName: 'quality_violations' })
export class QualityViolation extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  messageId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  conversationId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  agentId!: string;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  departmentId!: string | null;

  @Field({ description: 'The rule code, e.g. FORBIDDEN_PROMISE' })
  @Property({ type: 'text' })
  rule!: string;

  @Field({ description: 'The words of the message that matched' })
  @Property({ type: 'text' })
  matched!: string;
}

export enum QualityReviewStatus {
  PENDING = 'PENDING',
  DONE = 'DONE',
}
registerEnumType(QualityReviewStatus, {
  name: 'QualityReviewStatus',
  description: 'PENDING: queued by the weekly sample, not reviewed yet',
});

@ObjectType({ simpleResolvers: true })
export class ChecklistScore {
  @Field({ description: 'The checklist item key' })
  item!: string;

  @Field(() => Int)
  score!: number;

  @Field(() => Int, { description: 'The item’s maximum when the review was made' })
  maxScore!: number;
}

@ObjectType({
  implements: Node,
  description: 'A supervisor’s review of one conversation: scores by checklist item and a comment',
  simpleResolvers: true,
})
@Entity({ tableName: 'quality_reviews' })
export class QualityReview extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'createdAt' | 'sampledWeek' | 'reviewerId' | 'scores' | 'totalScore' | 'maxScore' | 'comment' | 'reviewedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  conversationId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  agentId!: string;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  departmentId!: string | null;

  @Field(() => QualityReviewStatus)
  @Enum({ items: () => QualityReviewStatus, nativeEnumName: 'quality_review_status' })
  status!: QualityReviewStatus;

  @Field(() => String, {
    nullable: true,
    description: 'Monday (business date) of the week whose sample queued it; null: reviewed without being sampled',
  })
  @Property({ type: 'date', columnType: 'date', nullable: true })
  sampledWeek: string | null = null;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  reviewerId: string | null = null;

  @Field(() => [ChecklistScore], { nullable: true })
  @Property({ type: 'json', nullable: true })
  scores: ChecklistScore[] | null = null;

  @Field(() => Float, { nullable: true })
  @Property({ type: 'float', columnType: 'real', nullable: true })
  totalScore: number | null = null;

  @Field(() => Float, { nullable: true })
  @Property({ type: 'float', columnType: 'real', nullable: true })
  maxScore: number | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  comment: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  reviewedAt: Date | null = null;
}
