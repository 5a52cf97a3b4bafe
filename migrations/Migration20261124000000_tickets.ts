import { Migration } from '@mikro-orm/migrations';

/**
 * Tickets with SLAs, and their comments. The database holds the invariants it can: a NEW ticket has no
 * assignee and an ASSIGNED or IN_PROGRESS one has; a conversation becomes at most one ticket; a rating is
 * 1–5. Partial indexes keep the SLA sweep's four questions (warn / breach × first response / resolution)
 * cheap however many tickets are closed, and the queue order (priority, then nearest due) is an index.
 */
export class Migration20261124000000_tickets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TYPE ticket_status AS ENUM ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED', 'REOPENED')`);
    this.addSql(`
      CREATE TABLE tickets (
        id uuid PRIMARY KEY,
        customer_id uuid NOT NULL REFERENCES users (id),
        created_by_id uuid NOT NULL REFERENCES users (id),
        subject text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
        description text NOT NULL DEFAULT '',
        category text NOT NULL,
        department_id uuid REFERENCES departments (id),
        priority service_priority NOT NULL,
        priority_rank smallint NOT NULL,
        tags text[] NOT NULL DEFAULT '{}',
        conversation_id uuid REFERENCES conversations (id),
        status ticket_status NOT NULL DEFAULT 'NEW',
        assignee_id uuid REFERENCES users (id),
        assigned_at timestamptz,
        first_response_at timestamptz,
        first_response_due_at timestamptz NOT NULL,
        first_response_warn_at timestamptz NOT NULL,
        resolution_started_at timestamptz NOT NULL,
        resolution_due_at timestamptz NOT NULL,
        resolution_warn_at timestamptz NOT NULL,
        next_due_at timestamptz NOT NULL,
        first_response_warned_at timestamptz,
        first_response_breach_notified_at timestamptz,
        resolution_warned_at timestamptz,
        resolution_breach_notified_at timestamptz,
        escalation_count integer NOT NULL DEFAULT 0,
        escalated_at timestamptz,
        resolved_at timestamptz,
        resolution text,
        closed_at timestamptz,
        reopened_at timestamptz,
        reopen_count integer NOT NULL DEFAULT 0,
        rating smallint CHECK (rating BETWEEN 1 AND 5),
        rating_comment text,
        rated_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT tickets_new_unassigned CHECK (status <> 'NEW' OR assignee_id IS NULL),
        CONSTRAINT tickets_worked_assigned CHECK (status NOT IN ('ASSIGNED', 'IN_PROGRESS') OR assignee_id IS NOT NULL)
      )`);
    this.addSql(`CREATE UNIQUE INDEX tickets_conversation_key ON tickets (conversation_id) WHERE conversation_id IS NOT NULL`);
    // Queue order (priority, nearest due, id) for admins, per department, and for a department's unassigned queue.
    this.addSql(`CREATE INDEX tickets_queue_idx ON tickets (priority_rank, next_due_at, id)`);
    this.addSql(`CREATE INDEX tickets_department_queue_idx ON tickets (department_id, priority_rank, next_due_at, id)`);
    this.addSql(`CREATE INDEX tickets_unassigned_idx ON tickets (department_id, priority_rank, next_due_at, id) WHERE assignee_id IS NULL`);
    this.addSql(`CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, priority_rank, next_due_at, id)`);
    this.addSql(`CREATE INDEX tickets_customer_idx ON tickets (customer_id, priority_rank, next_due_at, id)`);
    this.addSql(`CREATE INDEX tickets_created_idx ON tickets (created_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX tickets_department_created_idx ON tickets (department_id, created_at DESC, id DESC)`);
    // Auto-assignment: an agent's open load and their history in a category.
    this.addSql(`CREATE INDEX tickets_load_idx ON tickets (assignee_id) WHERE status IN ('ASSIGNED', 'IN_PROGRESS', 'REOPENED')`);
    this.addSql(`CREATE INDEX tickets_history_idx ON tickets (assignee_id, category) WHERE resolved_at IS NOT NULL`);
    // The SLA sweep: open tickets whose warning or due time passed and whose owners were not yet told.
    const open = `status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'REOPENED')`;
    this.addSql(
      `CREATE INDEX tickets_fr_warn_idx ON tickets (first_response_warn_at) WHERE first_response_at IS NULL AND first_response_warned_at IS NULL AND ${open}`,
    );
    this.addSql(
      `CREATE INDEX tickets_fr_breach_idx ON tickets (first_response_due_at) WHERE first_response_at IS NULL AND first_response_breach_notified_at IS NULL AND ${open}`,
    );
    this.addSql(`CREATE INDEX tickets_res_warn_idx ON tickets (resolution_warn_at) WHERE resolution_warned_at IS NULL AND ${open}`);
    this.addSql(
      `CREATE INDEX tickets_res_breach_idx ON tickets (resolution_due_at) WHERE resolution_breach_notified_at IS NULL AND ${open}`,
    );
    this.addSql(`CREATE INDEX tickets_waiting_idx ON tickets (department_id) WHERE assignee_id IS NULL AND ${open}`);

    this.addSql(`
      CREATE TABLE ticket_comments (
        id uuid PRIMARY KEY,
        ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        author_id uuid NOT NULL REFERENCES users (id),
        author_role user_role NOT NULL,
        body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
        internal boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX ticket_comments_ticket_idx ON ticket_comments (ticket_id, created_at, id)`);
  }
}
