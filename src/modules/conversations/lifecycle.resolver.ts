import DataLoader from 'dataloader';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { formatLimit } from '../../platform/text-input';
import { User } from '../accounts/user.entity';
import { Conversation } from './conversation.entity';
import { ConversationTransfer } from './conversation-transfer.entity';
import { MAX_TRANSFER_NOTE } from './lifecycle.service';
import { MAX_RATING_COMMENT, MAX_SCORE, MIN_SCORE } from './rating.policy';

/** One transfers loader per operation: a list of conversations costs one query for all their histories. */
const transferLoaders = new WeakMap<Context, DataLoader<string, ConversationTransfer[]>>();
function transfersLoader(ctx: Context): DataLoader<string, ConversationTransfer[]> {
  let loader = transferLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader((ids) => ctx.services.lifecycle.transfersOf(ctx.em, ids));
    transferLoaders.set(ctx, loader);
  }
  return loader;
}

@Resolver(() => Conversation)
export class ConversationLifecycleResolver {
  @Authorized(...STAFF)
  @Mutation(() => Conversation, {
    description:
      'The conversation’s agent, or a supervisor of its department: hands an ACTIVE conversation to an agent who is online, AVAILABLE, ' +
      `on duty and has a free slot (supervisors may exceed it). Adds a system message summarising the latest messages and the note (≤ ${MAX_TRANSFER_NOTE} characters).`,
  })
  transferConversation(
    @Arg('id', () => ID) id: string,
    @Arg('toAgentId', () => ID) toAgentId: string,
    @Arg('note', () => String, { nullable: true }) note: string | null | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.lifecycle.transfer(ctx, id, toAgentId, note);
  }

  @Authorized(Role.CUSTOMER)
  @Mutation(() => Conversation, {
    description: `The customer, once, after the end: a score of ${MIN_SCORE} to ${MAX_SCORE} and a comment of at most ${formatLimit(MAX_RATING_COMMENT)} characters`,
  })
  rateConversation(
    @Arg('id', () => ID) id: string,
    @Arg('score', () => Int) score: number,
    @Arg('comment', () => String, { nullable: true }) comment: string | null | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.lifecycle.rate(ctx, id, score, comment);
  }

  @FieldResolver(() => [ConversationTransfer], { description: 'Its hand-overs between agents (and back to the queue), oldest first' })
  transfers(@Root() c: Conversation, @Ctx() ctx: Context) {
    return transfersLoader(ctx).load(c.id);
  }
}

@Resolver(() => ConversationTransfer)
export class ConversationTransferResolver {
  @FieldResolver(() => User, { nullable: true, description: 'Who had the conversation' })
  fromAgent(@Root() t: ConversationTransfer, @Ctx() ctx: Context) {
    return t.fromAgentId ? ctx.loaders.user.get(t.fromAgentId) : null;
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who got it; null: it went back to the queue' })
  toAgent(@Root() t: ConversationTransfer, @Ctx() ctx: Context) {
    return t.toAgentId ? ctx.loaders.user.get(t.toAgentId) : null;
  }

  @FieldResolver(() => User, {
    nullable: true,
    description: 'Who moved it; null: the system (the agent stayed offline past the grace period)',
  })
  by(@Root() t: ConversationTransfer, @Ctx() ctx: Context) {
    return t.byId ? ctx.loaders.user.get(t.byId) : null;
  }
}
