import type { EntityManager } from '@mikro-orm/postgresql';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import { MessageRef, render } from '../../platform/i18n/catalogue';
import type { Locale } from '../../platform/i18n/locales';
import type { Logger } from '../../platform/logger';
import type { Metrics } from '../../platform/metrics';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { ALL_DEPARTMENTS, Topics } from '../../platform/realtime/topics';
import type { Scheduler } from '../../platform/scheduler';
import { Alert, AlertStatus } from './alert.entity';
import { ALERT_METRICS, AlertMetric, AlertRule, AlertSettings, breaches } from './alert-rules';
import { AlertState, step } from './alert-state';
import type { DashboardService } from './dashboard.service';
import type { LiveDashboard } from './dashboard.types';
import type { ErrorRateSampler } from './error-rate';
import type { IntervalLease } from './interval-lease';
import type { WebhookDispatcher } from './webhook-delivery';

/** The notifications service, as far as alerts need it: stored in the transaction, pushed after the commit. */
export interface Notifier {
  notify(
    em: EntityManager,
    afterCommit: AfterCommit,
    n: { userId: string; kind: string; title: string | MessageRef; body: string | MessageRef },
  ): unknown;
}

/** The JSON of a raised alert on pub/sub. */
export interface AlertEvent {
  id: string;
  rule: string;
  metric: string;
  departmentId: string | null;
  severity: string;
  status: AlertStatus;
  summary: string;
  summaryMessage: MessageRef | null;
  threshold: number;
  value: number;
  openedAt: string;
}

/** The key of a cluster-wide rule's state (a department's is its id). */
const CLUSTER = 'cluster';

const VALUE_OF: Record<Exclude<AlertMetric, 'error_rate'>, (live: LiveDashboard) => number | null> = {
  queue_length: (l) => l.queueLength,
  avg_first_response_seconds: (l) => l.avgFirstResponseSeconds,
  satisfaction: (l) => l.satisfaction,
  utilisation: (l) => l.utilisation,
  on_shift_offline_seconds: (l) => l.longestOnShiftOfflineSeconds,
  sla_breaches_per_hour: (l) => l.slaBreachesLastHour,
};

interface Department {
  id: string;
  code: string;
  name: string;
}

/**
 * Evaluates the alert rules every interval: the figures come from the live dashboard of each department
 * (computed before the transaction), then, in one transaction under the ALERT_EVALUATOR advisory lock (one
 * evaluator at a time in the cluster), every (rule, department) state row moves by the transition table; an
 * episode that opens inserts one alert (a partial unique index forbids a second unresolved one), notifies the
 * department's managers and the admins, and, after the commit, is published on `ALERTS` and queued for the
 * webhooks.
 */
export class AlertEvaluator {
  constructor(
    private readonly settings: AlertSettings,
    private readonly dashboard: DashboardService,
    private readonly notifications: Notifier,
    private readonly pubsub: PubSubPort,
    private readonly webhooks: WebhookDispatcher,
    private readonly errorRate: ErrorRateSampler,
    private readonly lease: IntervalLease,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
    private readonly intervalMs: number,
    /** The language of the stored summary (ALERT_LOCALE), which pushes and integrations' webhooks send. */
    private readonly locale: Locale,
  ) {
    metrics.serviceFiguresTtlMs = intervalMs * 3;
  }

  start(scheduler: Scheduler): void {
    scheduler.every('alert-evaluate', this.intervalMs, async () => {
      if (await this.lease.claim('alerts', this.intervalMs)) await this.evaluate();
    });
  }

  /** One evaluation of every rule; false when another evaluator held the lock (nothing was changed). */
  async evaluate(now = new Date()): Promise<boolean> {
    const departments = await this.em().execute<Department[]>(`SELECT id, code, name FROM departments ORDER BY code`);
    const watched = departments.filter((d) =>
      this.settings.rules.some((r) => ALERT_METRICS[r.metric].level === 'department' && inScope(r, d.code)),
    );
    const live = new Map<string, LiveDashboard>();
    for (const d of watched) live.set(d.id, await this.dashboard.live(this.em(), d.id));
    const errorRate = await this.errorRate.sample();
    this.metrics.setServiceFigures(
      watched.map((d) => {
        const l = live.get(d.id)!;
        return {
          department: d.code,
          queueLength: l.queueLength,
          utilisation: l.utilisation,
          firstResponseSeconds: l.avgFirstResponseSeconds,
          satisfaction: l.satisfaction,
        };
      }),
    );

    const evaluated = await inTransaction(this.em(), async (em, afterCommit) => {
      const [{ locked }] = await em.execute<Array<{ locked: boolean }>>(`SELECT pg_try_advisory_xact_lock(?) AS locked`, [
        AdvisoryLock.ALERT_EVALUATOR,
      ]);
      if (!locked) return false;
      const rows = await em.execute<
        Array<{ rule: string; department_key: string; state: AlertState; since: Date; alert_id: string | null }>
      >(`SELECT rule, department_key, state, since, alert_id FROM alert_states`);
      const states = new Map(rows.map((r) => [`${r.rule}|${r.department_key}`, r]));
      const seen = new Set<string>();
      for (const rule of this.settings.rules) {
        const targets: Array<{ key: string; department: Department | null; value: number | null }> =
          rule.metric === 'error_rate'
            ? [{ key: CLUSTER, department: null, value: errorRate }]
            : watched
                .filter((d) => inScope(rule, d.code))
                .map((d) => ({ key: d.id, department: d, value: VALUE_OF[rule.metric as keyof typeof VALUE_OF](live.get(d.id)!) }));
        for (const t of targets) {
          const id = `${rule.name}|${t.key}`;
          seen.add(id);
          const prev = states.get(id);
          const next = step(prev ? { state: prev.state, since: new Date(prev.since) } : null, breaches(rule, t.value), now, rule);
          let alertId = prev?.alert_id ?? null;
          if (next.action === 'open') alertId = await this.open(em, afterCommit, rule, t.department, t.value!, now);
          if (next.action === 'resolve' && alertId) {
            await this.resolve(em, alertId, now);
            alertId = null;
          }
          if (alertId && t.value !== null) await em.execute(`UPDATE alerts SET last_value = ? WHERE id = ?`, [t.value, alertId]);
          if (!prev || prev.state !== next.state || new Date(prev.since).getTime() !== next.since.getTime() || prev.alert_id !== alertId) {
            await em.execute(
              `INSERT INTO alert_states (rule, department_key, state, since, alert_id, updated_at) VALUES (?, ?, ?, ?, ?, now())
               ON CONFLICT (rule, department_key) DO UPDATE SET state = excluded.state, since = excluded.since, alert_id = excluded.alert_id, updated_at = now()`,
              [rule.name, t.key, next.state, next.since, alertId],
            );
          }
        }
      }
      // Rules taken out of the configuration, departments deleted: their episodes end.
      for (const [id, row] of states) {
        if (seen.has(id)) continue;
        if (row.alert_id) await this.resolve(em, row.alert_id, now);
        await em.execute(`DELETE FROM alert_states WHERE rule = ? AND department_key = ?`, [row.rule, row.department_key]);
      }
      return true;
    });
    await this.updateOpenAlertsGauge();
    return evaluated;
  }

