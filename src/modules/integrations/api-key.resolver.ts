import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { ApiKey } from './api-key.entity';
import { ApiKeySecret, CreateApiKeyInput } from './api-key.inputs';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => ApiKeySecret, {
    description: 'Admins: any department or none; managers: their own. The secret is in the answer, and only there',
  })
  createApiKey(@Arg('input') input: CreateApiKeyInput, @Ctx() ctx: Context) {
    return ctx.services.apiKeys.keys.create(ctx, input);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Query(() => [ApiKey], { description: 'Newest first: admins every key, managers their department’s (revoked ones too)' })
  apiKeys(@Ctx() ctx: Context) {
    return ctx.services.apiKeys.keys.list(ctx);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => ApiKey, { description: 'At once on every process; the key’s open WebSockets are closed' })
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.apiKeys.keys.revoke(ctx, id);
  }

  @Authorized(Role.ADMIN, Role.MANAGER)
  @Mutation(() => ApiKeySecret, {
    description: 'A new secret; the old one works until previousValidUntil (API_KEY_ROTATION_OVERLAP_SECONDS)',
  })
  rotateApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.apiKeys.keys.rotate(ctx, id);
  }
}
