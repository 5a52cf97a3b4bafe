import { print } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import { OnConversationEventsDocument, OnConversationEventsSubscription } from '../generated/graphql';
import { eventually } from './harness';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** from, from + 1, …, to (empty when to < from). */
export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

export interface ConversationFollower {
  /** The MESSAGE seqs seen, in the order they arrived. */
  seqs: number[];
  /** The last seq seen at each reconnect. */
  resumedFrom: number[];
  problems: unknown[];
  stop(): void;
}

/**
 * What a client of a cluster does: follows a conversation from seq 0 on `first`; when its socket dies, resumes
 * after the last seq it saw on a socket from `reconnect`. A socket that dies before `killed()` is a problem.
 */
export function followConversation(opts: {
  conversationId: string;
  first: WsClient;
  reconnect: () => WsClient;
  killed: () => boolean;
}): ConversationFollower {
  const seqs: number[] = [];
  const resumedFrom: number[] = [];
  const problems: unknown[] = [];
  let stopped = false;
  const follow = (socket: WsClient, afterSeq: number) => {
    socket.subscribe<OnConversationEventsSubscription>(
      { query: print(OnConversationEventsDocument), variables: { conversationId: opts.conversationId, afterSeq } },
      {
        next: (v) => {
          if (v.errors?.length) problems.push(v.errors);
          const e = v.data?.conversationEvents;
          if (e?.type === 'MESSAGE') seqs.push(e.message!.seq);
        },
        error: () => {
          if (stopped) return;
          if (!opts.killed()) problems.push('a socket failed before the kill');
          const from = seqs.length ? seqs[seqs.length - 1] : 0;
          resumedFrom.push(from);
          setTimeout(() => follow(opts.reconnect(), from), 50);
        },
        complete: () => undefined,
      },
    );
  };
  follow(opts.first, 0);
  return { seqs, resumedFrom, problems, stop: () => (stopped = true) };
}

/**
 * Waits until every follower has seen seqs 1..lastSeq, then for one more message (`sendMarker` sends it and answers
 * its seq): a follower hears its conversation in order, so a late duplicate would have come before it. Then stops
 * them and checks each saw each message once, in order.
 */
export async function expectEveryMessageOnce(
  followers: ConversationFollower[],
  lastSeq: number,
  sendMarker: () => Promise<number>,
): Promise<void> {
  await eventually(() => followers.every((f) => f.seqs.length >= lastSeq), 20_000, 'every message on every follower');
  const marker = await sendMarker();
  expect(marker).toBe(lastSeq + 1);
  await eventually(() => followers.every((f) => f.seqs.includes(marker)), 20_000, 'the marker message on every follower');
  for (const f of followers) f.stop();
  for (const f of followers) {
    expect(f.problems).toEqual([]);
    expect(f.seqs).toEqual(range(1, marker)); // no gap, no repeat, in order
  }
}
