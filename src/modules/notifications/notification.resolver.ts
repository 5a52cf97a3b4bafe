import { Arg, Authorized, Ctx, ID, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { Connection } from '../../platform/pagination';
import { Topics } from '../../platform/realtime/topics';
import { Notification } from './notification.entity';
import { fromEvent, NotificationEvent } from './notification.service';

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

  @Authorized()
  @Mutation(() => Notification)
  markNotificationRead(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.notifications.markRead(ctx, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Notification, { description: 'Admins: send a notification to one user' })
  sendNotification(
    @Arg('userId', () => ID) userId: string,
    @Arg('title') title: string,
    @Arg('body') body: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.notifications.send(ctx, { userId, title, body });
  }

  @Authorized()
  @Subscription(() => Notification, {
    name: 'notifications',
    description: "The signed-in user's notifications as they are sent",
    topics: Topics.NOTIFICATIONS,
    topicId: ({ context }: { context: Context }) => context.viewer!.id,
  })
  notificationPushed(@Root() event: NotificationEvent): Notification {
    return fromEvent(event);
  }
}
