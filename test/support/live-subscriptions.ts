import { topicName, type PubSubPort } from '../../src/platform/realtime/pubsub';
import { eventually } from './harness';

/**
 * Counts the live subscriptions of a server's in-process PubSub port by wrapping its `subscribe` and `listen`, so
 * a test waits until its subscription is registered instead of sleeping. A `subscribe` is live from its first
 * `next()` (type-graphql's contract; the in-process port registers then, synchronously), a `listen` once it
 * resolves. (With Redis, SUBSCRIBE takes a round trip more: use untilLive from ./ws there.)
 */
export function watchSubscriptions(pubsub: PubSubPort) {
  let live = 0;
  /** Every subscription ever registered: it only grows, so one of an earlier test ending meanwhile takes none back. */
  let registered = 0;
  const byTopic = new Map<string, number>();
  const add = (topic: string, n: number) => byTopic.set(topic, (byTopic.get(topic) ?? 0) + n);
  const subscribe = pubsub.subscribe.bind(pubsub);
  const listen = pubsub.listen.bind(pubsub);
  const counted = (inner: AsyncIterator<unknown>, topic: string, startsLive: boolean): AsyncIterableIterator<unknown> => {
    let state: 'idle' | 'live' | 'ended' = 'idle';
    const begin = () => {
      if (state !== 'idle') return;
      state = 'live';
      live += 1;
      registered += 1;
      add(topic, 1);
    };
    const end = () => {
      if (state === 'live') {
        live -= 1;
        add(topic, -1);
      }
      state = 'ended';
    };
    if (startsLive) begin();
    const it: AsyncIterableIterator<unknown> = {
      next: async () => {
        const result = inner.next();
        begin();
        try {
          const r = await result;
          if (r.done) end();
          return r;
        } catch (err) {
          end();
          throw err;
        }
      },
      return: async (value?: unknown) => {
        end();
        return inner.return ? inner.return(value) : { value, done: true };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  };
  pubsub.subscribe = (key, id) => counted(subscribe(key, id)[Symbol.asyncIterator](), topicName(key, id), false);
  pubsub.listen = async (key, id) => counted(await listen(key, id), topicName(key, id), true);
  return {
    /** Subscriptions registered and not ended. */
    count: () => live,
    /** Waits until at least `n` subscriptions are live. */
    until: (n: number) => eventually(() => live >= n, 5000, `${n} live subscriptions (${live} now)`),
    /**
     * From now on: `until(n)` waits until `n` more subscriptions have been registered. Use this, not `count() + n`,
     * when an earlier test's subscriptions may still be ending (that would lower the count under the target).
     */
    fromNow: () => {
      const base = registered;
      return {
        until: (n: number) => eventually(() => registered - base >= n, 5000, `${n} new live subscriptions (${registered - base} so far)`),
      };
    },
    /** Waits until each of these topics (`key:id`, as `topicName` makes them) has a live subscription. */
    untilOn: (topics: string[]) =>
      eventually(() => topics.every((t) => (byTopic.get(t) ?? 0) > 0), 5000, `live subscriptions on ${topics.length} topics`),
  };
}
