import { Migration } from '@mikro-orm/migrations';

/**
 * Operations: what the service dashboard reads, and alerts.
 *
 * - conversations.first_agent_reply_at: when staff first wrote in the conversation (its first response). A
 *   BEFORE UPDATE trigger copies the first non-null last_agent_message_at, so the chat's hot path (one
 *   prepared statement) is untouched and a transfer (which clears last_agent_message_at) keeps it.
 * - Indexes for the dashboard's time windows: each live figure reads a few minutes or hours of one index.
 * - alert_states: the alert state machine of each (rule, department), so an episode fires once whichever
 *   process evaluates; alerts: one row per episode, at most one unresolved per (rule, department);
 *   alert_deliveries: every webhook attempt.
 * - operation_leases: who computes the dashboard this interval when there is no Redis.
 */
export class Migration20261204030000_operations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE conversations ADD COLUMN first_agent_reply_at timestamptz`);
    // The records archive keeps every column of the live table.
    this.addSql(`ALTER TABLE conversations_archive ADD COLUMN first_agent_reply_at timestamptz`);
    this.addSql(`
      CREATE FUNCTION conversations_first_agent_reply() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.first_agent_reply_at := NEW.last_agent_message_at;
        RETURN NEW;
      END $$`);
    this.addSql(`
      CREATE TRIGGER conversations_first_agent_reply
        BEFORE UPDATE OF last_agent_message_at ON conversations
        FOR EACH ROW WHEN (OLD.first_agent_reply_at IS NULL AND NEW.first_agent_reply_at IS NULL AND NEW.last_agent_message_at IS NOT NULL)
        EXECUTE FUNCTION conversations_first_agent_reply()`);
    // History before this migration only knows the latest staff message: an approximation, for old rows only.
    this.addSql(`UPDATE conversations SET first_agent_reply_at = last_agent_message_at WHERE last_agent_message_at IS NOT NULL`);

    this.addSql(
      `CREATE INDEX conversations_first_reply_at_idx ON conversations (first_agent_reply_at) WHERE first_agent_reply_at IS NOT NULL`,
    );
    this.addSql(`CREATE INDEX conversations_rated_idx ON conversations (rated_at) WHERE rating IS NOT NULL`);
    this.addSql(`CREATE INDEX conversations_ended_at_idx ON conversations (ended_at) WHERE ended_at IS NOT NULL`);
    this.addSql(`CREATE INDEX conversations_queued_department_idx ON conversations (department_id, queued_at) WHERE status = 'QUEUED'`);
    this.addSql(`CREATE INDEX messages_created_idx ON messages (created_at)`);
    this.addSql(`CREATE INDEX tickets_resolved_idx ON tickets (resolved_at) WHERE resolved_at IS NOT NULL`);
    this.addSql(
      `CREATE INDEX tickets_open_department_idx ON tickets (department_id) WHERE status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'REOPENED')`,
    );
    this.addSql(
      `CREATE INDEX tickets_fr_breached_at_idx ON tickets (first_response_breach_notified_at) WHERE first_response_breach_notified_at IS NOT NULL`,
    );
    this.addSql(
      `CREATE INDEX tickets_res_breached_at_idx ON tickets (resolution_breach_notified_at) WHERE resolution_breach_notified_at IS NOT NULL`,
    );

    this.addSql(`CREATE TYPE alert_status AS ENUM ('OPEN', 'ACKNOWLEDGED', 'RESOLVED')`);
    this.addSql(`
      CREATE TABLE alerts (
        id uuid PRIMARY KEY,
        rule text NOT NULL,
        metric text NOT NULL,
        department_id uuid REFERENCES departments (id),
        severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        status alert_status NOT NULL DEFAULT 'OPEN',
        summary text NOT NULL,
        threshold double precision NOT NULL,
        value double precision NOT NULL,
        last_value double precision,
        opened_at timestamptz NOT NULL DEFAULT now(),
        acknowledged_at timestamptz,
        acknowledged_by_id uuid REFERENCES users (id),
        acknowledge_comment text,
        resolved_at timestamptz,
        CHECK (status <> 'RESOLVED' OR resolved_at IS NOT NULL),
        CHECK (status <> 'ACKNOWLEDGED' OR acknowledged_at IS NOT NULL)
      )`);
    // One episode at a time per rule and department: a second evaluator could not open a twin.
    this.addSql(
      `CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (rule, coalesce(department_id, '00000000-0000-0000-0000-000000000000'::uuid)) WHERE status <> 'RESOLVED'`,
    );
    this.addSql(`CREATE INDEX alerts_opened_idx ON alerts (opened_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX alerts_department_idx ON alerts (department_id, opened_at DESC, id DESC)`);

    this.addSql(`
      CREATE TABLE alert_states (
        rule text NOT NULL,
        department_key text NOT NULL,
        state text NOT NULL CHECK (state IN ('OK', 'PENDING', 'FIRING', 'CLEARING')),
        since timestamptz NOT NULL,
        alert_id uuid REFERENCES alerts (id),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (rule, department_key),
        CHECK ((state IN ('FIRING', 'CLEARING')) = (alert_id IS NOT NULL))
      )`);

    this.addSql(`
      CREATE TABLE alert_deliveries (
        id uuid PRIMARY KEY,
        alert_id uuid NOT NULL REFERENCES alerts (id),
        webhook text NOT NULL,
        kind text NOT NULL,
        attempt integer NOT NULL CHECK (attempt >= 1),
        outcome text NOT NULL CHECK (outcome IN ('DELIVERED', 'FAILED')),
        response_status integer,
        error text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX alert_deliveries_alert_idx ON alert_deliveries (alert_id, created_at DESC, id DESC)`);

    this.addSql(`
      CREATE TABLE operation_leases (
        name text PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }
}
