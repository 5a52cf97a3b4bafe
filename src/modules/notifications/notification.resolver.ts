import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import { render } from '../../platform/i18n/catalogue';
import { localeOf } from '../../platform/i18n/request-locale';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { Connection } from '../../platform/pagination';
import { signedIn } from '../../platform/auth/scope';
import { Notification } from './notification.entity';
import { fromEvent, NotificationEvent } from './notification.service';
import { notificationStream } from './notification-stream';

@ObjectType()
export class NotificationConnection extends Connection(Notification) {}

@Resolver(() => Notification)
export class NotificationResolver {
  @Authorized()
  @Query(() => NotificationConnection, { description: "The signed-in user's notifications, newest first" })
  notifications(
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('unreadOnly', () => Boolean, { defaultValue: false }) unreadOnly = false,
  ) {
    return ctx.services.notifications.list(ctx, first, after, unreadOnly);
  }

  // Rendered when read or pushed, in the reader's language (see src/platform/i18n).
  @FieldResolver(() => String)
  title(@Root() n: Notification, @Ctx() ctx: Context): string {
    return n.texts ? render(n.texts.title, localeOf(ctx)) : n.title;
  }

  @FieldResolver(() => String)
  body(@Root() n: Notification, @Ctx() ctx: Context): string {
    return n.texts ? render(n.texts.body, localeOf(ctx)) : n.body;
  }

  @Authorized()
  @Mutation(() => Notification)
  markNotificationRead(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.notifications.markRead(ctx, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Notification, { description: 'Admins: send a notification to one user' })
  sendNotification(@Arg('userId', () => ID) userId: string, @Arg('title') title: string, @Arg('body') body: string, @Ctx() ctx: Context) {
    return ctx.services.notifications.send(ctx, { userId, title, body });
  }

  @Authorized()
  @Subscription(() => Notification, {
    name: 'notifications',
    description:
      "The signed-in user's notifications as they are sent. With afterId (the last one the client saw), every stored one after it comes first: no gap, no duplicate.",
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const viewer = signedIn(ctx.viewer);
      const { afterId } = args as { afterId?: string | null };
      const { services } = ctx;
      const after = afterId ? await services.notifications.resumePoint(services.orm.em.fork(), viewer.id, afterId) : null;
      // Each read goes through a fresh fork: a long-lived one would grow without bound.
      return notificationStream(services.pubsub, () => services.orm.em.fork(), viewer.id, after);
    },
  })
  notificationPushed(@Root() event: NotificationEvent, @Arg('afterId', () => ID, { nullable: true }) _afterId?: string): Notification {
    return fromEvent(event);
  }
}
