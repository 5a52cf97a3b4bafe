import type { EntityManager } from '@mikro-orm/postgresql';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { AfterCommit, inTransaction } from '../../platform/db/transaction';
import type { JobQueue } from '../../platform/jobs/job-queue';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import type { AuditService } from '../audit/audit.service';
import type { NotificationService } from '../notifications/notification.service';
import { signGeneric } from '../operations/webhook-formats';
import { disabledReason } from './webhook.entity';
import { AddressPolicy, postWebhook, PostResult } from './webhook-address';
import { deliveryBody, departmentOf, OutboxEvent } from './webhook-events';

const KIND = 'webhook-event-delivery';
/** Outbox rows turned into deliveries per transaction of the dispatcher. */
const BATCH = 200;
/** Deliveries one process sends at once (each lane still one at a time): a slow receiver does not hold up the rest. */
const CONCURRENCY = 4;
/** A delivery at the head of its lane that no job has picked up for this long gets a job again (after a crash). */
const RESCUE_AFTER_SECONDS = 60;

export interface WebhookDeliverySettings extends AddressPolicy {
  attempts: number;
  retryDelaySeconds: number;
  timeoutMs: number;
  /** A webhook whose every attempt has failed for this long is disabled and its creator told. */
  disableAfterMs: number;
  outboxPollMs: number;
  /** Finished deliveries, and events none waits for, are deleted this long after. */
  retentionMs: number;
}

/** Seals and opens small secrets under a subject's own data key (records' DataKeyStore); destroys the key with it. */
export interface SecretBox {
  sealFor(subjectId: string, plaintext: Buffer, aad: string): Promise<Buffer>;
  openFor(subjectId: string, sealed: Buffer, aad: string): Promise<Buffer>;
  destroy(em: EntityManager, subjectId: string): Promise<void>;
  evict(subjectId: string): void;
}

export const secretAad = (webhookId: string) => `webhook-secret:${webhookId}`;

interface Claimed {
  id: string;
  webhook_id: string;
  lane_id: string;
  event_id: string;
}

/**
 * Delivers the outbox. The triggers write events in the transaction of the change; here, one process at a
 * time turns them, in order, into one delivery per subscribed webhook, and each delivery is a job on the
 * job queue (pg-boss), retried with exponential backoff. Deliveries of one webhook about one object (its
 * lane: a conversation with its messages, a ticket …) go out one at a time in order: a delivery waits while
 * an earlier one of its lane is pending, and the one finishing (delivered or given up) queues the next.
 */
export class WebhookDeliveryService {
  constructor(
    private readonly jobs: JobQueue,
    private readonly secrets: SecretBox,
    private readonly notifications: NotificationService,
    private readonly audit: AuditService,
    private readonly em: () => EntityManager,
    private readonly logger: Logger,
    private readonly settings: WebhookDeliverySettings,
  ) {
    jobs.define<{ deliveryId: string }>(
      {
        name: KIND,
        retryLimit: settings.attempts - 1,
        retryDelaySeconds: settings.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: Math.ceil(settings.timeoutMs / 1000) + 30,
        concurrency: CONCURRENCY,
      },
      (data, job) => this.deliver(data.deliveryId, job.id, job.retryCount + 1),
    );
  }

  start(scheduler: Scheduler): void {
    scheduler.every('webhook-outbox', this.settings.outboxPollMs, () => this.dispatchOutbox());
    scheduler.every('webhook-rescue', RESCUE_AFTER_SECONDS * 1000, async () => {
      await this.rescue();
      await this.purge();
    });
  }

  /** Queues the job of a delivery (a no-op for one that is not at the head of its lane when it runs). */
  enqueue(deliveryId: string): Promise<string> {
    return this.jobs.send(KIND, { deliveryId });
  }

