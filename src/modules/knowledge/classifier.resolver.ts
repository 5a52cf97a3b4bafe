import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import { STAFF } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { Classification } from './classification.types';
import { checkMessage, MAX_MESSAGE_LENGTH } from './classifier';

@Resolver(() => Classification)
export class ClassifierResolver {
  @Authorized(...STAFF)
  @Query(() => Classification, {
    description:
      'Intent, confidence, sentiment with intensity, priority and suggested actions of a customer message, by the rules in ' +
      `CLASSIFIER_RULES_FILE. content: 1–${MAX_MESSAGE_LENGTH} characters.`,
  })
  classifyMessage(@Arg('content') content: string, @Ctx() ctx: Context): Classification {
    withRole(ctx.viewer, ...STAFF);
    return ctx.services.classifier.classify(checkMessage(content));
  }
}
