import {
  HeartbeatDocument,
  OnConversationEventsDocument,
  OnNotificationDocument,
  OnQueueUpdatesDocument,
  RequestServiceDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

/**
 * A subscriber who leaves a quiet topic (nothing will be published on it again) stops the server listening at once,
 * not when the topic next speaks: an async generator's return() would otherwise wait for its next yield, and the
 * listener (with Redis, the SUBSCRIBE) would stay for the life of the process.
 */
describe('leaving a subscription stops its listener at once', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    live = watchSubscriptions(app.services.pubsub);
  });
  afterAll(() => app.stop());

  /** Starts the subscription, waits until the server listens, leaves it and waits until the server stops. */
  async function leaveWhileQuiet(start: () => { unsubscribe: () => void }) {
    const before = live.count();
    const sub = start();
    await live.until(before + 1);
    sub.unsubscribe();
    await eventually(() => live.count() === before, 5000, 'the listener to stop');
  }

  it('queueUpdates of a customer who waits for nothing', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    await leaveWhileQuiet(() => subscribe(app.ws(customer.token), OnQueueUpdatesDocument, {}));
  });

  it('notifications with nothing new', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    await leaveWhileQuiet(() => subscribe(app.ws(customer.token), OnNotificationDocument, {}));
  });

  it('conversationEvents of a quiet conversation, for its customer and for its agent', async () => {
    const dept = await app.createDepartment('安静', 'quiet');
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    await app.data(HeartbeatDocument, {}, agent.token);
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const asked = await app.data(RequestServiceDocument, { input: { topic: 'quiet', message: '你好' } }, customer.token);
    expect(asked.requestService.status).toBe('ASSIGNED');
    const conversationId = asked.requestService.conversation!.id;
    for (const who of [customer, agent])
      await leaveWhileQuiet(() => subscribe(app.ws(who.token), OnConversationEventsDocument, { conversationId }));
  });
});