  /** Turns waiting outbox events into deliveries; returns how many deliveries were made. */
  async dispatchOutbox(): Promise<number> {
    const made = await inTransaction(this.em(), async (tx) => {
      const [{ locked }] = await tx.execute<Array<{ locked: boolean }>>(`SELECT pg_try_advisory_xact_lock(?) AS locked`, [
        AdvisoryLock.WEBHOOK_OUTBOX,
      ]);
      if (!locked) return [];
      const events = await tx.execute<OutboxEvent[]>(
        `SELECT seq, id, type, object_type, object_id, lane_id, snapshot, occurred_at FROM webhook_events
         WHERE dispatched_at IS NULL ORDER BY seq LIMIT ${BATCH}`,
      );
      if (!events.length) return [];
      const hooks = await tx.execute<Array<{ id: string; events: string[]; department_id: string | null; created_at: Date }>>(
        `SELECT id, events, department_id, created_at FROM webhooks WHERE enabled`,
      );
      const ids: string[] = [];
      for (const event of events) {
        // A webhook receives what happened after it was made, not an older event another webhook's interest kept
        // in the outbox until this poll.
        const listening = hooks.filter((h) => h.events.includes(event.type) && madeBefore(h.created_at, event.occurred_at));
        if (!listening.length) continue;
        const department = listening.some((h) => h.department_id) ? await departmentOf(tx, event) : null;
        for (const hook of listening.filter((h) => h.department_id === null || h.department_id === department)) {
          const [row] = await tx.execute<Array<{ id: string }>>(
            `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, lane_id) VALUES (?, ?, ?, ?) RETURNING id`,
            [hook.id, event.id, event.type, event.lane_id],
          );
          ids.push(row.id);
        }
      }
      await tx.execute(`UPDATE webhook_events SET dispatched_at = now() WHERE seq IN (${events.map(() => '?').join(',')})`, [
        ...events.map((e) => e.seq),
      ]);
      return ids;
    });
    for (const id of made) await this.enqueue(id);
    return made.length;
  }

  /** Heads of lanes no job has taken for a while (their job was lost with a crashed process): queued again. */
  async rescue(): Promise<void> {
    const stuck = await this.em().execute<Array<{ id: string }>>(
      `SELECT d.id FROM webhook_deliveries d
       WHERE d.status = 'PENDING' AND d.claimed_by IS NULL AND d.created_at < now() - make_interval(secs => ?)
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                         WHERE e.webhook_id = d.webhook_id AND e.lane_id = d.lane_id AND e.status = 'PENDING' AND e.position < d.position)
       LIMIT 100`,
      [RESCUE_AFTER_SECONDS],
    );
    for (const { id } of stuck) await this.enqueue(id);
  }

  /** Deletes finished deliveries and dispatched events older than WEBHOOK_RETENTION_DAYS (a pending one keeps its event). */
  async purge(): Promise<{ deliveries: number; events: number }> {
    const em = this.em();
    const before = new Date(Date.now() - this.settings.retentionMs);
    const deliveries = await em.execute<Array<{ id: string }>>(
      `DELETE FROM webhook_deliveries WHERE status <> 'PENDING' AND created_at < ? RETURNING id`,
      [before],
    );
    const events = await em.execute<Array<{ id: string }>>(
      `DELETE FROM webhook_events e WHERE dispatched_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
       RETURNING id`,
      [before],
    );
    return { deliveries: deliveries.length, events: events.length };
  }

