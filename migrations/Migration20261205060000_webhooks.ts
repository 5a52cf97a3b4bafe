import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 16, items 2 and 3: outbound webhooks.
 *
 * - `webhooks`: a receiver URL, the event types it subscribes to, an optional department, its signing secret
 *   sealed under a data key (envelope encryption, as records do), and `failing_since` for the failure window.
 * - `webhook_events`: the outbox. AFTER triggers on the source tables write a row in the SAME transaction as
 *   the change, with a snapshot of the row, but only when an enabled webhook subscribes to that event type:
 *   one indexed EXISTS on a tiny table, so the chat's hot path pays next to nothing when nobody listens.
 *   `lane_id` is the object whose events must arrive in order (a message's lane is its conversation).
 * - `webhook_deliveries`: one per event and webhook (and per redelivery), ordered in their lane by `position`.
 */
export class Migration20261205060000_webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE webhooks (
        id uuid PRIMARY KEY,
        url text NOT NULL CONSTRAINT webhooks_url_check CHECK (char_length(url) BETWEEN 1 AND 2000),
        events text[] NOT NULL CONSTRAINT webhooks_events_check CHECK (cardinality(events) >= 1),
        department_id uuid REFERENCES departments (id),
        secret_sealed bytea NOT NULL,
        created_by_id uuid REFERENCES users (id),
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        failing_since timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX webhooks_events_idx ON webhooks USING gin (events) WHERE enabled`);
    this.addSql(`CREATE INDEX webhooks_department_idx ON webhooks (department_id)`);

    this.addSql(`
      CREATE TABLE webhook_events (
        seq bigserial PRIMARY KEY,
        id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
        type text NOT NULL,
        object_type text NOT NULL,
        object_id uuid NOT NULL,
        lane_id uuid NOT NULL,
        snapshot jsonb NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        dispatched_at timestamptz
      )`);
    this.addSql(`CREATE INDEX webhook_events_undispatched_idx ON webhook_events (seq) WHERE dispatched_at IS NULL`);

    this.addSql(`CREATE TYPE webhook_delivery_status AS ENUM ('PENDING', 'DELIVERED', 'FAILED')`);
    this.addSql(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        position bigserial NOT NULL UNIQUE,
        webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id uuid NOT NULL REFERENCES webhook_events (id),
        event_type text NOT NULL,
        lane_id uuid NOT NULL,
        redelivery_of_id uuid REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
        status webhook_delivery_status NOT NULL DEFAULT 'PENDING',
        claimed_by text,
        attempts integer NOT NULL DEFAULT 0,
        response_status integer,
        duration_ms integer,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        finished_at timestamptz
      )`);
    this.addSql(`CREATE INDEX webhook_deliveries_lane_idx ON webhook_deliveries (webhook_id, lane_id, position) WHERE status = 'PENDING'`);
    this.addSql(`CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC)`);

    // Records one event when an enabled webhook listens for it. The snapshot leaves out sealed originals.
    this.addSql(`
      CREATE FUNCTION webhook_record(kind text, object_type text, object_id uuid, lane_id uuid, row_data jsonb) RETURNS void
      LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO webhook_events (type, object_type, object_id, lane_id, snapshot)
        VALUES (kind, object_type, object_id, lane_id, row_data - 'sealed');
      END $$`);
    this.addSql(`
      CREATE FUNCTION webhook_listened(kind text) RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled AND events @> ARRAY[kind])
      $$`);

    this.addSql(`
      CREATE FUNCTION webhook_conversation_events() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE kind text;
      BEGIN
        FOREACH kind IN ARRAY CASE
          WHEN TG_OP = 'INSERT' AND NEW.agent_id IS NOT NULL THEN ARRAY['conversation.created', 'conversation.assigned']
          WHEN TG_OP = 'INSERT' THEN ARRAY['conversation.created']
          WHEN NEW.status = 'ENDED' AND OLD.status <> 'ENDED' THEN ARRAY['conversation.ended']
          WHEN OLD.agent_id IS NULL AND NEW.agent_id IS NOT NULL THEN ARRAY['conversation.assigned']
          WHEN NEW.agent_id IS NOT NULL AND OLD.agent_id <> NEW.agent_id THEN ARRAY['conversation.transferred']
          ELSE ARRAY[]::text[] END
        LOOP
          IF webhook_listened(kind) THEN PERFORM webhook_record(kind, 'Conversation', NEW.id, NEW.id, to_jsonb(NEW)); END IF;
        END LOOP;
        RETURN NULL;
      END $$`);
    this.addSql(
      `CREATE TRIGGER conversations_webhook_insert AFTER INSERT ON conversations FOR EACH ROW EXECUTE FUNCTION webhook_conversation_events()`,
    );
    this.addSql(`
      CREATE TRIGGER conversations_webhook_update AFTER UPDATE OF status, agent_id ON conversations FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
      EXECUTE FUNCTION webhook_conversation_events()`);

    this.addSql(`
      CREATE FUNCTION webhook_message_events() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF webhook_listened('message.created') THEN
          PERFORM webhook_record('message.created', 'Message', NEW.id, NEW.conversation_id, to_jsonb(NEW));
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql(`CREATE TRIGGER messages_webhook_insert AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION webhook_message_events()`);

    this.addSql(`
      CREATE FUNCTION webhook_ticket_events() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE kind text;
      DECLARE kinds text[] := ARRAY[]::text[];
      BEGIN
        IF TG_OP = 'INSERT' THEN kinds := ARRAY['ticket.created'];
        ELSE
          IF OLD.status IS DISTINCT FROM NEW.status THEN kinds := array_append(kinds, 'ticket.status_changed'); END IF;
          IF (OLD.first_response_breach_notified_at IS NULL AND NEW.first_response_breach_notified_at IS NOT NULL)
            OR (OLD.resolution_breach_notified_at IS NULL AND NEW.resolution_breach_notified_at IS NOT NULL) THEN
            kinds := array_append(kinds, 'ticket.sla_breached');
          END IF;
        END IF;
        FOREACH kind IN ARRAY kinds LOOP
          IF webhook_listened(kind) THEN PERFORM webhook_record(kind, 'Ticket', NEW.id, NEW.id, to_jsonb(NEW)); END IF;
        END LOOP;
        RETURN NULL;
      END $$`);
    this.addSql(`CREATE TRIGGER tickets_webhook_insert AFTER INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION webhook_ticket_events()`);
    this.addSql(`
      CREATE TRIGGER tickets_webhook_update AFTER UPDATE OF status, first_response_breach_notified_at, resolution_breach_notified_at
      ON tickets FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR (OLD.first_response_breach_notified_at IS NULL AND NEW.first_response_breach_notified_at IS NOT NULL)
        OR (OLD.resolution_breach_notified_at IS NULL AND NEW.resolution_breach_notified_at IS NOT NULL))
      EXECUTE FUNCTION webhook_ticket_events()`);

    // Leave and swaps: decided is PENDING → APPROVED or REJECTED (a cancellation is the requester's, no decision).
    this.addSql(`
      CREATE FUNCTION webhook_decision_events() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE kind text := TG_ARGV[0];
      BEGIN
        IF webhook_listened(kind) THEN PERFORM webhook_record(kind, TG_ARGV[1], NEW.id, NEW.id, to_jsonb(NEW)); END IF;
        RETURN NULL;
      END $$`);
    for (const [table, kind, type] of [
      ['leave_requests', 'leave.decided', 'LeaveRequest'],
      ['swap_requests', 'swap.decided', 'SwapRequest'],
    ]) {
      this.addSql(`
        CREATE TRIGGER ${table}_webhook_decided AFTER UPDATE OF status ON ${table} FOR EACH ROW
        WHEN (OLD.status = 'PENDING' AND NEW.status IN ('APPROVED', 'REJECTED'))
        EXECUTE FUNCTION webhook_decision_events('${kind}', '${type}')`);
    }
    this.addSql(`
      CREATE FUNCTION webhook_alert_events() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF webhook_listened('alert.raised') THEN PERFORM webhook_record('alert.raised', 'Alert', NEW.id, NEW.id, to_jsonb(NEW)); END IF;
        RETURN NULL;
      END $$`);
    this.addSql(`CREATE TRIGGER alerts_webhook_insert AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION webhook_alert_events()`);
  }
}
