import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 15, item 3: a quick reply may be linked to the FAQ it answers with, so that sending it counts as
 * answering with that FAQ (learning from service). Deleting the FAQ unlinks the reply; the reply stays.
 */
export class Migration20261208010000_quick_reply_faq extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE quick_replies ADD COLUMN faq_id uuid REFERENCES faqs (id) ON DELETE SET NULL`);
    this.addSql(`CREATE INDEX quick_replies_faq_idx ON quick_replies (faq_id) WHERE faq_id IS NOT NULL`);
  }
}
