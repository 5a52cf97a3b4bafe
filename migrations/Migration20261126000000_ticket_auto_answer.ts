import { Migration } from '@mikro-orm/migrations';

/**
 * Auto-answers on tickets: the FAQ ShiftDesk answered a new ticket with and what the customer said about it
 * (as on conversations), and system comments (the answer itself), which have no author.
 */
export class Migration20261126000000_ticket_auto_answer extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `ALTER TABLE tickets
         ADD COLUMN auto_answer_faq_id uuid REFERENCES faqs (id),
         ADD COLUMN auto_answer_state text CHECK (auto_answer_state IN ('ASKED', 'HELPED', 'NOT_HELPED')),
         ADD CONSTRAINT tickets_auto_answer_both CHECK ((auto_answer_faq_id IS NULL) = (auto_answer_state IS NULL))`,
    );
    this.addSql(
      `ALTER TABLE ticket_comments
         ADD COLUMN kind message_kind NOT NULL DEFAULT 'TEXT',
         ALTER COLUMN author_id DROP NOT NULL,
         ALTER COLUMN author_role DROP NOT NULL,
         ADD CONSTRAINT ticket_comments_system_author CHECK ((kind = 'SYSTEM') = (author_id IS NULL) AND (author_id IS NULL) = (author_role IS NULL))`,
    );
  }
}
