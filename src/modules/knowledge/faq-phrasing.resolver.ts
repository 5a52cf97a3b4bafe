import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { Message } from '../conversations/message.entity';
import { Faq } from './faq.entity';
import { QUESTION_MAX, REPORT_MAX_DAYS, SUGGESTIONS_MAX } from './faq.inputs';
import { FaqPhrasing } from './faq-phrasing.entity';
import { UnansweredCluster } from './unanswered';

const KEEPERS = [Role.ADMIN, Role.MANAGER];

/** Phrasings (相似问法), suggestions learnt from service, and the unanswered-questions report. */
@Resolver(() => FaqPhrasing)
export class FaqPhrasingResolver {
  @Authorized(...KEEPERS)
  @Mutation(() => FaqPhrasing, {
    description: `The FAQ's keepers: a phrasing searched like its question (1–${QUESTION_MAX} characters; not the question of this or another FAQ)`,
  })
  addFaqPhrasing(@Arg('faqId', () => ID) faqId: string, @Arg('text') text: string, @Ctx() ctx: Context) {
    return ctx.services.faqPhrasings.add(ctx, faqId, text);
  }

  @Authorized(...KEEPERS)
  @Mutation(() => FaqPhrasing, { description: 'A new text for an accepted phrasing (same rules as addFaqPhrasing)' })
  updateFaqPhrasing(@Arg('id', () => ID) id: string, @Arg('text') text: string, @Ctx() ctx: Context) {
    return ctx.services.faqPhrasings.update(ctx, id, text);
  }

  @Authorized(...KEEPERS)
  @Mutation(() => ID, { description: 'Removes a phrasing or a suggestion; returns its id' })
  removeFaqPhrasing(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.faqPhrasings.remove(ctx, id);
  }

  @Authorized(...KEEPERS)
  @Query(() => [FaqPhrasing], {
    description: `Suggested phrasings learnt from service, most often seen first (at most ${SUGGESTIONS_MAX}): admins all, managers their department's FAQs'`,
  })
  faqPhrasingSuggestions(@Ctx() ctx: Context, @Arg('faqId', () => ID, { nullable: true }) faqId?: string) {
    return ctx.services.faqPhrasings.suggestions(ctx, faqId);
  }

  @Authorized(...KEEPERS)
  @Mutation(() => FaqPhrasing, {
    description: 'A suggestion becomes an accepted phrasing, searched at once; CONFLICT unless it is still SUGGESTED',
  })
  acceptFaqPhrasing(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.faqPhrasings.accept(ctx, id);
  }

  @Authorized(...KEEPERS)
  @Mutation(() => FaqPhrasing, { description: 'A suggestion is rejected (and not suggested again); CONFLICT unless it is still SUGGESTED' })
  rejectFaqPhrasing(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.faqPhrasings.reject(ctx, id);
  }

  @Authorized(...KEEPERS)
  @Query(() => [UnansweredCluster], {
    description: `Questions asked from \`from\` to \`to\` (business dates YYYY-MM-DD, both included, at most ${REPORT_MAX_DAYS} days) that found nothing or whose auto-answer did not help, grouped by similarity, largest first`,
  })
  unansweredQuestions(@Arg('from') from: string, @Arg('to') to: string, @Ctx() ctx: Context) {
    return ctx.services.faqLearning.unansweredQuestions(ctx, from, to);
  }

  @Authorized(Role.AGENT)
  @Mutation(() => Message, {
    description:
      "The conversation's agent answers with a published FAQ (its answer, as their message; idempotent by clientMessageId). When the conversation ends well, the customer's question becomes a suggested phrasing of the FAQ.",
  })
  sendFaq(
    @Arg('conversationId', () => ID) conversationId: string,
    @Arg('faqId', () => ID) faqId: string,
    @Arg('clientMessageId') clientMessageId: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.faqLearning.sendFaq(ctx, conversationId, faqId, clientMessageId);
  }

  @FieldResolver(() => Faq, { nullable: true, description: 'The FAQ it is a phrasing of' })
  faq(@Root() p: FaqPhrasing, @Ctx() ctx: Context) {
    return ctx.em.findOne(Faq, { id: p.faqId });
  }
}

@Resolver(() => Faq)
export class FaqPhrasingsFieldResolver {
  @FieldResolver(() => [FaqPhrasing], { description: 'Its accepted phrasings (相似问法), searched like the question' })
  async phrasings(@Root() f: Faq, @Ctx() ctx: Context) {
    const [list] = await ctx.services.faqPhrasings.acceptedOf(ctx.em, [f.id]);
    return list;
  }
}
