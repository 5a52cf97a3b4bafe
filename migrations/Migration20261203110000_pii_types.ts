import { Migration } from '@mikro-orm/migrations';

/**
 * The kinds of personal data each stored text holds (PHONE, ID_CARD, BANK_CARD, EMAIL), found by the records
 * detector on every write: chat messages, tickets (subject and description), ticket comments, leave reasons.
 * NULL means "not read yet": rows written before this migration, until the records backfill reads them (the
 * partial indexes keep finding them cheap however large the tables grow). New writes are never NULL.
 */
export class Migration20261203110000_pii_types extends Migration {
  override async up(): Promise<void> {
    for (const table of ['messages', 'tickets', 'ticket_comments', 'leave_requests']) {
      this.addSql(`ALTER TABLE ${table} ADD COLUMN pii_types text[]`);
      this.addSql(`CREATE INDEX ${table}_pii_unread_idx ON ${table} (id) WHERE pii_types IS NULL`);
    }
  }
}
