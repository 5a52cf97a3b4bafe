import type { EntityManager } from '@mikro-orm/postgresql';
import { render } from '../../platform/i18n/catalogue';
import type { Locale } from '../../platform/i18n/locales';
import type { JobQueue } from '../../platform/jobs/job-queue';
import type { Logger } from '../../platform/logger';
import type { Metrics } from '../../platform/metrics';
import { Alert, AlertDelivery } from './alert.entity';
import type { AlertWebhook } from './alert-rules';
import { AlertPayload, buildRequest, refusal } from './webhook-formats';

const KIND = 'alert-webhook';

interface DeliveryJob {
  alertId: string;
  webhook: string;
  departmentCode: string | null;
}

/**
 * Sends alerts to the configured webhooks through the job queue (pg-boss on PostgreSQL): one job per alert and
 * webhook, retried with exponential backoff up to ALERT_WEBHOOK_ATTEMPTS attempts, each attempt logged in
 * alert_deliveries. A receiver that keeps failing only fills that log; the alert itself is not touched.
 */
export class WebhookDispatcher {
  constructor(
    private readonly hooks: readonly AlertWebhook[],
    private readonly jobs: JobQueue,
    private readonly em: () => EntityManager,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly opts: { attempts: number; retryDelaySeconds: number; timeoutMs: number; locale: Locale },
  ) {
    jobs.define<DeliveryJob>(
      {
        name: KIND,
        retryLimit: opts.attempts - 1,
        retryDelaySeconds: opts.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: Math.ceil(opts.timeoutMs / 1000) + 30,
      },
      (data, job) => this.deliver(data, job.retryCount + 1),
    );
  }

  /** Queues the alert for every webhook whose severities and departments it matches. */
  async dispatch(alert: Alert, departmentCode: string | null): Promise<void> {
    for (const hook of this.hooks) {
      if (hook.severities && !hook.severities.includes(alert.severity as never)) continue;
      if (hook.departments && (!departmentCode || !hook.departments.includes(departmentCode))) continue;
      await this.jobs.send<DeliveryJob>(KIND, { alertId: alert.id, webhook: hook.name, departmentCode });
    }
  }

  private async deliver(job: DeliveryJob, attempt: number): Promise<void> {
    const hook = this.hooks.find((h) => h.name === job.webhook);
    if (!hook) return; // taken out of the configuration since: nothing to send to
    const em = this.em();
    const alert = await em.findOne(Alert, { id: job.alertId });
    if (!alert) return;
    const request = buildRequest(hook, toPayload(alert, job.departmentCode, this.opts.locale), this.opts.locale);
    let status: number | null = null;
    let error: string | null;
    try {
      const res = await fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: 'error',
      });
      status = res.status;
      const text = await res.text();
      error = res.ok ? refusal(hook, text) : `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : (err as Error).message;
    }
    const outcome = error ? 'FAILED' : 'DELIVERED';
    em.create(AlertDelivery, { alertId: alert.id, webhook: hook.name, kind: hook.kind, attempt, outcome, responseStatus: status, error });
    await em.flush();
    this.metrics.alertDeliveries.inc({ outcome: outcome.toLowerCase() });
    if (error) {
      const last = attempt >= this.opts.attempts;
      this.logger.warn(
        { alertId: alert.id, webhook: hook.name, attempt, error },
        last ? 'alert webhook given up' : 'alert webhook failed; retrying',
      );
      throw new Error(`webhook ${hook.name}: ${error}`);
    }
  }
}

function toPayload(a: Alert, departmentCode: string | null, locale: Locale): AlertPayload {
  return {
    id: a.id,
    rule: a.rule,
    metric: a.metric,
    severity: a.severity,
    status: a.status,
    summary: a.summaryMessage ? render(a.summaryMessage, locale) : a.summary,
    departmentId: a.departmentId,
    departmentCode,
    threshold: a.threshold,
    value: a.value,
    openedAt: a.openedAt.toISOString(),
  };
}
