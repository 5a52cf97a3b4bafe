import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { ExecutionResult, GraphQLSchema, parse, subscribe } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from '../../src/platform/auth/auth-checker';
import { Role, Viewer } from '../../src/platform/auth/roles';
import { createMemoryPubSub, PubSubPort } from '../../src/platform/realtime/pubsub';
import { Topics } from '../../src/platform/realtime/topics';
import { mapSubscriptionEventsDirectly } from '../../src/platform/subscription-events';
import { ConversationResolver } from '../../src/modules/conversations/conversation.resolver';
import { InboxEventPayload, InboxEventType } from '../../src/modules/conversations/conversation.events';
import { MessageKind } from '../../src/modules/conversations/message.entity';

/**
 * A running subscription's events are mapped by its `@Subscription` method called directly: the role check and
 * the arguments' validation run once, when it starts, not again for every event (type-graphql's way).
 */

const INBOX = parse('subscription { inbox { type conversationId message { id seq content createdAt } at } }');

function viewer(role: Role): Viewer {
  return { id: '11111111-1111-4111-8111-111111111111', role, departmentId: null, locale: null };
}

async function schemaWith(pubsub: PubSubPort): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: [ConversationResolver], authChecker, authMode: 'error', pubSub: pubsub, validate: false });
}

function event(n: number): InboxEventPayload {
  return {
    type: InboxEventType.MESSAGE,
    conversationId: '22222222-2222-4222-8222-222222222222',
    message: {
      id: `33333333-3333-4333-8333-${String(n).padStart(12, '0')}`,
      conversationId: '22222222-2222-4222-8222-222222222222',
      seq: n,
      senderId: null,
      senderRole: Role.CUSTOMER,
      kind: MessageKind.TEXT,
      content: `消息 ${n}`,
      clientMessageId: null,
      createdAt: new Date(Date.UTC(2026, 11, 5, 12, 0, n)).toISOString(),
      deliveredAt: null,
      readAt: null,
    },
    at: new Date(Date.UTC(2026, 11, 5, 12, 0, n)).toISOString(),
  };
}

/** Subscribes to the inbox as `role`, publishes `count` events, and reads them (with the promises made per event). */
async function inbox(schema: GraphQLSchema, pubsub: PubSubPort, role: Role, count: number) {
  const contextValue = { viewer: viewer(role), services: { pubsub } };
  const stream = await subscribe({ schema, document: INBOX, contextValue });
  if (!(Symbol.asyncIterator in stream)) return { refused: stream, results: [], promisesPerEvent: 0 };
  const results: ExecutionResult[] = [];
  let promises = 0;
  const hook = createHook({
    init: (_id, type) => {
      if (type === 'PROMISE') promises++;
    },
  });
  // As in the server, where an AsyncLocalStorage in use turns Node's promise hooks on.
  await new AsyncLocalStorage().run({}, async () => {
    hook.enable();
    try {
      for (let n = 1; n <= count; n++) {
        pubsub.publish(Topics.INBOX, viewer(role).id, event(n));
        results.push((await stream.next()).value as ExecutionResult);
      }
    } finally {
      hook.disable();
    }
  });
  await stream.return?.();
  return { refused: null, results, promisesPerEvent: promises / count };
}

describe('subscription events mapped directly', () => {
  it('maps every event as the method does, with a fraction of the promises type-graphql made for it', async () => {
    const pubsub = createMemoryPubSub();
    const schema = await schemaWith(pubsub);
    const before = await inbox(schema, pubsub, Role.AGENT, 100);
    mapSubscriptionEventsDirectly(schema);
    const after = await inbox(schema, pubsub, Role.AGENT, 100);

    expect(after.results).toEqual(before.results);
    expect(after.results[41]).toEqual({
      data: {
        inbox: {
          type: 'MESSAGE',
          conversationId: '22222222-2222-4222-8222-222222222222',
          message: { id: '33333333-3333-4333-8333-000000000042', seq: 42, content: '消息 42', createdAt: '2026-12-05T12:00:42.000Z' },
          at: '2026-12-05T12:00:42.000Z',
        },
      },
    });
    expect(after.promisesPerEvent * 2).toBeLessThanOrEqual(before.promisesPerEvent);
  });

  it('the role check still runs when a subscription starts: a customer is refused the inbox', async () => {
    const pubsub = createMemoryPubSub();
    const schema = mapSubscriptionEventsDirectly(await schemaWith(pubsub));
    const { refused } = await inbox(schema, pubsub, Role.CUSTOMER, 1);
    expect(refused?.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});
