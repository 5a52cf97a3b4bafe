/** Something a subscription reads from and can stop: a pub/sub channel, or another subscription's stream. */
export interface Closable {
  return?(value?: unknown): unknown;
}

/**
 * A subscription written as an async generator, which stops at once when the subscriber leaves.
 *
 * Why: an async generator's `return()` waits until the generator reaches its next `yield`. One that waits in
 * `await live.next()` on a quiet topic (an ended chat, a customer no longer queued) would keep listening — with
 * Redis, stay SUBSCRIBEd — until that topic speaks again, perhaps never. Here `return()` first closes every
 * source the body registered with `source(…)`: their pending `next()` resolves done, the body returns and runs
 * its `finally`. A source registered after the end (the body was still starting) is closed as it registers.
 */
export function endsAtOnce<T>(body: (source: <S extends Closable>(s: S) => S) => AsyncGenerator<T>): AsyncGenerator<T> {
  let ended = false;
  const sources: Closable[] = [];
  const source = <S extends Closable>(s: S): S => {
    if (ended) void s.return?.();
    else sources.push(s);
    return s;
  };
  const inner = body(source);
  const outer: AsyncGenerator<T> = {
    next: (...args) => inner.next(...args),
    throw: (err) => inner.throw(err),
    async return(value) {
      ended = true;
      await Promise.all(sources.splice(0).map((s) => s.return?.()));
      return inner.return(value);
    },
    [Symbol.asyncIterator]: () => outer,
  };
  return outer;
}
