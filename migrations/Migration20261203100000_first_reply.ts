import { Migration } from '@mikro-orm/migrations';

/**
 * The first-reply sweep moves an unanswered conversation once: first_reply_reassigned_at says it has been
 * dealt with (moved, or left with its agent when nobody else could take it), so it is never moved again.
 * The partial index holds only ACTIVE conversations nobody on staff has written to yet, so a run that finds
 * nothing costs one small index scan.
 */
export class Migration20261203100000_first_reply extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE conversations ADD COLUMN first_reply_reassigned_at timestamptz`);
    this.addSql(
      `CREATE INDEX conversations_awaiting_first_reply_idx ON conversations (assigned_at)
        WHERE status = 'ACTIVE' AND last_agent_message_at IS NULL AND first_reply_reassigned_at IS NULL`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`DROP INDEX conversations_awaiting_first_reply_idx`);
    this.addSql(`ALTER TABLE conversations DROP COLUMN first_reply_reassigned_at`);
  }
}
