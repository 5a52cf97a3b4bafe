import { ArrayMaxSize, IsOptional, Length } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Connection } from '../../platform/pagination';
import { Faq, FaqScope } from './faq.entity';

export const QUESTION_MAX = 200;
export const ANSWER_MAX = 5000;
export const TAG_MAX = 30;
export const TAGS_MAX = 20;
/** faqPhrasingSuggestions lists at most this many. */
export const SUGGESTIONS_MAX = 100;
/** Longest unansweredQuestions range, in days. */
export const REPORT_MAX_DAYS = 366;

@InputType()
export class CreateFaqInput {
  @Field()
  @Length(1, QUESTION_MAX, { message: `must be 1 to ${QUESTION_MAX} characters` })
  question!: string;

  @Field()
  @Length(1, ANSWER_MAX, { message: `must be 1 to ${ANSWER_MAX} characters` })
  answer!: string;

  @Field({ description: 'One of faqCategories' })
  category!: string;

  @Field(() => [String], {
    nullable: true,
    description: `At most ${TAGS_MAX}, each at most ${TAG_MAX} characters; searched like the question`,
  })
  @IsOptional()
  @ArrayMaxSize(TAGS_MAX)
  tags?: string[] | null;

  @Field(() => FaqScope, {
    defaultValue: FaqScope.DEPARTMENT,
    description: "DEPARTMENT: a manager's own department, or the one an admin names; PUBLIC: admins only",
  })
  scope: FaqScope = FaqScope.DEPARTMENT;

  @Field(() => ID, { nullable: true, description: "DEPARTMENT only: required from admins; a manager's is their own department" })
  @IsOptional()
  departmentId?: string | null;
}

@InputType({ description: 'Only the fields given change; scope and department stay. A published FAQ stays published and is re-indexed.' })
export class UpdateFaqInput {
  @Field({ nullable: true })
  @IsOptional()
  @Length(1, QUESTION_MAX, { message: `must be 1 to ${QUESTION_MAX} characters` })
  question?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Length(1, ANSWER_MAX, { message: `must be 1 to ${ANSWER_MAX} characters` })
  answer?: string;

  @Field({ nullable: true })
  @IsOptional()
  category?: string;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(TAGS_MAX)
  tags?: string[];
}

@ObjectType()
export class FaqConnection extends Connection(Faq) {}
