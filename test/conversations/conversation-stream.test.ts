import { createHook } from 'node:async_hooks';
import { createMemoryPubSub, type PubSubPort } from '../../src/platform/realtime/pubsub';
import { Topics } from '../../src/platform/realtime/topics';
import { conversationStream } from '../../src/modules/conversations/conversation-stream';
import { Conversation } from '../../src/modules/conversations/conversation.entity';
import { ConversationEventPayload, ConversationEventType } from '../../src/modules/conversations/conversation.events';
import { HeartbeatDocument, RequestServiceDocument, SendMessageDocument } from '../generated/graphql';
import { eventually, startTestApp, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

/**
 * The stream behind `conversationEvents`, driven directly against a running server's PubSub port and database:
 * the gapless order when pub/sub loses messages, `endsAfter`, leaving before the first read ends, and what
 * each live event costs in promises (each waits for the conversation's next event, long enough to be promoted
 * to V8's old generation). The subscription's behaviour over graphql-ws is in chat.test.ts and replay.test.ts.
 */
describe('conversationStream', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;
  let customer: { id: string; token: string };
  let conversationId: string;
  let sent = 0;

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    live = watchSubscriptions(app.services.pubsub);
    const dept = await app.createDepartment('流', 'stream');
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    await app.data(HeartbeatDocument, {}, agent.token);
    customer = await app.createUser({ role: 'CUSTOMER' });
    const asked = await app.data(RequestServiceDocument, { input: { topic: 'stream', message: '你好' } }, customer.token);
    expect(asked.requestService.status).toBe('ASSIGNED');
    conversationId = asked.requestService.conversation!.id;
  });
  afterAll(() => app.stop());

  const em = () => app.services.orm.em.fork();
  const send = async () => {
    const input = { conversationId, content: `消息 ${++sent}`, clientMessageId: `stream-${sent}` };
    return (await app.data(SendMessageDocument, { input }, customer.token)).sendMessage.seq;
  };
  const seqOf = (r: IteratorResult<ConversationEventPayload>) => (r.done ? null : (r.value.message?.seq ?? r.value.type));

  /** The server's port, except that the first `drop` messages published on the conversation never arrive. */
  function losing(drop: number): PubSubPort {
    const pubsub = app.services.pubsub;
    return {
      ...pubsub,
      listen: async (key, id) => {
        const channel = await pubsub.listen(key, id);
        let left = drop;
        const lossy: AsyncIterableIterator<unknown> = {
          next: async () => {
            for (;;) {
              const r = await channel.next();
              if (r.done || left === 0 || (r.value as ConversationEventPayload).type !== ConversationEventType.MESSAGE) return r;
              left--;
            }
          },
          return: () => channel.return!(),
          [Symbol.asyncIterator]: () => lossy,
        };
        return lossy;
      },
    };
  }

  it('messages pub/sub lost are read from the database, in order, before the live one; endsAfter ends with it', async () => {
    const before = live.count();
    // Where the conversation stands, so the stream's start and the seqs of the sends below are known in advance.
    const { lastSeq } = await em().findOneOrFail(Conversation, { id: conversationId }, { fields: ['lastSeq'] });
    const stream = conversationStream(losing(2), em, conversationId, lastSeq, (e) => e.message?.seq === lastSeq + 3);
    const first = stream.next(); // starts listening; nothing stored after lastSeq to replay
    await live.until(before + 1);
    for (let i = 1; i <= 3; i++) expect(await send()).toBe(lastSeq + i); // the first two never arrive: the third shows the gap
    expect([seqOf(await first), seqOf(await stream.next()), seqOf(await stream.next())]).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    await eventually(() => live.count() === before, 5000, 'the stream to stop listening');
  });

  it('a subscriber who leaves while the stream starts gets nothing more and leaves nothing listening', async () => {
    const before = live.count();
    await send();
    const stream = conversationStream(app.services.pubsub, em, conversationId, 0);
    const pending = stream.next();
    expect(await stream.return()).toEqual({ value: undefined, done: true });
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    await eventually(() => live.count() === before, 5000, 'the stream to stop listening');
  });

  it('each live event re-arms the stream with one promise of its own (an async generator: four)', async () => {
    // The in-process port itself: the server's is wrapped by watchSubscriptions, whose own awaits would count.
    const pubsub = createMemoryPubSub();
    const stream = conversationStream(pubsub, em, conversationId, null);
    const typing = (): ConversationEventPayload => ({ type: ConversationEventType.TYPING, conversationId, at: new Date().toISOString() });
    const first = stream.next();
    await eventually(
      async () => {
        pubsub.publish(Topics.CONVERSATION, conversationId, typing());
        return (await Promise.race([first, new Promise((r) => setTimeout(r, 20, null))])) !== null;
      },
      5000,
      'the stream to listen',
    );
    let promises = 0;
    const hook = createHook({
      init: (_id, type) => {
        if (type === 'PROMISE') promises++;
      },
    });
    const events = 100;
    let delivered = 0;
    hook.enable();
    try {
      for (let i = 0; i < events; i++) {
        const next = stream.next();
        pubsub.publish(Topics.CONVERSATION, conversationId, typing());
        if (!(await next).done) delivered++;
      }
    } finally {
      hook.disable();
    }
    await stream.return();
    expect(delivered).toBe(events);
    // Counted per event: the stream's `then`, the channel's promise and this loop's await (the async generator
    // this replaced counted six).
    expect(promises / events).toBeLessThanOrEqual(3);
  });
});
