import type { PubSub } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type Redis from 'ioredis';

/**
 * The one publish/subscribe port every feature uses (and type-graphql's `pubSub`).
 * `publish(key, id, payload)` and `subscribe(key, id)` address the narrow topic `key:id`;
 * without an id the topic is `key` itself. Payloads must survive JSON (Redis carries them as JSON).
 */
export interface PubSubPort extends PubSub {
  publish(routingKey: string, ...args: unknown[]): void;
  subscribe(routingKey: string, dynamicId?: unknown): AsyncIterable<unknown>;
  close(): Promise<void>;
}

export function topicName(routingKey: string, dynamicId?: unknown): string {
  return dynamicId === undefined || dynamicId === null ? routingKey : `${routingKey}:${String(dynamicId)}`;
}

function splitArgs(args: unknown[]): { id: unknown; payload: unknown } {
  return args.length >= 2 ? { id: args[0], payload: args[1] } : { id: undefined, payload: args[0] };
}

/** In-process adapter: one server process, no Redis. */
export function createMemoryPubSub(): PubSubPort {
  const inner = createPubSub<Record<string, [unknown]>>();
  return {
    publish(routingKey, ...args) {
      const { id, payload } = splitArgs(args);
      inner.publish(topicName(routingKey, id), payload);
    },
    subscribe(routingKey, dynamicId) {
      return inner.subscribe(topicName(routingKey, dynamicId));
    },
    async close() {},
  };
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
  } = {},
): PubSubPort {
  const inner = new RedisPubSub({ publisher, subscriber });
  const onPublishError =
    opts.onPublishError ?? ((err: Error, topic: string) => process.emitWarning(`Redis publish to ${topic} failed: ${err.message}`, 'ShiftDeskPubSub'));
  return {
    publish(routingKey, ...args) {
      const { id, payload } = splitArgs(args);
      const topic = topicName(routingKey, id);
      // Publishing happens after a commit, fire-and-forget: a rejection left unhandled would end the process.
      inner.publish(topic, payload).catch((err: unknown) => onPublishError(err instanceof Error ? err : new Error(String(err)), topic));
    },
    subscribe(routingKey, dynamicId) {
      return inner.asyncIterableIterator(topicName(routingKey, dynamicId)) as AsyncIterable<unknown>;
    },
    async close() {
      await inner.close();
    },
  };
}
