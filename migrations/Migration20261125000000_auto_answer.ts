import { Migration } from '@mikro-orm/migrations';

/** Auto-answers: the FAQ ShiftDesk answered a conversation's first message with, and what the customer said about it. */
export class Migration20261125000000_auto_answer extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE conversations ADD COLUMN auto_answer_faq_id uuid REFERENCES faqs (id)`);
    this.addSql(
      `ALTER TABLE conversations ADD COLUMN auto_answer_state text CHECK (auto_answer_state IN ('ASKED', 'HELPED', 'NOT_HELPED')),
         ADD CONSTRAINT conversations_auto_answer_both CHECK ((auto_answer_faq_id IS NULL) = (auto_answer_state IS NULL))`,
    );
  }
}
