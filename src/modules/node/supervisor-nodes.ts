import { Role } from '../../platform/auth/roles';
import { managesDepartment, signedIn } from '../../platform/auth/scope';
import type { RequestScope } from '../../platform/request-scope';
import { Alert, AlertDelivery } from '../operations/alert.entity';
import { ApiKey } from '../integrations/api-key.entity';
import { ChannelIdentity } from '../integrations/channel-identity.entity';
import { Webhook, WebhookDelivery } from '../integrations/webhook.entity';
import { mayManageWebhooks } from '../integrations/webhook-access';
import { ForecastOverride } from '../staffing/staffing.entity';
import { QualityReview, QualityViolation } from '../quality/quality.entities';
import type { NodeType } from './node.service';

const SUPERVISORS = [Role.ADMIN, Role.MANAGER] as const;

/**
 * A department's rows as their lists show them: admins every one, managers their own department's; a row of
 * no department (a cluster-wide alert, an admin's key) admins only.
 */
function departmentRow<T extends { id: string; departmentId: string | null }>(type: new () => T, table: string): NodeType<RequestScope> {
  return {
    type,
    tables: [table],
    roles: SUPERVISORS,
    load: async (ctx, id, rows) => {
      const row = await rows.get(type, id);
      return row && managesDepartment(signedIn(ctx.viewer), row.departmentId) ? row : null;
    },
  };
}

/** The Node types only admins and managers see, each by the rule of its own list. */
export const SUPERVISOR_NODE_TYPES: readonly NodeType<RequestScope>[] = [
  departmentRow(Alert, 'alerts'), // alerts
  departmentRow(ApiKey, 'api_keys'), // apiKeys (its secret is never a field)
  departmentRow(ForecastOverride, 'forecast_overrides'), // forecastOverrides(departmentId)
  departmentRow(QualityReview, 'quality_reviews'), // qualityReviews
  departmentRow(QualityViolation, 'quality_violations'), // qualityViolations
  {
    // alertDeliveries(alertId): to whoever sees the alert
    type: AlertDelivery,
    tables: ['alert_deliveries'],
    roles: SUPERVISORS,
    load: async (ctx, id, rows) => {
      const delivery = await rows.get(AlertDelivery, id);
      const alert = delivery && (await rows.get(Alert, delivery.alertId));
      return alert && managesDepartment(signedIn(ctx.viewer), alert.departmentId) ? delivery : null;
    },
  },
  {
    // webhooks: admins all, managers their department's
    type: Webhook,
    tables: ['webhooks'],
    roles: SUPERVISORS,
    load: async (ctx, id, rows) => {
      const webhook = await rows.get(Webhook, id);
      return webhook && mayManageWebhooks(signedIn(ctx.viewer), webhook.departmentId) ? webhook : null;
    },
  },
  {
    // webhookDeliveries(webhookId): to whoever manages the webhook
    type: WebhookDelivery,
    tables: ['webhook_deliveries'],
    roles: SUPERVISORS,
    load: async (ctx, id, rows) => {
      const delivery = await rows.get(WebhookDelivery, id);
      const webhook = delivery && (await rows.get(Webhook, delivery.webhookId));
      return webhook && mayManageWebhooks(signedIn(ctx.viewer), webhook.departmentId) ? delivery : null;
    },
  },
  {
    // Only linkChannelIdentity returns one: to admins and managers, for any customer (customers have no department).
    type: ChannelIdentity,
    tables: ['channel_identities'],
    roles: SUPERVISORS,
    load: (ctx, id, rows) => rows.get(ChannelIdentity, id),
  },
];
