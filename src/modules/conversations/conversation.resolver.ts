import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { signedIn, withRole } from '../../platform/auth/scope';
import { Topics } from '../../platform/realtime/topics';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';
import { AutoAnswer, Conversation } from './conversation.entity';
import { autoAnswerOf } from '../knowledge/auto-answer';
import {
  ConversationEvent,
  ConversationEventPayload,
  ConversationEventType,
  StatusChange,
  conversationEventFromPayload,
  InboxEvent,
  InboxEventPayload,
  messageFromPayload,
  QueueChange,
  QueueChangePayload,
  QueueUpdate,
  QueueUpdatePayload,
  sameQueueState,
  Receipt,
  ReceiptKind,
} from './conversation.events';
import { conversationStream, startingWith } from './conversation-stream';
import { partyOf } from './chat.service';
import {
  ConversationConnection,
  ConversationFilterInput,
  MessagePage,
  QueueEntry,
  RequestServiceInput,
  SendMessageInput,
  ServiceRequest,
} from './conversation.inputs';
import { Message } from './message.entity';

@Resolver(() => Conversation)
export class ConversationResolver {
  @Authorized(Role.CUSTOMER)
  @Mutation(() => ServiceRequest, {
    description: 'Customers: ask for help. An open conversation is returned as it is; otherwise ASSIGNED, QUEUED or NO_CAPACITY.',
  })
  requestService(@Arg('input') input: RequestServiceInput, @Ctx() ctx: Context) {
    return ctx.services.routing.requestService(ctx, input);
  }

