import { setTimeout as sleep } from 'node:timers/promises';
import { GroupCommit } from '../../src/modules/conversations/group-commit';

/** What each call of `decide` was given; each answers its items doubled. */
function recording(decideMs = 0): { batches: number[][]; decide: (items: number[]) => Promise<number[]> } {
  const batches: number[][] = [];
  return {
    batches,
    decide: async (items) => {
      batches.push([...items]);
      if (decideMs) await sleep(decideMs);
      return items.map((i) => i * 2);
    },
  };
}

/** Submits 1..n, `gapMs` apart; resolves to their answers. */
async function submitSpread(commit: GroupCommit<number, number>, n: number, gapMs: number): Promise<number[]> {
  const answers: Array<Promise<number>> = [];
  for (let i = 1; i <= n; i++) {
    answers.push(commit.submit(i));
    await sleep(gapMs);
  }
  return Promise.all(answers);
}

describe('GroupCommit: the batching behind the chat append (CHAT_APPEND_WINDOW_MS)', () => {
  it('with a window, items arriving within it of the first are decided together', async () => {
    const { batches, decide } = recording();
    const commit = new GroupCommit(decide, { windowMs: 200, maxBatch: 200 });
    // Spread over ~20 ms, well inside the window.
    expect(await submitSpread(commit, 4, 5)).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('without one, items spread over several turns go in several batches, each answered in order', async () => {
    const { batches, decide } = recording();
    const commit = new GroupCommit(decide, { windowMs: 0, maxBatch: 200 });
    expect(await submitSpread(commit, 4, 5)).toEqual([2, 4, 6, 8]);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual([1, 2, 3, 4]);
  });

  it('items arriving while a batch is decided wait for the next one, never more than maxBatch at once', async () => {
    const { batches, decide } = recording(20);
    const commit = new GroupCommit(decide, { windowMs: 0, maxBatch: 3 });
    const first = commit.submit(1);
    await sleep(5); // the first batch is being decided
    const rest = [2, 3, 4, 5, 6].map((i) => commit.submit(i));
    expect(await Promise.all([first, ...rest])).toEqual([2, 4, 6, 8, 10, 12]);
    expect(batches).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('a failing batch is decided again item by item, so only the bad item fails', async () => {
    const batches: number[][] = [];
    const commit = new GroupCommit<number, number>(
      async (items) => {
        batches.push([...items]);
        if (items.includes(3)) throw new Error('three is refused');
        return items.map((i) => i * 2);
      },
      { windowMs: 10, maxBatch: 200 },
    );
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((i) => commit.submit(i)));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([2, 4, 'three is refused', 8]);
    expect(batches).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
  });
});
