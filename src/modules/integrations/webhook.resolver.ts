import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { render } from '../../platform/i18n/catalogue';
import { localeOf } from '../../platform/i18n/request-locale';
import { Connection } from '../../platform/pagination';
import { Webhook, WebhookDelivery } from './webhook.entity';
import { CreatedWebhook, CreateWebhookInput, UpdateWebhookInput } from './webhook.inputs';

@ObjectType()
class WebhookDeliveryConnection extends Connection(WebhookDelivery) {}

const MANAGERS = [Role.ADMIN, Role.MANAGER];

@Resolver(() => Webhook)
export class WebhookResolver {
  @Authorized(...MANAGERS)
  @Mutation(() => CreatedWebhook, {
    description: 'Admins (any department, or all); managers for their own department. Returns the signing secret this once.',
  })
  createWebhook(@Arg('input') input: CreateWebhookInput, @Ctx() ctx: Context) {
    return ctx.services.webhooks.create(ctx, input);
  }

  @Authorized(...MANAGERS)
  @Query(() => [Webhook], { description: "All webhooks for admins; their department's for managers" })
  webhooks(@Ctx() ctx: Context) {
    return ctx.services.webhooks.list(ctx);
  }

  @Authorized(...MANAGERS)
  @Mutation(() => Webhook, { description: 'URL, events, or enabled (true re-enables a disabled webhook)' })
  updateWebhook(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateWebhookInput, @Ctx() ctx: Context) {
    return ctx.services.webhooks.update(ctx, id, input);
  }

  // Rendered when read, in the reader's language (see src/platform/i18n); older rows as they were stored.
  @FieldResolver(() => String, { nullable: true })
  disabledReason(@Root() webhook: Webhook, @Ctx() ctx: Context): string | null {
    return webhook.disabledReasonMessage ? render(webhook.disabledReasonMessage, localeOf(ctx)) : webhook.disabledReason;
  }

  @Authorized(...MANAGERS)
  @Mutation(() => ID, { description: 'Deletes the webhook and its deliveries; returns its id' })
  deleteWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.webhooks.delete(ctx, id);
  }

  @Authorized(...MANAGERS)
  @Query(() => WebhookDeliveryConnection, { description: 'Newest first: status, HTTP status, duration, attempts and error of each' })
  webhookDeliveries(
    @Arg('webhookId', () => ID) webhookId: string,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.webhooks.deliveries(ctx, webhookId, first, after);
  }

  @Authorized(...MANAGERS)
  @Mutation(() => WebhookDelivery, { description: 'Sends the event of a delivery again, with the same event id (receivers dedupe)' })
  redeliver(@Arg('deliveryId', () => ID) deliveryId: string, @Ctx() ctx: Context) {
    return ctx.services.webhooks.redeliver(ctx, deliveryId);
  }
}
