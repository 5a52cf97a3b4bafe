import { endsAtOnce } from './ends-at-once';
import type { PubSubPort } from './pubsub';

/**
 * A subscription that listens to `topic:id`, then yields the current state (if any), then everything live —
 * but, given `same`, never a state the same as the one it yielded last: the snapshot and a refresh published
 * just after it, or a refresh that changed nothing for this subscriber, reach it once.
 */
export function startingWith<T>(
  initial: () => Promise<T | null>,
  pubsub: PubSubPort,
  routingKey: string,
  id: string,
  same: (a: T, b: T) => boolean = () => false,
): AsyncGenerator<T> {
  return endsAtOnce(async function* (source) {
    const live = source(await pubsub.listen(routingKey, id));
    try {
      let last: T | null = await initial();
      if (last) yield last;
      for (;;) {
        const next = await live.next();
        if (next.done) return;
        const value = next.value as T;
        if (last && same(last, value)) continue;
        last = value;
        yield value;
      }
    } finally {
      await live.return?.();
    }
  });
}