  @Authorized(Role.CUSTOMER)
  @Mutation(() => Conversation, { description: 'Customers: stop waiting' })
  leaveQueue(@Ctx() ctx: Context) {
    return ctx.services.routing.leaveQueue(ctx);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Query(() => [QueueEntry], {
    description: 'Supervisors: the waiting requests of a department (omitted: managers their own; admins those of no department)',
  })
  queue(@Ctx() ctx: Context, @Arg('departmentId', () => ID, { nullable: true }) departmentId?: string) {
    return ctx.services.conversationQueue.queue(ctx, departmentId);
  }

  @Authorized(Role.CUSTOMER)
  @Subscription(() => QueueUpdate, {
    description: 'Customers: the current place in line at once, then every change, then the assignment',
    subscribe: ({ context }) => {
      const ctx = context as Context;
      const viewer = withRole(ctx.viewer, Role.CUSTOMER);
      return startingWith(
        () => ctx.services.conversationQueue.currentUpdate(viewer.id),
        ctx.services.pubsub,
        Topics.QUEUE_CUSTOMER,
        viewer.id,
        sameQueueState,
      );
    },
  })
  queueUpdates(@Root() u: QueueUpdatePayload): QueueUpdate {
    return { ...u, at: new Date(u.at) };
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Subscription(() => QueueChange, {
    description: 'Supervisors: a department’s queue changed (admins: omit departmentId for all)',
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const topicId = ctx.services.presence.topicFor(signedIn(ctx.viewer), (args as { departmentId?: string }).departmentId);
      return ctx.services.pubsub.subscribe(Topics.QUEUE, topicId);
    },
  })
  queueChanged(@Root() c: QueueChangePayload, @Arg('departmentId', () => ID, { nullable: true }) _departmentId?: string): QueueChange {
    return { ...c, at: new Date(c.at) };
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Mutation(() => Message, { description: 'The conversation’s customer or agent. Idempotent by clientMessageId.' })
  sendMessage(@Arg('input') input: SendMessageInput, @Ctx() ctx: Context) {
    return ctx.services.chat.send(ctx, input);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Query(() => MessagePage, { description: 'History after a seq, oldest first' })
  messages(
    @Arg('conversationId', () => ID) conversationId: string,
    @Ctx() ctx: Context,
    @Arg('afterSeq', () => Int, { defaultValue: 0 }) afterSeq = 0,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
  ) {
    return ctx.services.chat.messages(ctx, conversationId, afterSeq, first);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Subscription(() => ConversationEvent, {
    description:
      'Messages, typing, receipts and status changes. With afterSeq, every stored message after it comes first, then live ones: no gap, no duplicate.',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const { conversationId, afterSeq } = args as { conversationId: string; afterSeq?: number | null };
      const viewer = signedIn(ctx.viewer);
      const conversation = await ctx.services.chat.visible(ctx.services.orm.em.fork(), viewer, conversationId);
      // Decided now, so the stream keeps no entity (nor the fork behind it) for its whole life.
      const keepsAfterMove = partyOf(viewer, { ...conversation, agentId: null } as Conversation) !== null;
      // Each replay reads through a fresh fork: a long-lived one would grow without bound.
      return conversationStream(
        ctx.services.pubsub,
        () => ctx.services.orm.em.fork(),
        conversationId,
        afterSeq ?? null,
        keepsAfterMove ? undefined : (event) => movedAwayFrom(event, viewer.id),
      );
    },
  })
  conversationEvents(
    @Root() e: ConversationEventPayload,
    @Arg('conversationId', () => ID) _conversationId: string,
    @Arg('afterSeq', () => Int, { nullable: true }) _afterSeq?: number,
  ): ConversationEvent {
    return conversationEventFromPayload(e);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Mutation(() => Receipt, { description: 'The other side’s messages up to upToSeq are delivered to me' })
  markDelivered(@Arg('conversationId', () => ID) conversationId: string, @Arg('upToSeq', () => Int) upToSeq: number, @Ctx() ctx: Context) {
    return ctx.services.chat.receipt(ctx, conversationId, upToSeq, ReceiptKind.DELIVERED);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Mutation(() => Receipt, { description: 'The other side’s messages up to upToSeq are read by me' })
  markRead(@Arg('conversationId', () => ID) conversationId: string, @Arg('upToSeq', () => Int) upToSeq: number, @Ctx() ctx: Context) {
    return ctx.services.chat.receipt(ctx, conversationId, upToSeq, ReceiptKind.READ);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Mutation(() => Boolean, { description: 'Pushed to the other side, not stored' })
  setTyping(@Arg('conversationId', () => ID) conversationId: string, @Arg('typing', () => Boolean) typing: boolean, @Ctx() ctx: Context) {
    return ctx.services.chat.typing(ctx, conversationId, typing);
  }

  @Authorized(Role.AGENT, Role.MANAGER)
  @Subscription(() => InboxEvent, {
    description: 'Agents: assignments, transfers in and out, ends and new messages of their conversations',
    subscribe: ({ context }) => {
      const ctx = context as Context;
      return ctx.services.pubsub.subscribe(Topics.INBOX, signedIn(ctx.viewer).id);
    },
  })
  inbox(@Root() e: InboxEventPayload): InboxEvent {
    return {
      type: e.type,
      conversationId: e.conversationId,
      message: e.message ? messageFromPayload(e.message) : null,
      at: new Date(e.at),
    };
  }

  @Authorized(Role.CUSTOMER)
  @Mutation(() => Conversation, {
    description:
      'The conversation’s customer replies to its auto-answer: helped ends it (RESOLVED_BY_FAQ); not helped keeps its place. CONFLICT unless the answer awaits a reply.',
  })
  answerHelped(
    @Arg('conversationId', () => ID) conversationId: string,
    @Arg('helped', () => Boolean) helped: boolean,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.routing.answerHelped(ctx, conversationId, helped);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Mutation(() => Conversation, { description: 'Either party, or a supervisor in scope; frees the agent for the queue' })
  endConversation(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.chat.end(ctx, id);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Query(() => ConversationConnection, { description: 'Customers: their own; agents: theirs; managers: their department’s; admins: all' })
  conversations(
    @Ctx() ctx: Context,
    @Arg('filter', () => ConversationFilterInput, { nullable: true }) filter?: ConversationFilterInput,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.chat.list(ctx, filter ?? {}, first, after);
  }

  @Authorized(Role.CUSTOMER, ...STAFF)
  @Query(() => Conversation, { description: 'Archived ones too (archived: true)' })
  conversation(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.chat.readable(ctx.em, signedIn(ctx.viewer), id);
  }

  @FieldResolver(() => User)
  customer(@Root() c: Conversation, @Ctx() ctx: Context) {
    return ctx.loaders.user.get(c.customerId);
  }

  @FieldResolver(() => User, { nullable: true })
  agent(@Root() c: Conversation, @Ctx() ctx: Context) {
    return c.agentId ? ctx.loaders.user.get(c.agentId) : null;
  }

  @FieldResolver(() => AutoAnswer, { nullable: true, description: 'The FAQ ShiftDesk answered the first message with, if any' })
  autoAnswer(@Root() c: Conversation, @Ctx() ctx: Context): Promise<AutoAnswer | null> {
    return autoAnswerOf(ctx.em, c);
  }

  @FieldResolver(() => Department, { nullable: true })
  department(@Root() c: Conversation, @Ctx() ctx: Context) {
    return c.departmentId ? ctx.loaders.department.get(c.departmentId) : null;
  }
}

/**
 * An agent's stream of a conversation ends with the event that moves the conversation to someone else
 * (a transfer, a requeue): from then on it is not theirs to read. Customers and supervisors keep theirs.
 */
function movedAwayFrom(event: ConversationEventPayload, viewerId: string): boolean {
  const movedTo = event.type === ConversationEventType.STATUS ? event.status : null;
  return Boolean(
    movedTo && (movedTo.change === StatusChange.TRANSFERRED || movedTo.change === StatusChange.REQUEUED) && movedTo.agentId !== viewerId,
  );
}
