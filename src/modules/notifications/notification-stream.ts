import type { EntityManager } from '@mikro-orm/postgresql';
import { endsAtOnce, type Closable } from '../../platform/realtime/ends-at-once';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import { Notification } from './notification.entity';
import { NotificationEvent, toEvent } from './notification.service';

/** Where a replay starts: after this notification (by createdAt, then id), or from this instant on. */
export type ReplayFrom = { createdAt: Date; id: string } | { createdAt: Date; id?: undefined };

/**
 * A notification is stamped when it is created, before its transaction commits; a catch-up reads this far
 * back before the outage so one that committed (and failed to publish) just after it began is not missed.
 */
const CATCH_UP_SLACK_MS = 60_000;
const PAGE = 200;
/** Ids remembered to drop a notification delivered twice (replay and live, or catch-up and live). */
const REMEMBERED_IDS = 1000;

/**
 * One user's notifications for one subscriber. It listens first; with `after`, replays every stored
 * notification after it; then passes live ones on. Pub/sub is at-most-once, and while Redis is down nothing
 * is published at all: when delivery resumes, what was stored meanwhile is read from the database. Every
 * notification reaches the subscriber once.
 */
export function notificationStream(
  pubsub: PubSubPort,
  em: () => EntityManager,
  userId: string,
  after: ReplayFrom | null,
): AsyncGenerator<NotificationEvent> {
  return endsAtOnce((source) => notificationEvents(source, pubsub, em, userId, after));
}

async function* notificationEvents(
  source: <S extends Closable>(s: S) => S,
  pubsub: PubSubPort,
  em: () => EntityManager,
  userId: string,
  after: ReplayFrom | null,
): AsyncGenerator<NotificationEvent> {
  const live = source(await pubsub.listen(Topics.NOTIFICATIONS, userId));
  const listeningSince = new Date();
  let resumed!: (cutOffAt: Date) => void;
  const nextResume = () => new Promise<{ cutOffAt: Date }>((resolve) => (resumed = (cutOffAt) => resolve({ cutOffAt })));
  let resume = nextResume();
  const stopWatching = pubsub.onResumed((cutOffAt) => resumed(cutOffAt));
  const delivered = new RecentIds(REMEMBERED_IDS);
  try {
    if (after) {
      for await (const n of storedAfter(em, userId, after)) {
        delivered.add(n.id);
        yield n;
      }
    }
    let nextLive = live.next();
    for (;;) {
      const first = await Promise.race([nextLive, resume]);
      if ('cutOffAt' in first) {
        resume = nextResume();
        // Nothing older than the subscription (or than `after`) is owed to it.
        const from = Math.max(first.cutOffAt.getTime() - CATCH_UP_SLACK_MS, (after?.createdAt ?? listeningSince).getTime());
        for await (const n of storedAfter(em, userId, { createdAt: new Date(from) })) {
          if (delivered.has(n.id)) continue;
          delivered.add(n.id);
          yield n;
        }
        continue;
      }
      if (first.done) return;
      nextLive = live.next();
      const event = first.value as NotificationEvent;
      if (delivered.has(event.id)) continue;
      delivered.add(event.id);
      yield event;
    }
  } finally {
    stopWatching();
    await live.return?.();
  }
}

/** The user's stored notifications after `from`, oldest first, a page at a time (each through a fresh fork). */
async function* storedAfter(em: () => EntityManager, userId: string, from: ReplayFrom): AsyncGenerator<NotificationEvent> {
  let cursor = from;
  for (;;) {
    const where = cursor.id
      ? { userId, $or: [{ createdAt: { $gt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $gt: cursor.id } }] }
      : { userId, createdAt: { $gte: cursor.createdAt } };
    const rows = await em().find(Notification, where, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: PAGE });
    for (const row of rows) yield toEvent(row);
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1];
    cursor = { createdAt: last.createdAt, id: last.id };
  }
}

/** A set of the most recently added ids, forgetting the oldest beyond `max`. */
class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
  }
}
