import { randomBytes } from 'node:crypto';
import { LockMode } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { signedIn } from '../../platform/auth/scope';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { Page, paginate } from '../../platform/pagination';
import type { AuditService } from '../audit/audit.service';
import { Department } from '../accounts/department.entity';
import { Role } from '../../platform/auth/roles';
import { disabledReason, Webhook, WebhookDelivery } from './webhook.entity';
import type { CreateWebhookInput, UpdateWebhookInput } from './webhook.inputs';
import { mayManageWebhooks } from './webhook-access';
import { AddressPolicy, resolvedProblem, urlProblem } from './webhook-address';
import { secretAad, SecretBox, WebhookDeliveryService } from './webhook-delivery.service';
import { WEBHOOK_EVENT_TYPES } from './webhook-events';

const KNOWN_EVENTS: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

/** createWebhook, webhooks, updateWebhook, deleteWebhook, webhookDeliveries, redeliver: every change audited. */
export class WebhookService {
  constructor(
    private readonly audit: AuditService,
    private readonly secrets: SecretBox,
    private readonly delivery: WebhookDeliveryService,
    private readonly policy: AddressPolicy,
  ) {}

  async create(scope: RequestScope, input: CreateWebhookInput): Promise<{ webhook: Webhook; secret: string }> {
    const viewer = signedIn(scope.viewer);
    const departmentId = input.departmentId ?? (viewer.role === Role.ADMIN ? null : viewer.departmentId);
    if (!mayManageWebhooks(viewer, departmentId)) throw new Forbidden('Managers manage the webhooks of their own department only');
    const events = checkEvents(input.events);
    const url = await this.checkUrl(input.url);
    if (departmentId && !(isUuid(departmentId) && (await scope.em.findOne(Department, { id: departmentId }, { fields: ['id'] })))) {
      throw new NotFound('Department', departmentId);
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const webhook = new Webhook();
    const sealed = await this.secrets.sealFor(webhook.id, Buffer.from(secret), secretAad(webhook.id));
    Object.assign(webhook, { url, events, departmentId, secretSealed: sealed, createdById: viewer.id });
    await inTransaction(scope.em, async (em) => {
      em.persist(webhook);
      this.audit.record(em, scope, {
        action: 'webhook.create',
        targetType: 'Webhook',
        targetId: webhook.id,
        summary: `Created webhook ${url} for ${events.join(', ')}`,
      });
      await em.flush();
    });
    return { webhook, secret };
  }

  /** The webhooks the viewer manages: all for admins (or one department's), their department's for managers. */
  async list(scope: RequestScope): Promise<Webhook[]> {
    const viewer = signedIn(scope.viewer);
    const orderBy = { orderBy: { createdAt: 'asc', id: 'asc' } } as const;
    if (viewer.role === Role.ADMIN) return scope.em.find(Webhook, {}, orderBy);
    if (!mayManageWebhooks(viewer, viewer.departmentId)) throw new Forbidden();
    return scope.em.find(Webhook, { departmentId: viewer.departmentId }, orderBy);
  }

  async update(scope: RequestScope, id: string, input: UpdateWebhookInput): Promise<Webhook> {
    const events = input.events ? checkEvents(input.events) : null;
    const url = input.url ? await this.checkUrl(input.url) : null;
    return inTransaction(scope.em, async (em) => {
      const webhook = await this.managed({ ...scope, em }, id, true);
      const changes: string[] = [];
      if (url && url !== webhook.url) changes.push(`url ${url}`);
      if (events) changes.push(`events ${events.join(', ')}`);
      if (input.enabled === true && !webhook.enabled) changes.push('enabled');
      if (input.enabled === false && webhook.enabled) changes.push('disabled');
      Object.assign(webhook, {
        ...(url ? { url } : {}),
        ...(events ? { events } : {}),
        ...(input.enabled === true ? { enabled: true, disabledReason: null, disabledReasonMessage: null, failingSince: null } : {}),
        ...(input.enabled === false
          ? { enabled: false, ...(webhook.disabledReason ? {} : disabledReason({ id: 'webhook.disabledByHand' })) }
          : {}),
      });
      this.audit.record(em, scope, {
        action: 'webhook.update',
        targetType: 'Webhook',
        targetId: webhook.id,
        summary: `Updated webhook ${webhook.url}: ${changes.join('; ') || 'no change'}`,
      });
      await em.flush();
      return webhook;
    });
  }

  async delete(scope: RequestScope, id: string): Promise<string> {
    return inTransaction(scope.em, async (em, afterCommit) => {
      const webhook = await this.managed({ ...scope, em }, id, true);
      em.remove(webhook);
      // The secret's data key goes with it: a copy of the row in a backup no longer opens.
      await this.secrets.destroy(em, id);
      afterCommit(() => this.secrets.evict(id));
      this.audit.record(em, scope, {
        action: 'webhook.delete',
        targetType: 'Webhook',
        targetId: id,
        summary: `Deleted webhook ${webhook.url}`,
      });
      await em.flush();
      return id;
    });
  }

  async deliveries(scope: RequestScope, webhookId: string, first: number, after?: string | null): Promise<Page<WebhookDelivery>> {
    await this.managed(scope, webhookId);
    return paginate(scope.em, WebhookDelivery, { webhookId }, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** Sends a delivery's event again (same event id, so receivers dedupe), after whatever its lane still holds. */
  async redeliver(scope: RequestScope, deliveryId: string): Promise<WebhookDelivery> {
    const original = isUuid(deliveryId) ? await scope.em.findOne(WebhookDelivery, { id: deliveryId }) : null;
    if (!original) throw new NotFound('WebhookDelivery', deliveryId);
    const copy = await inTransaction(scope.em, async (em) => {
      const webhook = await this.managed({ ...scope, em }, original.webhookId, true);
      if (!webhook.enabled) {
        throw new Conflict(ConflictReason.INVALID_STATE, 'The webhook is disabled; enable it first', {
          state: 'DISABLED',
          action: 'redeliver',
        });
      }
      const row = em.create(WebhookDelivery, {
        webhookId: webhook.id,
        eventId: original.eventId,
        eventType: original.eventType,
        laneId: original.laneId,
        redeliveryOfId: original.id,
      });
      this.audit.record(em, scope, {
        action: 'webhook.redeliver',
        targetType: 'Webhook',
        targetId: webhook.id,
        summary: `Redelivered event ${original.eventId} (${original.eventType})`,
      });
      await em.flush();
      return row;
    });
    await this.delivery.enqueue(copy.id);
    return copy;
  }

  /** A webhook the viewer manages; NOT_FOUND when it does not exist or is not theirs to see. */
  private async managed(scope: RequestScope, id: string, forUpdate = false): Promise<Webhook> {
    const viewer = signedIn(scope.viewer);
    const webhook = isUuid(id) ? await scope.em.findOne(Webhook, { id }, forUpdate ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {}) : null;
    if (!webhook || !mayManageWebhooks(viewer, webhook.departmentId)) throw new NotFound('Webhook', id);
    return webhook;
  }

  private async checkUrl(raw: string): Promise<string> {
    const url = raw.trim();
    const problem = urlProblem(url, this.policy) ?? (await resolvedProblem(new URL(url), this.policy));
    if (problem) throw new InvalidInput('url', problem);
    return url;
  }
}

function checkEvents(events: string[]): string[] {
  const unknown = events.filter((e) => !KNOWN_EVENTS.has(e));
  if (unknown.length) {
    throw new InvalidInput(
      'events',
      `has unknown event ${unknown.map((e) => `"${e}"`).join(', ')}; known: ${WEBHOOK_EVENT_TYPES.join(', ')}`,
    );
  }
  return [...new Set(events)];
}
