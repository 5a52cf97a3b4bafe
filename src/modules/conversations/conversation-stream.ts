import type { EntityManager } from '@mikro-orm/postgresql';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
export { startingWith } from '../../platform/realtime/starting-with';
import { Conversation } from './conversation.entity';
import { ConversationEventPayload, ConversationEventType, toMessagePayload } from './conversation.events';
import { Message } from './message.entity';

type Result = IteratorResult<ConversationEventPayload>;
const DONE: Result = { value: undefined, done: true };

/**
 * The events of one conversation for one subscriber, with no gap and no duplicate: it listens first,
 * then replays every stored message after `afterSeq`, then passes live events on. A live message at or
 * below the last seq delivered is dropped (already sent); one beyond the next expected seq means pub/sub
 * lost something (Redis is at-most-once), so the missing ones are read from the database first.
 * `endsAfter`, when given, ends the stream right after the live event it holds for (an agent's stream ends
 * with the event that moves the conversation away from them).
 *
 * Written as an iterator rather than an async generator: a generator re-arms four promises per event (its own
 * `next`, the `await` of the channel, the `yield`'s await, and with Node's promise hooks on a promise per
 * await), this one a single `then` on the channel. They all wait for the conversation's next event, long
 * enough to be promoted to V8's old generation, whose growth decides how often a full GC (the chat's p99 tail)
 * runs; every customer holds one of these. `return()` ends it at once, even while it waits on a quiet topic.
 */
export function conversationStream(
  pubsub: PubSubPort,
  em: () => EntityManager,
  conversationId: string,
  afterSeq: number | null,
  endsAfter?: (event: ConversationEventPayload) => boolean,
): ConversationEvents {
  return new ConversationEvents(pubsub, em, conversationId, afterSeq, endsAfter);
}

export class ConversationEvents implements AsyncIterableIterator<ConversationEventPayload> {
  private live: AsyncIterableIterator<unknown> | null = null;
  /** Listening, then the first read: the last seq stored, or the replay after `afterSeq`. */
  private readonly started: Promise<void>;
  /** Stored messages to deliver before the next live event (the replay, a gap read from the database). */
  private readonly backlog: ConversationEventPayload[] = [];
  /** The last seq delivered (or stored when the stream began without afterSeq). */
  private last = 0;
  private ended = false;
  /** Listening and the first read done: live events may pass. */
  private ready = false;
  /** The live event queued last in the backlog is the one `endsAfter` ends the stream with. */
  private endsWithBacklog = false;

  constructor(
    pubsub: PubSubPort,
    private readonly em: () => EntityManager,
    private readonly conversationId: string,
    afterSeq: number | null,
    private readonly endsAfter?: (event: ConversationEventPayload) => boolean,
  ) {
    this.started = this.start(pubsub, afterSeq);
    // A failed start reaches the subscriber through next(); it must not also be an unhandled rejection.
    this.started.catch(() => {});
  }

  next(): Promise<Result> {
    if (this.backlog.length) {
      const event = this.backlog.shift()!;
      if (this.backlog.length === 0 && this.endsWithBacklog) void this.close();
      return Promise.resolve({ value: event, done: false });
    }
    if (!this.ready && !this.ended) return this.started.then(() => this.next());
    if (this.ended || !this.live) return Promise.resolve(DONE);
    return this.live.next().then(this.onLive, this.fail);
  }

  /** The subscriber left: stop listening now, even while waiting on a quiet topic. */
  async return(): Promise<Result> {
    await this.close();
    return DONE;
  }

  async throw(error: unknown): Promise<Result> {
    await this.close();
    throw error;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private async start(pubsub: PubSubPort, afterSeq: number | null): Promise<void> {
    const live = await pubsub.listen(Topics.CONVERSATION, this.conversationId);
    if (this.ended) {
      await live.return?.(); // the subscriber left while it was subscribing
      return;
    }
    this.live = live;
    try {
      if (afterSeq === null) {
        const { lastSeq } = await this.em().findOneOrFail(Conversation, { id: this.conversationId }, { fields: ['lastSeq'] });
        this.last = lastSeq;
      } else {
        const stored = await storedAfter(this.em(), this.conversationId, afterSeq);
        if (this.ended) return; // the subscriber left during the read
        this.last = afterSeq;
        this.queueStored(stored);
      }
      this.ready = true;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private readonly onLive = (next: IteratorResult<unknown>): Result | Promise<Result> => {
    if (next.done || this.ended) return this.close().then(() => DONE);
    const event = next.value as ConversationEventPayload;
    if (event.type === ConversationEventType.MESSAGE && event.message) {
      const seq = event.message.seq;
      if (seq <= this.last) return this.next(); // delivered already
      if (seq > this.last + 1) {
        // Pub/sub lost what lies between: read it, deliver it first, then this one.
        return storedAfter(this.em(), this.conversationId, this.last, seq).then((missing) => {
          if (this.ended) return DONE;
          this.queueStored(missing);
          this.last = seq;
          this.backlog.push(event);
          this.endsWithBacklog = this.endsAfter?.(event) ?? false;
          return this.next();
        }, this.fail);
      }
      this.last = seq;
    }
    if (this.endsAfter?.(event)) void this.close();
    return { value: event, done: false };
  };

  private queueStored(messages: Message[]): void {
    for (const m of messages) {
      this.backlog.push(messageEvent(m));
      this.last = m.seq;
    }
  }

  private readonly fail = async (err: unknown): Promise<never> => {
    await this.close();
    throw err;
  };

  private async close(): Promise<void> {
    if (this.ended) return; // once ended nothing listens: start() never keeps a channel it gets after the end
    this.ended = true;
    this.endsWithBacklog = false;
    this.backlog.length = 0;
    const live = this.live;
    this.live = null;
    await live?.return?.();
  }
}

/** Stored messages with last < seq (< before, when given), in order. */
function storedAfter(em: EntityManager, conversationId: string, last: number, before?: number): Promise<Message[]> {
  return em.find(Message, { conversationId, seq: before ? { $gt: last, $lt: before } : { $gt: last } }, { orderBy: { seq: 'asc' } });
}

function messageEvent(m: Message): ConversationEventPayload {
  const message = toMessagePayload(m);
  return { type: ConversationEventType.MESSAGE, conversationId: m.conversationId, message, at: message.createdAt };
}
