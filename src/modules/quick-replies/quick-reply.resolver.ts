import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { STAFF } from '../../platform/auth/roles';
import { Department } from '../accounts/department.entity';
import { conversationParties } from '../conversations/chat.service';
import { Message } from '../conversations/message.entity';
import { Faq } from '../knowledge/faq.entity';
import { canReadFaq } from '../knowledge/faq-rules';
import { CreateQuickReplyInput, MAX_QUICK_REPLIES_LISTED, MAX_SEARCH_LENGTH, UpdateQuickReplyInput } from './quick-reply.inputs';
import { QuickReply } from './quick-reply.entity';
import { quickReplyEditAccess } from './quick-reply.service';

@Resolver(() => QuickReply)
export class QuickReplyResolver {
  @Authorized(...STAFF)
  @Mutation(() => QuickReply, {
    description: 'PERSONAL: for oneself; DEPARTMENT: a manager for their department, an admin naming one; PUBLIC: admins',
  })
  createQuickReply(@Arg('input') input: CreateQuickReplyInput, @Ctx() ctx: Context) {
    return ctx.services.quickReplies.create(ctx, input);
  }

  @Authorized(...STAFF)
  @Mutation(() => QuickReply, {
    description: 'The owner of a PERSONAL reply; the manager (or an admin) of a DEPARTMENT one; admins a PUBLIC one',
  })
  updateQuickReply(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateQuickReplyInput, @Ctx() ctx: Context) {
    return ctx.services.quickReplies.update(ctx, id, input);
  }

  @Authorized(...STAFF)
  @Mutation(() => ID, { description: 'Who may update a reply may delete it; returns its id' })
  deleteQuickReply(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.quickReplies.delete(ctx, id);
  }

  @Authorized(...STAFF)
  @Query(() => [QuickReply], {
    description:
      `The caller's PERSONAL replies, their department's DEPARTMENT replies and all PUBLIC ones, by scope then title; at most ${MAX_QUICK_REPLIES_LISTED}. ` +
      '`search` looks in title, content and shortcut, ignoring case; admins may name another `departmentId`.',
  })
  quickReplies(
    @Ctx() ctx: Context,
    @Arg('search', () => String, { nullable: true, description: `At most ${MAX_SEARCH_LENGTH} characters` }) search?: string,
    @Arg('category', () => String, { nullable: true }) category?: string,
    @Arg('departmentId', () => ID, {
      nullable: true,
      description: "Admins: whose DEPARTMENT replies to show (default: one's own department)",
    })
    departmentId?: string,
  ) {
    return ctx.services.quickReplies.list(ctx, { search, category, departmentId });
  }

  @Authorized(...STAFF)
  @Query(() => [String], { description: 'The categories of the quick replies the caller sees' })
  quickReplyCategories(@Ctx() ctx: Context) {
    return ctx.services.quickReplies.categories(ctx);
  }

  @Authorized(...STAFF)
  @Mutation(() => Message, {
    description:
      'Sends a quick reply the caller may use into a conversation as their message, with {customerName} and {agentName} (the sender) ' +
      'filled in. The conversation’s agent only; idempotent by clientMessageId, like sendMessage.',
  })
  sendQuickReply(
    @Arg('conversationId', () => ID) conversationId: string,
    @Arg('quickReplyId', () => ID) quickReplyId: string,
    @Arg('clientMessageId') clientMessageId: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.quickReplies.sendQuickReply(
      ctx,
      { conversationId, quickReplyId, clientMessageId },
      {
        parties: conversationParties,
        send: (input) => ctx.services.chat.send(ctx, input),
        answeredWithFaq: (conversation, faqId) => ctx.services.faqLearning.answeredWithFaq(ctx, conversation, faqId),
      },
    );
  }

  @FieldResolver(() => Department, { nullable: true })
  department(@Root() r: QuickReply, @Ctx() ctx: Context) {
    return r.departmentId ? ctx.loaders.department.load(r.departmentId) : null;
  }

  @FieldResolver(() => Faq, { nullable: true, description: 'The FAQ it answers with, when the caller may read it' })
  async faq(@Root() r: QuickReply, @Ctx() ctx: Context) {
    if (!r.faqId || !ctx.viewer) return null;
    const faq = await ctx.loaders.faq.load(r.faqId);
    return faq && canReadFaq(ctx.viewer, faq) ? faq : null;
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may update and delete it' })
  editable(@Root() r: QuickReply, @Ctx() ctx: Context) {
    return ctx.viewer ? quickReplyEditAccess(ctx.viewer, r) === 'ok' : false;
  }
}