  private async open(
    em: EntityManager,
    afterCommit: AfterCommit,
    rule: AlertRule,
    department: Department | null,
    value: number,
    now: Date,
  ): Promise<string> {
    const where: MessageRef = department
      ? { id: 'alert.inDepartment', params: { department: department.name } }
      : { id: 'alert.inCluster' };
    const summary: MessageRef = {
      id: 'notification.alert.body',
      params: {
        rule: rule.name,
        metric: { id: `alert.metric.${rule.metric}` },
        value: round(value),
        op: rule.op,
        threshold: rule.threshold,
        where,
      },
    };
    const alert = em.create(Alert, {
      rule: rule.name,
      metric: rule.metric,
      departmentId: department?.id ?? null,
      severity: rule.severity,
      summary: render(summary, this.locale),
      summaryMessage: summary,
      threshold: rule.threshold,
      value,
      openedAt: now,
    });
    await em.persist(alert).flush();
    const recipients = await em.execute<Array<{ id: string }>>(
      `SELECT id FROM users WHERE active AND (role = 'ADMIN' OR (role = 'MANAGER' AND department_id = ?))`,
      [department?.id ?? null],
    );
    for (const r of recipients) {
      this.notifications.notify(em, afterCommit, {
        userId: r.id,
        kind: 'ALERT',
        title: `[${rule.severity}] ${rule.name}`,
        body: summary,
      });
    }
    await em.flush();
    const event = toAlertEvent(alert);
    afterCommit(() => {
      if (alert.departmentId) this.pubsub.publish(Topics.ALERTS, alert.departmentId, event);
      this.pubsub.publish(Topics.ALERTS, ALL_DEPARTMENTS, event);
      this.webhooks
        .dispatch(alert, department?.code ?? null)
        .catch((err) => this.logger.error({ err, alertId: alert.id }, 'alert webhooks not queued'));
    });
    this.logger.warn({ alertId: alert.id, rule: rule.name, departmentId: alert.departmentId, value }, 'alert raised');
    return alert.id;
  }

  private async resolve(em: EntityManager, alertId: string, now: Date): Promise<void> {
    await em.execute(`UPDATE alerts SET status = 'RESOLVED', resolved_at = ? WHERE id = ? AND status <> 'RESOLVED'`, [now, alertId]);
  }

  private async updateOpenAlertsGauge(): Promise<void> {
    const rows = await this.em().execute<Array<{ severity: string; n: string }>>(
      `SELECT severity, count(*) AS n FROM alerts WHERE status <> 'RESOLVED' GROUP BY severity`,
    );
    for (const severity of ['info', 'warning', 'critical'])
      this.metrics.openAlerts.set({ severity }, Number(rows.find((r) => r.severity === severity)?.n ?? 0));
  }
}

function inScope(rule: AlertRule, code: string): boolean {
  return rule.departments === null || rule.departments.includes(code);
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

export function toAlertEvent(a: Alert): AlertEvent {
  return {
    id: a.id,
    rule: a.rule,
    metric: a.metric,
    departmentId: a.departmentId,
    severity: a.severity,
    status: a.status,
    summary: a.summary,
    summaryMessage: a.summaryMessage,
    threshold: a.threshold,
    value: a.value,
    openedAt: a.openedAt.toISOString(),
  };
}

export function fromAlertEvent(e: AlertEvent): Alert {
  return Object.assign(new Alert(), {
    ...e,
    summaryMessage: e.summaryMessage ?? null,
    openedAt: new Date(e.openedAt),
    lastValue: null,
    acknowledgedAt: null,
    acknowledgedById: null,
    acknowledgeComment: null,
    resolvedAt: null,
  });
}
