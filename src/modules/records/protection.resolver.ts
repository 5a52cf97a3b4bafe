import { Arg, Authorized, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { ProtectedTextKind } from './reveal.service';

@ObjectType({ simpleResolvers: true })
export class MasterKeyUse {
  @Field({ description: 'A master key id of ENCRYPTION_KEYS' })
  keyId!: string;

  @Field(() => Int, { description: 'Data keys it wraps' })
  dataKeys!: number;
}

@ObjectType({ description: 'Encryption at rest: the keyring and how far key rotation has come', simpleResolvers: true })
export class EncryptionStatus {
  @Field({ description: 'The master key new data keys are wrapped with, and rotation re-wraps to' })
  currentKeyId!: string;

  @Field(() => [String])
  configuredKeyIds!: string[];

  @Field(() => [MasterKeyUse], {
    description: 'Master keys still wrapping data keys; a key absent here may be removed from ENCRYPTION_KEYS',
  })
  masterKeys!: MasterKeyUse[];

  @Field(() => Int)
  dataKeys!: number;

  @Field(() => Int, { description: 'Data keys not yet re-wrapped with the current master key (0: rotation done)' })
  pendingRewrap!: number;

  @Field(() => Int, { description: 'Data keys destroyed by forgetCustomer' })
  destroyedDataKeys!: number;

  @Field(() => Date, { nullable: true })
  lastRewrappedAt!: Date | null;
}

@Resolver()
export class ProtectionResolver {
  @Authorized()
  @Query(() => String, {
    description:
      'The original of a text that held personal data (others read it masked), for the roles of REVEAL_ROLES in their scope; audited with the reason and rate limited. A text whose subject was forgotten, or whose seal fails authentication, is answered masked.',
  })
  revealText(
    @Arg('kind', () => ProtectedTextKind) kind: ProtectedTextKind,
    @Arg('id', () => ID) id: string,
    @Arg('reason', () => String) reason: string,
    @Ctx() ctx: Context,
  ): Promise<string> {
    return ctx.services.reveal.reveal(ctx, kind, id, reason);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, {
    description:
      'Admins: erase a customer (deletion right): their data key is destroyed, so every original of theirs is unreadable; the account is anonymised. Audited',
  })
  forgetCustomer(
    @Arg('userId', () => ID) userId: string,
    @Arg('reason', () => String) reason: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    return ctx.services.erasure.forgetCustomer(ctx, userId, reason);
  }

  @Authorized(Role.CUSTOMER)
  @Mutation(() => Boolean, { description: 'Customers: ask for your personal data to be erased; the admins are notified' })
  requestDataErasure(@Arg('reason', () => String, { nullable: true }) reason: string | null, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.erasure.requestDataErasure(ctx, reason);
  }

  @Authorized(Role.ADMIN)
  @Query(() => EncryptionStatus, { description: 'Admins: master keys in use and the progress of key rotation' })
  encryptionStatus(@Ctx() ctx: Context): Promise<EncryptionStatus> {
    withRole(ctx.viewer, Role.ADMIN);
    return ctx.services.keyRotation.status(ctx.em);
  }
}
