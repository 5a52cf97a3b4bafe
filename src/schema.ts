import 'reflect-metadata';
import type { GraphQLFieldResolver, GraphQLSchema } from 'graphql';
import { getMetadataStorage, validateOrReject, ValidatorOptions } from 'class-validator';
import { ArgumentValidationError, buildSchema, ResolverData } from 'type-graphql';
import { authChecker } from './platform/auth/auth-checker';
import type { PubSubPort } from './platform/realtime/pubsub';
import { createMemoryPubSub } from './platform/realtime/pubsub';
import { refuseControlCharacters } from './platform/text-input';
import { mapSubscriptionEventsDirectly } from './platform/subscription-events';
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
import { FaqPhrasingResolver, FaqPhrasingsFieldResolver } from './modules/knowledge/faq-phrasing.resolver';
import { ClassifierResolver } from './modules/knowledge/classifier.resolver';
import { TicketCommentResolver, TicketResolver } from './modules/tickets/ticket.resolver';
import { PII_RESOLVERS } from './modules/records/pii.resolver';
import { ProtectionResolver } from './modules/records/protection.resolver';

import { QUALITY_RESOLVERS } from './modules/quality/quality.resolver';
import { StaffingResolver } from './modules/staffing/staffing.resolver';
import { AlertResolver, ServiceDashboardResolver } from './modules/operations/operations.resolver';
import { RECORDS_RESOLVERS } from './modules/records/records.resolver';
import { ApiKeyResolver } from './modules/integrations/api-key.resolver';
import { ChannelResolver } from './modules/integrations/channel.resolver';
import { guardRootFieldsForKeys } from './modules/integrations/api-key.guard';
import type { Context } from './context';
import { WebhookResolver } from './modules/integrations/webhook.resolver';
import { NodeResolver } from './modules/node/node.resolver';

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
  FaqPhrasingResolver,
  FaqPhrasingsFieldResolver,
  ClassifierResolver,
  TicketResolver,
  TicketCommentResolver,
  ...PII_RESOLVERS,
  ProtectionResolver,

  ...QUALITY_RESOLVERS,
  StaffingResolver,
  ServiceDashboardResolver,
  AlertResolver,
  ...RECORDS_RESOLVERS,
  ApiKeyResolver,
  ChannelResolver,
  WebhookResolver,
  NodeResolver,
] as const;

const VALIDATOR_OPTIONS: ValidatorOptions = { skipMissingProperties: true, forbidUnknownValues: false };

/** The argument sets already checked for control characters: type-graphql validates one argument at a time. */
const textChecked = new WeakSet<object>();

/** Whether an input class has any class-validator decorator, by class (they are all declared before the schema is built). */
const hasValidation = new WeakMap<object, boolean>();

function needsValidation(o: object): boolean {
  let known = hasValidation.get(o.constructor);
  if (known === undefined) {
    known = getMetadataStorage().getTargetValidationMetadatas(o.constructor, '', true, false).length > 0;
    hasValidation.set(o.constructor, known);
  }
  return known;
}

/**
 * Every argument of every field passes here (type-graphql calls a global validateFn for each argument,
 * scalars included). First, once per field, all the field's arguments are checked for control characters, so
 * the error can name each offending field by its path; then input objects (and lists of them) are checked
 * with class-validator, as type-graphql's built-in validation does with these options, but with
 * class-validator imported once: the built-in one `require`s it and copies its exports on every validated
 * argument, ~3 % of the CPU of a chat message. An input class without any validation decorator
 * (`SendMessageInput`) is not handed to class-validator at all: it would find nothing, at ~2 % of that CPU.
 */
function validateArgument(value: unknown, _type: unknown, { args }: ResolverData): Promise<void> | void {
  if (!textChecked.has(args)) {
    textChecked.add(args);
    refuseControlCharacters(args);
  }
  const objects = (Array.isArray(value) ? value : [value]).filter(
    (v): v is object => v !== null && typeof v === 'object' && needsValidation(v),
  );
  if (objects.length === 0) return;
  return Promise.all(objects.map((o) => validateOrReject(o, VALIDATOR_OPTIONS))).then(
    () => undefined,
    (err: unknown) => {
      throw new ArgumentValidationError(err as ConstructorParameters<typeof ArgumentValidationError>[0]);
    },
  );
}

/**
 * A subscription's arguments are used when it starts (its `subscribe`), which type-graphql does not
 * validate: the same control-character check runs there.
 */
function checkSubscriptionArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    const subscribe: GraphQLFieldResolver<unknown, unknown> | undefined = field.subscribe;
    if (!subscribe || field.args.length === 0) continue;
    field.subscribe = (source, args: Record<string, unknown>, context, info) => {
      refuseControlCharacters(args);
      return subscribe(source, args, context, info);
    };
  }
  return schema;
}

/**
 * The executable schema. Arguments are validated (control characters, class-validator); `@Authorized` is
 * checked by `authChecker` (for a subscription when it starts; its events are mapped directly, see
 * subscription-events.ts); a request an API key signed in runs only the root fields its scopes allow.
 */
export async function createSchema(pubSub: PubSubPort = createMemoryPubSub()): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS as unknown as Parameters<typeof buildSchema>[0]['resolvers'],
    authChecker,
    authMode: 'error',
    pubSub,
    validateFn: validateArgument,
  });
  return guardRootFieldsForKeys(
    checkSubscriptionArguments(mapSubscriptionEventsDirectly(schema)),
    (ctx) => (ctx as Context).services.apiKeys.auth,
  );
}
