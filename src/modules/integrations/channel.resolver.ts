import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { ChannelIdentity } from './channel-identity.entity';
import { ChannelInboundInput, ChannelInboundResult, LinkChannelIdentityInput } from './channel.inputs';

@Resolver()
export class ChannelResolver {
  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => ChannelInboundResult, {
    description:
      'API keys with channel:write: a customer’s message from a channel. Opens a conversation (routed and queued like any request) or continues the open one; idempotent by (channel, externalMessageId)',
  })
  channelInbound(@Arg('input') input: ChannelInboundInput, @Ctx() ctx: Context) {
    return ctx.services.channels.inbound(ctx, input);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => ChannelIdentity, {
    description:
      'Admins, managers, API keys with channel:write: the channel identity is this customer from now on (several may be one customer). Audited',
  })
  linkChannelIdentity(@Arg('input') input: LinkChannelIdentityInput, @Ctx() ctx: Context) {
    return ctx.services.channels.link(ctx, input);
  }
}
