import { Migration } from '@mikro-orm/migrations';

/**
 * Encryption at rest (issue 12, items 3–7). `data_keys`: one data key per subject (a customer, or a staff member
 * for their own leave reason), wrapped by a master key of ENCRYPTION_KEYS; destroyed (wrapped NULL) when the
 * customer is forgotten, the row staying as a tombstone. Every protected text gets `sealed`: its original,
 * AES-256-GCM under the subject's data key, when it held personal data (the text column then holds the masked
 * text). Rows already read for personal data are read again (pii_types NULL), so the backfill masks and seals them.
 */
export class Migration20261204010000_encryption extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE data_keys (
        id uuid PRIMARY KEY,
        subject_id uuid NOT NULL UNIQUE,
        master_key_id text,
        wrapped bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        rewrapped_at timestamptz,
        destroyed_at timestamptz,
        CONSTRAINT data_keys_wrapped_or_destroyed CHECK ((destroyed_at IS NULL) = (wrapped IS NOT NULL AND master_key_id IS NOT NULL))
      )`);
    this.addSql(`CREATE INDEX data_keys_master_key_idx ON data_keys (master_key_id) WHERE wrapped IS NOT NULL`);
    // A check value per master key id (HMAC of a constant under the key): start-up tells a different key
    // given an id already used (two processes each generating their own k1) from the right one.
    this.addSql(
      `CREATE TABLE master_key_checks (key_id text PRIMARY KEY, check_value bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (const table of ['messages', 'tickets', 'ticket_comments', 'leave_requests']) {
      this.addSql(`ALTER TABLE ${table} ADD COLUMN sealed bytea`);
      this.addSql(`UPDATE ${table} SET pii_types = NULL WHERE pii_types <> '{}'`);
    }
  }
}
