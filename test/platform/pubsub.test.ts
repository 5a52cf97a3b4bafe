import Redis from 'ioredis';
import { createMemoryPubSub, createRedisPubSub, PubSubPort } from '../../src/platform/realtime/pubsub';
import { hasRedis } from '../support/harness';

/** `listen` must be listening when it resolves: replays read the database right after it. */
function listenContract(name: string, make: () => Promise<{ pubsub: PubSubPort; close: () => Promise<void> }>) {
  describe(`${name} pub/sub`, () => {
    let pubsub: PubSubPort;
    let close: () => Promise<void>;
    beforeAll(async () => ({ pubsub, close } = await make()));
    afterAll(() => close());

    it('delivers what is published right after listen resolves, in order, on the narrow topic only', async () => {
      const ch = await pubsub.listen('T', 'a');
      pubsub.publish('T', 'b', { n: -1 });
      for (let n = 0; n < 5; n++) pubsub.publish('T', 'a', { n });
      const got = [];
      for (let i = 0; i < 5; i++) got.push((await ch.next()).value);
      expect(got).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })));
      await ch.return!();
      expect((await ch.next()).done).toBe(true);
    });
  });
}

listenContract('in-memory', async () => ({ pubsub: createMemoryPubSub(), close: async () => {} }));

if (hasRedis) {
  listenContract('Redis', async () => {
    const url = process.env.TEST_REDIS_URL!;
    const pubsub = createRedisPubSub(new Redis(url), new Redis(url));
    return { pubsub, close: () => pubsub.close() };
  });
}
