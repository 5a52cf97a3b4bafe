import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { Department } from '../accounts/department.entity';
import { Faq, FaqHit, FaqStatus } from './faq.entity';
import { CreateFaqInput, FaqConnection, UpdateFaqInput } from './faq.inputs';
import { canEditFaq, QUERY_MAX, SEARCH_LIMIT_MAX } from './faq-rules';

const KEEPERS = [Role.ADMIN, Role.MANAGER];
const EVERYONE = [...STAFF, Role.CUSTOMER];

@Resolver(() => Faq)
export class FaqResolver {
  @Authorized(...KEEPERS)
  @Mutation(() => Faq, { description: 'A new DRAFT. PUBLIC: admins; DEPARTMENT: a manager for their own department, an admin naming one' })
  createFaq(@Arg('input') input: CreateFaqInput, @Ctx() ctx: Context) {
    return ctx.services.faqs.create(ctx, input);
  }

  @Authorized(...KEEPERS)
  @Mutation(() => Faq, { description: "Admins: any FAQ; managers: their department's. A published FAQ is re-indexed at once." })
  updateFaq(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateFaqInput, @Ctx() ctx: Context) {
    return ctx.services.faqs.update(ctx, id, input);
  }

  @Authorized(...KEEPERS)
  @Mutation(() => Faq, { description: 'DRAFT or ARCHIVED → PUBLISHED: readable and searchable by everyone signed in' })
  publishFaq(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.faqs.publish(ctx, id);
  }

  @Authorized(...KEEPERS)
  @Mutation(() => Faq, { description: 'DRAFT or PUBLISHED → ARCHIVED: no longer listed or searched' })
  archiveFaq(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.faqs.archive(ctx, id);
  }

  @Authorized(...EVERYONE)
  @Query(() => FaqConnection, {
    description:
      'Newest first. Published FAQs for everyone; `status: DRAFT | ARCHIVED` for their keepers (admins all, managers their department’s).',
  })
  faqs(
    @Ctx() ctx: Context,
    @Arg('category', () => String, { nullable: true, description: 'One of faqCategories' }) category?: string,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('status', () => FaqStatus, { nullable: true, description: 'Default PUBLISHED' }) status?: FaqStatus,
  ) {
    return ctx.services.faqs.list(ctx, { category, status, first, after });
  }

  @Authorized(...EVERYONE)
  @Query(() => [Faq], { description: 'Published FAQs that answered most often (useCount), then the most helpful' })
  popularFaqs(@Ctx() ctx: Context, @Arg('limit', () => Int, { defaultValue: 10, description: '1–50' }) limit = 10) {
    return ctx.services.faqs.popular(ctx, limit);
  }

  @Authorized(...EVERYONE)
  @Query(() => [FaqHit], {
    description:
      'Published FAQs that answer `query` (Chinese or mixed text; words are segmented), best first, each with a 0–1 score. ' +
      `The query is 1–${QUERY_MAX} characters.`,
  })
  searchFaqs(
    @Arg('query') query: string,
    @Ctx() ctx: Context,
    @Arg('limit', () => Int, { defaultValue: 5, description: `1–${SEARCH_LIMIT_MAX}` }) limit = 5,
  ) {
    return ctx.services.faqs.search(ctx, query, limit);
  }

  @Authorized(...EVERYONE)
  @Mutation(() => Faq, { description: 'Was this published FAQ helpful? One vote per user; asking again changes the vote.' })
  faqFeedback(@Arg('id', () => ID) id: string, @Arg('helpful') helpful: boolean, @Ctx() ctx: Context) {
    return ctx.services.faqs.feedback(ctx, id, helpful);
  }

  @Authorized(...EVERYONE)
  @Query(() => [String], { description: 'The FAQ categories, from configuration (KNOWLEDGE_CONFIG_FILE)' })
  faqCategories(@Ctx() ctx: Context) {
    return ctx.services.faqs.categoryList();
  }

  @FieldResolver(() => Department, { nullable: true })
  department(@Root() f: Faq, @Ctx() ctx: Context) {
    return f.departmentId ? ctx.loaders.department.load(f.departmentId) : null;
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may update, publish and archive it' })
  editable(@Root() f: Faq, @Ctx() ctx: Context) {
    return ctx.viewer ? canEditFaq(ctx.viewer, f) : false;
  }
}
