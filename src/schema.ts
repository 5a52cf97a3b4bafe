import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from './platform/auth/auth-checker';
import type { PubSubPort } from './platform/realtime/pubsub';
import { createMemoryPubSub } from './platform/realtime/pubsub';
import { AccountResolver } from './modules/accounts/account.resolver';
import { AuditResolver } from './modules/audit/audit.resolver';
import { NotificationResolver } from './modules/notifications/notification.resolver';
import { ScheduleConflictResolver, ScheduleResolver } from './modules/scheduling/schedule.resolver';
import { ShiftResolver } from './modules/scheduling/shift.resolver';
import { PresenceResolver } from './modules/presence/presence.resolver';
import { LeaveResolver } from './modules/leave/leave.resolver';
import { SwapResolver, SwapStepResolver } from './modules/swaps/swap.resolver';
import { ConversationResolver } from './modules/conversations/conversation.resolver';
import { ConversationLifecycleResolver, ConversationTransferResolver } from './modules/conversations/lifecycle.resolver';
import { QuickReplyResolver } from './modules/quick-replies/quick-reply.resolver';
import { FaqResolver } from './modules/knowledge/faq.resolver';
import { ClassifierResolver } from './modules/knowledge/classifier.resolver';
import { TicketCommentResolver, TicketResolver } from './modules/tickets/ticket.resolver';

export const RESOLVERS = [
  AccountResolver,
  AuditResolver,
  NotificationResolver,
  ShiftResolver,
  ScheduleResolver,
  ScheduleConflictResolver,
  PresenceResolver,
  LeaveResolver,
  SwapResolver,
  SwapStepResolver,
  ConversationResolver,
  ConversationLifecycleResolver,
  ConversationTransferResolver,
  QuickReplyResolver,
  FaqResolver,
  ClassifierResolver,
  TicketResolver,
  TicketCommentResolver,
] as const;

/** The executable schema. Arguments are validated with class-validator; `@Authorized` is checked by `authChecker`. */
export function createSchema(pubSub: PubSubPort = createMemoryPubSub()): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS as unknown as [Function, ...Function[]],
    authChecker,
    authMode: 'error',
    pubSub,
    validate: { forbidUnknownValues: false },
  });
}
