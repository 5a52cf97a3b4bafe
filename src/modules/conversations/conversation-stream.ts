import type { EntityManager } from '@mikro-orm/postgresql';
import { endsAtOnce, type Closable } from '../../platform/realtime/ends-at-once';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
export { startingWith } from '../../platform/realtime/starting-with';
import { Conversation } from './conversation.entity';
import { ConversationEventPayload, ConversationEventType, toMessagePayload } from './conversation.events';
import { Message } from './message.entity';

/**
 * The events of one conversation for one subscriber, with no gap and no duplicate: it listens first,
 * then replays every stored message after `afterSeq`, then passes live events on. A live message at or
 * below the last seq delivered is dropped (already sent); one beyond the next expected seq means pub/sub
 * lost something (Redis is at-most-once), so the missing ones are read from the database first.
 * `endsAfter`, when given, ends the stream right after the live event it holds for (an agent's stream ends
 * with the event that moves the conversation away from them). It is checked here rather than by another
 * generator around this one: every layer re-arms its own promises for each subscriber after each event, and
 * those wait until the conversation's next event, long enough to be promoted to V8's old generation.
 */
export function conversationStream(
  pubsub: PubSubPort,
  em: () => EntityManager,
  conversationId: string,
  afterSeq: number | null,
  endsAfter?: (event: ConversationEventPayload) => boolean,
): AsyncGenerator<ConversationEventPayload> {
  return endsAtOnce((source) => conversationEvents(source, pubsub, em, conversationId, afterSeq, endsAfter));
}

async function* conversationEvents(
  source: <S extends Closable>(s: S) => S,
  pubsub: PubSubPort,
  em: () => EntityManager,
  conversationId: string,
  afterSeq: number | null,
  endsAfter: ((event: ConversationEventPayload) => boolean) | undefined,
): AsyncGenerator<ConversationEventPayload> {
  const live = source(await pubsub.listen(Topics.CONVERSATION, conversationId));
  try {
    let last: number;
    if (afterSeq === null) {
      last = (await em().findOneOrFail(Conversation, { id: conversationId }, { fields: ['lastSeq'] })).lastSeq;
    } else {
      last = afterSeq;
      for (const m of await storedAfter(em(), conversationId, last)) {
        yield messageEvent(m);
        last = m.seq;
      }
    }
    for (;;) {
      const next = await live.next();
      if (next.done) return;
      const event = next.value as ConversationEventPayload;
      if (event.type === ConversationEventType.MESSAGE && event.message) {
        const seq = event.message.seq;
        if (seq <= last) continue;
        if (seq > last + 1) {
          for (const m of await storedAfter(em(), conversationId, last, seq)) {
            yield messageEvent(m);
            last = m.seq;
          }
        }
        last = seq;
      }
      yield event;
      if (endsAfter?.(event)) return;
    }
  } finally {
    await live.return?.();
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
