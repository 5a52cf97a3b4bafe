import { Migration } from '@mikro-orm/migrations';

/**
 * Records: searching, exporting and archiving conversations.
 *
 * - Keyword search. `records_search_vector(text)` is the text's character bigrams as a tsvector ('simple'
 *   configuration: lower-cased, no stemming). Chinese has no spaces and most words are two characters, which
 *   trigrams (pg_trgm) cannot find through an index; bigrams can, and a keyword of n characters is the AND of
 *   its n − 1 bigrams, rechecked with ILIKE for the exact substring. Expression GIN indexes on the live and
 *   archived messages.
 * - Filters: conversations by agent and time (the agent's own list and the benchmark's "agent + month").
 * - Archive tables with the live tables' columns (LIKE … INCLUDING DEFAULTS, CONSTRAINTS), so the checks hold
 *   there too. A conversation moves with its messages and transfers in one transaction (records/archive.ts);
 *   foreign keys inside the archive keep every archived message and transfer with its conversation, and
 *   (conversation_id, seq) stays unique. Only ENDED conversations are archived.
 * - export_jobs: one row per export, its progress and its file.
 */
export class Migration20261204020000_records extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE FUNCTION records_search_vector(content text) RETURNS tsvector
      LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
        SELECT to_tsvector('simple'::regconfig, coalesce(string_agg(substr(content, i, 2), ' '), ''))
          FROM generate_series(1, char_length(content) - 1) AS i
      $$`);
    this.addSql(`CREATE INDEX messages_search_idx ON messages USING gin (records_search_vector(content))`);

    // The conversation's intent, from the classifier's reading of its first message (searchConversations' filter).
    this.addSql(`ALTER TABLE conversations ADD COLUMN intent text`);
    this.addSql(`CREATE INDEX conversations_agent_created_idx ON conversations (agent_id, created_at DESC, id DESC)`);
    // The archive run's candidates.
    this.addSql(`CREATE INDEX conversations_ended_idx ON conversations (ended_at) WHERE status = 'ENDED'`);

    this.addSql(`
      CREATE TABLE conversations_archive (
        LIKE conversations INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
        archived_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (id),
        CONSTRAINT conversations_archive_ended CHECK (status = 'ENDED')
      )`);
    this.addSql(`CREATE INDEX conversations_archive_created_idx ON conversations_archive (created_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX conversations_archive_agent_idx ON conversations_archive (agent_id, created_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX conversations_archive_department_idx ON conversations_archive (department_id, created_at DESC)`);
    this.addSql(`CREATE INDEX conversations_archive_customer_idx ON conversations_archive (customer_id, created_at DESC)`);
    this.addSql(`CREATE INDEX conversations_archive_ended_idx ON conversations_archive (ended_at)`);

    this.addSql(`
      CREATE TABLE messages_archive (
        LIKE messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
        PRIMARY KEY (id),
        CONSTRAINT messages_archive_seq_key UNIQUE (conversation_id, seq),
        CONSTRAINT messages_archive_conversation_fkey FOREIGN KEY (conversation_id) REFERENCES conversations_archive (id) ON DELETE CASCADE
      )`);
    this.addSql(`CREATE INDEX messages_archive_search_idx ON messages_archive USING gin (records_search_vector(content))`);

    this.addSql(`
      CREATE TABLE conversation_transfers_archive (
        LIKE conversation_transfers INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
        PRIMARY KEY (id),
        CONSTRAINT conversation_transfers_archive_conversation_fkey FOREIGN KEY (conversation_id) REFERENCES conversations_archive (id) ON DELETE CASCADE
      )`);
    this.addSql(
      `CREATE INDEX conversation_transfers_archive_conversation_idx ON conversation_transfers_archive (conversation_id, created_at)`,
    );

    this.addSql(`CREATE TYPE export_format AS ENUM ('CSV', 'XLSX', 'JSONL')`);
    this.addSql(`CREATE TYPE export_status AS ENUM ('QUEUED', 'RUNNING', 'READY', 'FAILED', 'EXPIRED')`);
    this.addSql(`
      CREATE TABLE export_jobs (
        id uuid PRIMARY KEY,
        requester_id uuid NOT NULL REFERENCES users (id),
        format export_format NOT NULL,
        filter jsonb NOT NULL,
        status export_status NOT NULL DEFAULT 'QUEUED',
        estimated_rows integer NOT NULL CHECK (estimated_rows >= 0),
        rows_done integer NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
        file_size bigint,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        expires_at timestamptz NOT NULL,
        CHECK (status <> 'READY' OR (file_size IS NOT NULL AND finished_at IS NOT NULL))
      )`);
    this.addSql(`CREATE INDEX export_jobs_requester_idx ON export_jobs (requester_id, created_at DESC)`);
    this.addSql(`CREATE INDEX export_jobs_expiry_idx ON export_jobs (expires_at) WHERE status <> 'EXPIRED'`);
  }
}
