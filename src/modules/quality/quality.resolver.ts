import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { signedIn } from '../../platform/auth/scope';
import { Topics } from '../../platform/realtime/topics';
import { User } from '../accounts/user.entity';
import { QualityReview, QualityViolation } from './quality.entities';
import {
  AgentAdherence,
  AgentQualityRow,
  ChecklistScoreInput,
  ConversationSentiment,
  QualityAlert,
  QualityAlertPayload,
  QualityChecklistItem,
  QualityReport,
  QualityReviewConnection,
  QualityReviewFilter,
  QualityRuleInfo,
  QualityViolationConnection,
  QualityViolationFilter,
} from './quality.types';

const SUPERVISORS = [Role.ADMIN, Role.MANAGER];

@Resolver(() => QualityViolation)
export class QualityResolver {
  @Authorized(...SUPERVISORS)
  @Query(() => [QualityRuleInfo], { description: 'The inspection rules in force (QUALITY_RULES_FILE)' })
  qualityRules(@Ctx() ctx: Context): QualityRuleInfo[] {
    return ctx.services.config.quality.rules.map(({ code, label }) => ({ code, label }));
  }

  @Authorized(...SUPERVISORS)
  @Query(() => QualityViolationConnection, {
    description: 'Rule violations found in agent messages, newest first. Admins: all; managers: their department',
  })
  qualityViolations(
    @Ctx() ctx: Context,
    @Arg('filter', () => QualityViolationFilter, { nullable: true }) filter?: QualityViolationFilter,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.quality.inspection.list(ctx, filter ?? {}, first, after);
  }

  @Authorized(...SUPERVISORS)
  @Subscription(() => QualityAlert, {
    description:
      'Rule violations and customers turning strongly negative, live. Managers: their department; admins: any, or all when departmentId is omitted',
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const topicId = ctx.services.quality.inspection.topicFor(signedIn(ctx.viewer), (args as { departmentId?: string }).departmentId);
      return ctx.services.pubsub.subscribe(Topics.QUALITY, topicId);
    },
  })
  qualityViolationRaised(
    @Root() e: QualityAlertPayload,
    @Arg('departmentId', () => ID, { nullable: true }) _departmentId?: string,
  ): QualityAlert {
    return { ...e, at: new Date(e.at) };
  }

  @Authorized(...SUPERVISORS)
  @Query(() => ConversationSentiment, {
    description: 'The customer’s sentiment through a conversation. Managers of its department, admins',
  })
  conversationSentiment(@Arg('conversationId', () => ID) conversationId: string, @Ctx() ctx: Context) {
    return ctx.services.quality.inspection.sentiment(ctx, conversationId);
  }

  @Authorized(...SUPERVISORS)
  @Query(() => [QualityChecklistItem], { description: 'What reviewConversation scores (QUALITY_RULES_FILE)' })
  qualityChecklist(@Ctx() ctx: Context): QualityChecklistItem[] {
    return ctx.services.quality.reviews.checklist();
  }

  @Authorized(...SUPERVISORS)
  @Query(() => QualityReviewConnection, {
    description: 'Reviews, newest first, PENDING ones queued by the weekly sample included. Admins: all; managers: their department',
  })
  qualityReviews(
    @Ctx() ctx: Context,
    @Arg('filter', () => QualityReviewFilter, { nullable: true }) filter?: QualityReviewFilter,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.quality.reviews.list(ctx, filter ?? {}, first, after);
  }

  @Authorized(...SUPERVISORS)
  @Mutation(() => QualityReview, { description: 'Scores a conversation by every checklist item, once. Managers of its department, admins' })
  reviewConversation(
    @Arg('id', () => ID, { description: 'The conversation' }) id: string,
    @Arg('scores', () => [ChecklistScoreInput]) scores: ChecklistScoreInput[],
    @Ctx() ctx: Context,
    @Arg('comment', () => String, { nullable: true }) comment?: string | null,
  ) {
    return ctx.services.quality.reviews.review(ctx, { conversationId: id, scores, comment });
  }

  @Authorized(...SUPERVISORS)
  @Query(() => QualityReport, {
    description:
      'Per agent quality over business dates from–to, with the department’s averages. Give departmentId or agentId (managers: their department by default)',
  })
  qualityReport(
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Ctx() ctx: Context,
    @Arg('departmentId', () => ID, { nullable: true }) departmentId?: string | null,
    @Arg('agentId', () => ID, { nullable: true }) agentId?: string | null,
  ) {
    return ctx.services.quality.reports.report(ctx, { from, to, departmentId, agentId });
  }

  @Authorized(...SUPERVISORS)
  @Query(() => String, { description: 'qualityReport as CSV text (header row, one row per agent, then DEPARTMENT_AVERAGE)' })
  qualityReportCsv(
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Ctx() ctx: Context,
    @Arg('departmentId', () => ID, { nullable: true }) departmentId?: string | null,
    @Arg('agentId', () => ID, { nullable: true }) agentId?: string | null,
  ) {
    return ctx.services.quality.reports.csv(ctx, { from, to, departmentId, agentId });
  }

  @Authorized(Role.ADMIN, Role.MANAGER, Role.AGENT)
  @Query(() => [AgentAdherence], {
    description:
      'Schedules against the presence history, per agent, business dates from–to. Admins: any; managers: their department; agents: themselves',
  })
  adherence(
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Ctx() ctx: Context,
    @Arg('agentId', () => ID, { nullable: true }) agentId?: string | null,
    @Arg('departmentId', () => ID, { nullable: true }) departmentId?: string | null,
  ) {
    return ctx.services.quality.adherence.adherence(ctx, { from, to, agentId, departmentId });
  }

  @FieldResolver(() => User, { nullable: true })
  agent(@Root() v: QualityViolation, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(v.agentId);
  }
}

@Resolver(() => QualityReview)
export class QualityReviewResolver {
  @FieldResolver(() => User, { nullable: true })
  agent(@Root() r: QualityReview, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(r.agentId);
  }

  @FieldResolver(() => User, { nullable: true })
  reviewer(@Root() r: QualityReview, @Ctx() ctx: Context) {
    return r.reviewerId ? ctx.loaders.user.load(r.reviewerId) : null;
  }
}

@Resolver(() => AgentAdherence)
export class AgentAdherenceResolver {
  @FieldResolver(() => User, { nullable: true })
  agent(@Root() a: AgentAdherence, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(a.agentId);
  }
}

@Resolver(() => AgentQualityRow)
export class AgentQualityRowResolver {
  @FieldResolver(() => User, { nullable: true })
  agent(@Root() a: AgentQualityRow, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(a.agentId);
  }
}

export const QUALITY_RESOLVERS = [QualityResolver, QualityReviewResolver, AgentAdherenceResolver, AgentQualityRowResolver] as const;
