import type { PubSub } from 'type-graphql';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type Redis from 'ioredis';
import { RedisGuard, UNGUARDED } from '../redis-breaker';

/**
 * The one publish/subscribe port every feature uses (and type-graphql's `pubSub`).
 * `publish(key, id, payload)` and `subscribe(key, id)` address the narrow topic `key:id`;
 * without an id the topic is `key` itself. Payloads must survive JSON (Redis carries them as JSON).
 */
export interface PubSubPort extends PubSub {
  publish(routingKey: string, ...args: unknown[]): void;
  /** Listens from the first `next()` on (type-graphql's contract). */
  subscribe(routingKey: string, dynamicId?: unknown): AsyncIterable<unknown>;
  /**
   * Listens from the moment the returned promise resolves: for streams that read the database after
   * subscribing (replays), so nothing published in between is missed.
   */
  listen(routingKey: string, dynamicId?: unknown): Promise<AsyncIterableIterator<unknown>>;
  /**
   * Calls `listener` each time delivery resumes after the transport was cut off (Redis unreachable) at
   * `cutOffAt`, once this process is subscribed again: whatever was published meanwhile is lost, so streams
   * that can read what they missed from the database do it then. Returns the function that removes it.
   */
  onResumed(listener: (cutOffAt: Date) => void): () => void;
  close(): Promise<void>;
}

/** A subscription's buffer: values pushed before anyone asks wait in order; `return()` ends it and unsubscribes. */
class Channel implements AsyncIterableIterator<unknown> {
  private readonly queue: unknown[] = [];
  private readonly waiting: Array<(r: IteratorResult<unknown>) => void> = [];
  private closed = false;

  constructor(private readonly onClose: () => void) {}

  push(value: unknown): void {
    if (this.closed) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter({ value, done: false });
    else this.queue.push(value);
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift(), done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async return(): Promise<IteratorResult<unknown>> {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = 0;
      for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
      this.onClose();
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

export function topicName(routingKey: string, dynamicId?: unknown): string {
  return dynamicId === undefined || dynamicId === null ? routingKey : `${routingKey}:${String(dynamicId)}`;
}

function splitArgs(args: unknown[]): { id: unknown; payload: unknown } {
  return args.length >= 2 ? { id: args[0], payload: args[1] } : { id: undefined, payload: args[0] };
}

/**
 * In-process adapter: one server process, no Redis. Every subscriber is a Channel in a set per topic, so a
 * publish is one loop over that topic's subscribers and a subscription costs one small object (it was an
 * EventTarget listener plus a Repeater each, through @graphql-yoga/subscription).
 */
export function createMemoryPubSub(): PubSubPort {
  const channels = new Map<string, Set<Channel>>();
  const open = (topic: string): Channel => {
    let set = channels.get(topic);
    if (!set) channels.set(topic, (set = new Set()));
    const subscribers = set;
    const ch: Channel = new Channel(() => {
      subscribers.delete(ch);
      if (!subscribers.size && channels.get(topic) === subscribers) channels.delete(topic);
    });
    subscribers.add(ch);
    return ch;
  };
  return {
    publish(routingKey, ...args) {
      const { id, payload } = splitArgs(args);
      const subscribers = channels.get(topicName(routingKey, id));
      if (subscribers) for (const ch of subscribers) ch.push(payload);
    },
    subscribe(routingKey, dynamicId) {
      // Listening starts when the iterator is made (graphql-js makes it at once), before its first next().
      return { [Symbol.asyncIterator]: () => open(topicName(routingKey, dynamicId)) };
    },
    async listen(routingKey, dynamicId) {
      return open(topicName(routingKey, dynamicId));
    },
    // One process, no transport to lose.
    onResumed() {
      return () => {};
    },
    async close() {},
  };
}

function untilReady(client: Redis): Promise<void> {
  return client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve()));
}

/**
 * Redis adapter for a cluster. Redis pub/sub is at-most-once: it carries hints, the database holds the truth.
 * The payload is serialized once per event by graphql-redis-subscriptions, not once per subscriber.
 */
export function createRedisPubSub(
  publisher: Redis,
  subscriber: Redis,
  opts: {
    /** A publish that failed (Redis unreachable): the event is lost, as at-most-once allows; the process goes on. */
    onPublishError?: (err: Error, topic: string) => void;
    /** The circuit breaker: while it is open a publish fails at once (and is reported as failed). */
    guard?: RedisGuard;
  } = {},
): PubSubPort {
  const inner = new RedisPubSub({ publisher, subscriber });
  const resumedListeners = new Set<(cutOffAt: Date) => void>();
  let cutOffAt: Date | null = null;
  subscriber.on('close', () => (cutOffAt ??= new Date()));
  subscriber.on('ready', () => {
    const since = cutOffAt;
    if (!since) return;
    // ioredis re-sends SUBSCRIBE for every channel (and those queued meanwhile) on 'ready'; a PING on the
    // same connection answers after them, so what is published from then on reaches this process and a
    // catch-up read misses nothing. The publisher must be back too, or what this process publishes is still
    // lost. Cut off again before that: cutOffAt stays, and the next 'ready' tries again.
    Promise.all([subscriber.ping(), untilReady(publisher)]).then(
      () => {
        if (cutOffAt !== since) return;
        cutOffAt = null;
        for (const listener of resumedListeners) listener(since);
      },
      () => {},
    );
  });
  const guard = opts.guard ?? UNGUARDED;
  const onPublishError =
    opts.onPublishError ??
    ((err: Error, topic: string) => process.emitWarning(`Redis publish to ${topic} failed: ${err.message}`, 'ShiftDeskPubSub'));
  return {
    publish(routingKey, ...args) {
      const { id, payload } = splitArgs(args);
      const topic = topicName(routingKey, id);
      // Publishing happens after a commit, fire-and-forget: a rejection left unhandled would end the process.
      guard
        .execute(() => inner.publish(topic, payload))
        .catch((err: unknown) => onPublishError(err instanceof Error ? err : new Error(String(err)), topic));
    },
    subscribe(routingKey, dynamicId) {
      return inner.asyncIterableIterator(topicName(routingKey, dynamicId)) as AsyncIterable<unknown>;
    },
    async listen(routingKey, dynamicId) {
      let subscriptionId: number | null = null;
      let closed = false;
      const ch = new Channel(() => {
        closed = true;
        if (subscriptionId !== null) inner.unsubscribe(subscriptionId);
      });
      // Resolves once Redis has confirmed the SUBSCRIBE (unsubscribing before that would corrupt the adapter's refs).
      const subscribed = inner
        .subscribe(topicName(routingKey, dynamicId), (message: unknown) => ch.push(message))
        .then((id) => {
          subscriptionId = id;
          if (closed) inner.unsubscribe(id);
        });
      // While Redis is down the SUBSCRIBE waits in the queue: the stream starts now (its replay reads
      // PostgreSQL) and hears live events once Redis is back, when onResumed tells it to catch up.
      if (!cutOffAt) await subscribed;
      else subscribed.catch(() => {}); // rejected only when the connection is closed for good (shutdown)
      return ch;
    },
    onResumed(listener) {
      resumedListeners.add(listener);
      return () => resumedListeners.delete(listener);
    },
    async close() {
      await inner.close();
    },
  };
}
