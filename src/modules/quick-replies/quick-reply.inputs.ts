import { IsOptional, Length, Matches } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { DEFAULT_QUICK_REPLY_CATEGORY, QuickReplyScope } from './quick-reply.entity';

/** "/" then 1–30 letters, digits, _, - or CJK characters (the database checks the same pattern). */
export const SHORTCUT_PATTERN = /^\/[A-Za-z0-9_\-\u4e00-\u9fff]{1,30}$/;
export const SHORTCUT_MESSAGE = 'must be "/" followed by 1 to 30 letters, digits, _, - or Chinese characters';

export const TITLE_MAX = 100;
export const CONTENT_MAX = 2000;
export const CATEGORY_MAX = 50;
/** quickReplies: the most it lists, and the longest `search`. */
export const MAX_QUICK_REPLIES_LISTED = 100;
export const MAX_SEARCH_LENGTH = 200;

const FAQ_LINK_DESCRIPTION =
  'An FAQ the caller may read, that this reply answers with: a conversation answered with the reply that ends well suggests ' +
  "the customer's question as a phrasing of the FAQ (as sendFaq does). In updateQuickReply, null unlinks it.";

@InputType()
export class CreateQuickReplyInput {
  @Field()
  @Length(1, TITLE_MAX, { message: `must be 1 to ${TITLE_MAX} characters` })
  title!: string;

  @Field({ description: 'May contain {customerName} and {agentName}' })
  @Length(1, CONTENT_MAX, { message: `must be 1 to ${CONTENT_MAX} characters` })
  content!: string;

  @Field({ defaultValue: DEFAULT_QUICK_REPLY_CATEGORY })
  @Length(1, CATEGORY_MAX, { message: `must be 1 to ${CATEGORY_MAX} characters` })
  category: string = DEFAULT_QUICK_REPLY_CATEGORY;

  @Field(() => QuickReplyScope, {
    defaultValue: QuickReplyScope.PERSONAL,
    description: 'PERSONAL: anyone on the staff, for themselves; DEPARTMENT: managers (their own) and admins; PUBLIC: admins',
  })
  scope: QuickReplyScope = QuickReplyScope.PERSONAL;

  @Field(() => ID, { nullable: true, description: "DEPARTMENT only: required from admins; a manager's is their own department" })
  @IsOptional()
  departmentId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'e.g. /refund; unique (ignoring case) among the replies of the same owner, department, or the public ones',
  })
  @IsOptional()
  @Matches(SHORTCUT_PATTERN, { message: SHORTCUT_MESSAGE })
  shortcut?: string | null;

  @Field(() => ID, { nullable: true, description: FAQ_LINK_DESCRIPTION })
  @IsOptional()
  faqId?: string | null;
}

@InputType({
  description: 'Only the fields given change; shortcut: null removes the shortcut, faqId: null unlinks the FAQ. Scope and department stay.',
})
export class UpdateQuickReplyInput {
  @Field({ nullable: true })
  @IsOptional()
  @Length(1, TITLE_MAX, { message: `must be 1 to ${TITLE_MAX} characters` })
  title?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Length(1, CONTENT_MAX, { message: `must be 1 to ${CONTENT_MAX} characters` })
  content?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Length(1, CATEGORY_MAX, { message: `must be 1 to ${CATEGORY_MAX} characters` })
  category?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(SHORTCUT_PATTERN, { message: SHORTCUT_MESSAGE })
  shortcut?: string | null;

  @Field(() => ID, { nullable: true, description: FAQ_LINK_DESCRIPTION })
  @IsOptional()
  faqId?: string | null;
}
