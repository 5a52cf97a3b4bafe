import { endsAtOnce } from '../../platform/realtime/ends-at-once';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../context';
import { Role } from '../../platform/auth/roles';
import { render } from '../../platform/i18n/catalogue';
import { localeOf } from '../../platform/i18n/request-locale';
import { Connection } from '../../platform/pagination';
import { ALL_DEPARTMENTS, Topics } from '../../platform/realtime/topics';
import { Alert, AlertDelivery, AlertStatus } from './alert.entity';
import { AlertEvent, fromAlertEvent } from './alert-evaluator';
import { fromEvent, LiveDashboardEvent } from './dashboard-publisher';
import { DashboardPeriod, LiveDashboard, ServiceDashboard } from './dashboard.types';

@ObjectType()
export class AlertConnection extends Connection(Alert) {}

@ObjectType()
export class AlertDeliveryConnection extends Connection(AlertDelivery) {}

/** Who may watch the desk: managers (their department) and admins (any or all); the services check the scope. */
const SUPERVISORS = [Role.ADMIN, Role.MANAGER];

@Resolver(() => ServiceDashboard)
export class ServiceDashboardResolver {
  @Authorized(...SUPERVISORS)
  @Query(() => ServiceDashboard, {
    description: 'Managers: their department; admins: any department, or all when departmentId is null. Parts are computed when selected.',
  })
  async serviceDashboard(
    @Arg('departmentId', () => ID, { nullable: true }) departmentId: string | null,
    @Ctx() ctx: Context,
  ): Promise<Pick<ServiceDashboard, 'departmentId'>> {
    return { departmentId: await ctx.services.dashboard.dashboardScope(ctx, departmentId) };
  }

  @FieldResolver(() => LiveDashboard)
  live(@Root() d: ServiceDashboard, @Ctx() ctx: Context) {
    return ctx.services.dashboard.live(ctx.em, d.departmentId);
  }

  @FieldResolver(() => DashboardPeriod)
  today(@Root() d: ServiceDashboard, @Ctx() ctx: Context) {
    return ctx.services.dashboard.period(ctx.em, d.departmentId, 'today');
  }

  @FieldResolver(() => DashboardPeriod)
  week(@Root() d: ServiceDashboard, @Ctx() ctx: Context) {
    return ctx.services.dashboard.period(ctx.em, d.departmentId, 'week');
  }

  @Authorized(...SUPERVISORS)
  @Subscription(() => LiveDashboard, {
    description: 'The live part of serviceDashboard every DASHBOARD_REFRESH_SECONDS, computed once per department for the whole cluster',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const { dashboard, dashboardPublisher, pubsub } = ctx.services;
      const departmentId = await dashboard.dashboardScope(ctx, (args as { departmentId?: string | null }).departmentId);
      const topicId = departmentId ?? ALL_DEPARTMENTS;
      const live = await pubsub.listen(Topics.DASHBOARD, topicId);
      const release = dashboardPublisher.watch(topicId);
      return watched(live, release);
    },
  })
  serviceDashboardUpdated(
    @Root() e: LiveDashboardEvent,
    @Arg('departmentId', () => ID, { nullable: true }) _departmentId?: string,
  ): LiveDashboard {
    return fromEvent(e);
  }
}

@Resolver(() => Alert)
export class AlertResolver {
  @Authorized(...SUPERVISORS)
  @Query(() => AlertConnection, { description: 'Newest first. Managers: their department; admins: all, cluster-wide alerts included' })
  alerts(
    @Ctx() ctx: Context,
    @Arg('status', () => AlertStatus, { nullable: true }) status?: AlertStatus | null,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    return ctx.services.alerts.list(ctx, status, first, after);
  }

  @Authorized(...SUPERVISORS)
  @Mutation(() => Alert, { description: "OPEN → ACKNOWLEDGED. Another department's alert: FORBIDDEN; one not OPEN: CONFLICT" })
  acknowledgeAlert(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: Context,
    @Arg('comment', () => String, { nullable: true }) comment?: string | null,
  ) {
    return ctx.services.alerts.acknowledge(ctx, id, comment);
  }

  @Authorized(...SUPERVISORS)
  @Query(() => AlertDeliveryConnection, { description: 'Every webhook attempt of one alert, newest first' })
  alertDeliveries(
    @Arg('alertId', () => ID) alertId: string,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    return ctx.services.alerts.deliveries(ctx, alertId, first, after);
  }

  @Authorized(...SUPERVISORS)
  @Subscription(() => Alert, {
    description: 'Alerts as they open. Managers: their department; admins: any department, or every alert when departmentId is null',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const topicId = await ctx.services.alerts.topicFor(ctx, (args as { departmentId?: string | null }).departmentId);
      return ctx.services.pubsub.listen(Topics.ALERTS, topicId);
    },
  })
  alertRaised(@Root() e: AlertEvent, @Arg('departmentId', () => ID, { nullable: true }) _departmentId?: string): Alert {
    return fromAlertEvent(e);
  }

  // Rendered when read, in the reader's language (see src/platform/i18n); older alerts as they were stored.
  @FieldResolver(() => String)
  summary(@Root() alert: Alert, @Ctx() ctx: Context): string {
    return alert.summaryMessage ? render(alert.summaryMessage, localeOf(ctx)) : alert.summary;
  }
}

/** Passes the topic's events on; when the subscriber leaves, stops listening (at once) and releases the watch. */
function watched(live: AsyncIterableIterator<unknown>, release: () => void): AsyncGenerator<unknown> {
  return endsAtOnce((source) => passedOn(source(live), release));
}

async function* passedOn(live: AsyncIterableIterator<unknown>, release: () => void): AsyncGenerator<unknown> {
  try {
    for (;;) {
      const next = await live.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    release();
    await live.return?.();
  }
}
