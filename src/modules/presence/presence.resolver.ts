import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { signedIn } from '../../platform/auth/scope';
import { Topics } from '../../platform/realtime/topics';
import { User } from '../accounts/user.entity';
import { Presence, PresenceEvent, PresenceEventPayload, PresenceStatusValue } from './presence.types';

@Resolver(() => Presence)
export class PresenceResolver {
  @Authorized(...STAFF)
  @Query(() => [Presence], { description: 'Staff: agents of their own department; admins: anyone' })
  presence(@Arg('agentIds', () => [ID]) agentIds: string[], @Ctx() ctx: Context) {
    return ctx.services.presence.presence(ctx, agentIds);
  }

  @Authorized(Role.AGENT, Role.MANAGER)
  @Mutation(() => Presence, { description: 'Keeps the caller online for 90 s; clients without a WebSocket send one every 30 s' })
  heartbeat(@Ctx() ctx: Context) {
    return ctx.services.presence.heartbeat(ctx);
  }

  @Authorized(Role.AGENT, Role.MANAGER)
  @Mutation(() => Presence)
  setPresenceStatus(@Arg('status', () => PresenceStatusValue) status: PresenceStatusValue, @Ctx() ctx: Context) {
    return ctx.services.presence.setStatus(ctx, status);
  }

  @Authorized(...STAFF)
  @Subscription(() => PresenceEvent, {
    description:
      'Connects, disconnects, status changes and expiries. Staff: their department; admins: any, or all when departmentId is omitted.',
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const topicId = ctx.services.presence.topicFor(signedIn(ctx.viewer), (args as { departmentId?: string }).departmentId);
      return ctx.services.pubsub.subscribe(Topics.PRESENCE, topicId);
    },
  })
  presenceChanged(
    @Root() e: PresenceEventPayload,
    @Arg('departmentId', () => ID, { nullable: true }) _departmentId?: string,
  ): PresenceEvent {
    return { ...e, at: new Date(e.at) };
  }

  @FieldResolver(() => User, { nullable: true })
  agent(@Root() p: Presence, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(p.agentId);
  }
}