  /** One attempt of one delivery (the job's); a failure that has attempts left throws, so pg-boss retries it. */
  async deliver(deliveryId: string, jobId: string, attempt: number): Promise<void> {
    const claimed = await this.claim(deliveryId, jobId);
    if (!claimed) return;
    const em = this.em();
    const [hook] = await em.execute<Array<{ url: string; enabled: boolean; secret_sealed: Buffer }>>(
      `SELECT url, enabled, secret_sealed FROM webhooks WHERE id = ?`,
      [claimed.webhook_id],
    );
    const [event] = await em.execute<OutboxEvent[]>(
      `SELECT seq, id, type, object_type, object_id, lane_id, snapshot, occurred_at FROM webhook_events WHERE id = ?`,
      [claimed.event_id],
    );
    let result: PostResult;
    if (!hook?.enabled) {
      result = { status: null, durationMs: 0, error: 'the webhook is disabled' };
    } else {
      const secret = (await this.secrets.openFor(claimed.webhook_id, hook.secret_sealed, secretAad(claimed.webhook_id))).toString();
      const body = deliveryBody(em, event);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'ShiftDesk-Webhooks/1',
        'x-shiftdesk-event-id': event.id,
        'x-shiftdesk-event': event.type,
        'x-shiftdesk-delivery': claimed.id,
        'x-shiftdesk-timestamp': timestamp,
        'x-shiftdesk-signature': `sha256=${signGeneric(secret, timestamp, body)}`,
      };
      result = await postWebhook(hook.url, headers, body, { ...this.settings });
    }
    const last = !hook?.enabled || attempt >= this.settings.attempts;
    await this.finish(claimed, result, last);
    if (result.error && !last) throw new Error(`webhook delivery ${claimed.id}: ${result.error}`);
  }

  /**
   * Takes the delivery for this job when it is pending, at the head of its lane, and not another job's.
   * Under the lane's lock, as `finish` is, so a delivery never waits for a predecessor that has just finished.
   */
  private claim(deliveryId: string, jobId: string): Promise<Claimed | null> {
    return inTransaction(this.em(), async (tx) => {
      const [d] = await tx.execute<Claimed[]>(`SELECT id, webhook_id, lane_id, event_id FROM webhook_deliveries WHERE id = ?`, [
        deliveryId,
      ]);
      if (!d) return null;
      await lockLane(tx, d);
      const taken = await tx.execute<Array<{ id: string }>>(
        `UPDATE webhook_deliveries d SET claimed_by = ? WHERE id = ? AND status = 'PENDING' AND (claimed_by IS NULL OR claimed_by = ?)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.lane_id = d.lane_id
                             AND e.status = 'PENDING' AND e.position < d.position)
         RETURNING id`,
        [jobId, deliveryId, jobId],
      );
      return taken.length ? d : null;
    });
  }

  /** Records the attempt; a finished delivery hands its lane on; failures count towards disabling the webhook. */
  private async finish(d: Claimed, result: PostResult, last: boolean): Promise<void> {
    const next = await inTransaction(this.em(), async (tx, afterCommit) => {
      await lockLane(tx, d);
      const status = !result.error ? 'DELIVERED' : last ? 'FAILED' : 'PENDING';
      await tx.execute(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, response_status = ?, duration_ms = ?, error = ?, last_attempt_at = now(),
           status = ?, finished_at = CASE WHEN ? <> 'PENDING' THEN now() END
         WHERE id = ?`,
        [result.status, result.durationMs, result.error, status, status, d.id],
      );
      if (result.error) await this.countFailure(tx, afterCommit, d.webhook_id);
      else await tx.execute(`UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, [d.webhook_id]);
      if (status === 'PENDING') return null;
      const [following] = await tx.execute<Array<{ id: string }>>(
        `SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND lane_id = ? AND status = 'PENDING' ORDER BY position LIMIT 1`,
        [d.webhook_id, d.lane_id],
      );
      return following?.id ?? null;
    });
    if (next) await this.enqueue(next);
  }

  /** Starts or continues the webhook's failure window; past WEBHOOK_DISABLE_AFTER_SECONDS it is disabled, its creator told. */
  private async countFailure(tx: EntityManager, afterCommit: AfterCommit, webhookId: string): Promise<void> {
    const [hook] = await tx.execute<Array<{ url: string; enabled: boolean; failing_since: Date; created_by_id: string | null }>>(
      `UPDATE webhooks SET failing_since = coalesce(failing_since, now()) WHERE id = ? RETURNING url, enabled, failing_since, created_by_id`,
      [webhookId],
    );
    if (!hook?.enabled || Date.now() - new Date(hook.failing_since).getTime() < this.settings.disableAfterMs) return;
    const hours = Math.round(this.settings.disableAfterMs / 3_600_000);
    const duration = hours >= 1 ? `${hours} h` : `${Math.round(this.settings.disableAfterMs / 1000)} s`;
    const reason = disabledReason({ id: 'webhook.disabledFailing', params: { duration } });
    await tx.execute(
      `UPDATE webhooks SET enabled = false, disabled_reason = ?, disabled_reason_message = ?, updated_at = now() WHERE id = ?`,
      [reason.disabledReason, JSON.stringify(reason.disabledReasonMessage), webhookId],
    );
    await tx.execute(
      `UPDATE webhook_deliveries SET status = 'FAILED', error = coalesce(error, 'the webhook is disabled'), finished_at = now()
       WHERE webhook_id = ? AND status = 'PENDING'`,
      [webhookId],
    );
    if (hook.created_by_id) {
      this.notifications.notify(tx, afterCommit, {
        userId: hook.created_by_id,
        kind: 'WEBHOOK_DISABLED',
        title: { id: 'notification.webhookDisabled.title' },
        body: { id: 'notification.webhookDisabled.body', params: { url: hook.url, duration } },
      });
    }
    this.audit.record(
      tx,
      { viewer: null, traceId: 'webhook-delivery' },
      {
        action: 'webhook.disable',
        targetType: 'Webhook',
        targetId: webhookId,
        summary: `Disabled webhook ${hook.url}: ${reason.disabledReason}`,
      },
    );
    await tx.flush();
    this.logger.warn({ webhookId, reason: reason.disabledReason }, 'webhook disabled');
  }
}

/** Serialises the lane of one webhook and one object: claiming its head, and finishing a delivery in it. */
async function lockLane(tx: EntityManager, d: { webhook_id: string; lane_id: string }): Promise<void> {
  await tx.execute(`SELECT pg_advisory_xact_lock(?, hashtext(?))`, [AdvisoryLock.WEBHOOK_LANE, `${d.webhook_id}:${d.lane_id}`]);
}

function madeBefore(hookCreatedAt: Date | string, eventOccurredAt: Date | string): boolean {
  return new Date(hookCreatedAt).getTime() <= new Date(eventOccurredAt).getTime();
}
