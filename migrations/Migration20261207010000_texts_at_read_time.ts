import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 16, item 6: texts rendered in the reader's language when read.
 *
 * - `alerts.summary_message`: the summary as a message id and parameters of the catalogue (metric, value,
 *   threshold, department); `alerts.summary` keeps the rendering in ALERT_LOCALE (what the pushes and the
 *   integrations' webhooks send), and is all there is for an alert raised before this migration.
 * - `webhooks.disabled_reason_message`: the same for why a webhook was disabled; `disabled_reason` keeps the
 *   English, as before, and is shown as written where the message is missing (older rows).
 */
export class Migration20261207010000_texts_at_read_time extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE alerts ADD COLUMN summary_message jsonb`);
    this.addSql(`ALTER TABLE webhooks ADD COLUMN disabled_reason_message jsonb`);
  }
}
