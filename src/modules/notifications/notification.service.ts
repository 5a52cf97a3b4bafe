import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import { InvalidInput, NotFound, Unauthenticated } from '../../platform/errors';
import { Page, paginate } from '../../platform/pagination';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import type { AuditService } from '../audit/audit.service';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import { MessageRef, render } from '../../platform/i18n/catalogue';
import { Notification, NotificationTexts } from './notification.entity';

/** Title and body as text, or as catalogue messages rendered in each reader's language (preferred). */
export interface NewNotification {
  userId: string;
  kind: string;
  title: string | MessageRef;
  body: string | MessageRef;
}

/** The JSON shape that travels over pub/sub (and Redis); dates as ISO strings. */
export interface NotificationEvent {
  id: string;
  kind: string;
  title: string;
  body: string;
  texts?: NotificationTexts | null;
  createdAt: string;
  readAt: string | null;
}

export const MAX_TITLE = 200;
export const MAX_BODY = 4000;

export class NotificationService {
  constructor(
    private readonly pubsub: PubSubPort,
    private readonly audit: AuditService,
  ) {}

  /**
   * Stores a notification in `em`'s transaction and pushes it once that transaction commits.
   * Every feature that tells a user something (decisions, assignments) goes through here.
   */
  notify(em: EntityManager, afterCommit: AfterCommit, n: NewNotification): Notification {
    const text = (t: string | MessageRef) => (typeof t === 'string' ? t : render(t, 'zh-CN'));
    const ref = (t: string | MessageRef): MessageRef => (typeof t === 'string' ? { id: 'text.verbatim', params: { text: t } } : t);
    const texts = typeof n.title === 'string' && typeof n.body === 'string' ? null : { title: ref(n.title), body: ref(n.body) };
    const row = em.create(Notification, { ...n, title: text(n.title), body: text(n.body), texts, createdAt: new Date(), readAt: null });
    em.persist(row);
    afterCommit(() => this.pubsub.publish(Topics.NOTIFICATIONS, n.userId, toEvent(row)));
    return row;
  }

  async send(scope: RequestScope, input: { userId: string; title: string; body: string }): Promise<Notification> {
    const title = input.title.trim();
    const body = input.body.trim();
    const problems = [];
    if (!title || title.length > MAX_TITLE) problems.push({ field: 'title', message: `must be 1 to ${MAX_TITLE} characters` });
    if (!body || body.length > MAX_BODY) problems.push({ field: 'body', message: `must be 1 to ${MAX_BODY} characters` });
    if (problems.length) throw new InvalidInput(problems);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const user = await em.findOne(User, { id: input.userId }, { fields: ['id'] });
      if (!user) throw new NotFound('User', input.userId);
      const row = this.notify(em, afterCommit, { userId: user.id, kind: 'MESSAGE', title, body });
      this.audit.record(em, scope, {
        action: 'notification.send',
        targetType: 'User',
        targetId: user.id,
        summary: `Sent notification "${title}"`,
      });
      await em.flush();
      return row;
    });
  }

  list(scope: RequestScope, first: number, after?: string | null, unreadOnly = false): Promise<Page<Notification>> {
    const viewer = scope.viewer;
    if (!viewer) throw new Unauthenticated();
    const where = unreadOnly ? { userId: viewer.id, readAt: null } : { userId: viewer.id };
    return paginate(scope.em, Notification, where, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /**
   * Where a `notifications(afterId)` subscription resumes: after that notification, which must be one of the
   * viewer's own (anything else is BAD_USER_INPUT, revealing nothing about other users' notifications).
   */
  async resumePoint(em: EntityManager, userId: string, afterId: string): Promise<{ createdAt: Date; id: string }> {
    const row = isUuid(afterId) ? await em.findOne(Notification, { id: afterId, userId }, { fields: ['id', 'createdAt'] }) : null;
    if (!row) throw new InvalidInput('afterId', 'is not one of your notifications');
    return { createdAt: row.createdAt, id: row.id };
  }

  /** Marks the viewer's own notification read; someone else's is NOT_FOUND (its existence is not revealed). */
  async markRead(scope: RequestScope, id: string): Promise<Notification> {
    const viewer = scope.viewer;
    if (!viewer) throw new Unauthenticated();
    const row = await scope.em.findOne(Notification, { id, userId: viewer.id });
    if (!row) throw new NotFound('Notification', id);
    if (!row.readAt) {
      row.readAt = new Date();
      await scope.em.flush();
    }
    return row;
  }
}

export function toEvent(n: Notification): NotificationEvent {
  return {
    id: n.id,
    kind: n.kind,
    title: n.title,
    body: n.body,
    texts: n.texts,
    createdAt: n.createdAt.toISOString(),
    readAt: n.readAt ? n.readAt.toISOString() : null,
  };
}

export function fromEvent(e: NotificationEvent): Notification {
  return Object.assign(new Notification(), {
    ...e,
    texts: e.texts ?? null,
    createdAt: new Date(e.createdAt),
    readAt: e.readAt ? new Date(e.readAt) : null,
  });
}
