import { endsAtOnce } from './ends-at-once';
import type { PubSubPort } from './pubsub';

/** A subscription that listens to `topic:id`, then yields the current state (if any), then everything live. */
export function startingWith<T>(initial: () => Promise<T | null>, pubsub: PubSubPort, routingKey: string, id: string): AsyncGenerator<T> {
  return endsAtOnce(async function* (source) {
    const live = source(await pubsub.listen(routingKey, id));
    try {
      const first = await initial();
      if (first) yield first;
      for (;;) {
        const next = await live.next();
        if (next.done) return;
        yield next.value as T;
      }
    } finally {
      await live.return?.();
    }
  });
}
