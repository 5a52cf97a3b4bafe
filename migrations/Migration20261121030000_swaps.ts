import { Migration } from '@mikro-orm/migrations';

/**
 * Swap requests: a list of steps, each handing one schedule to another agent. The request's status is
 * copied onto its steps so that a partial unique index can keep a schedule in at most one pending swap.
 */
export class Migration20261121030000_swaps extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TYPE swap_status AS ENUM ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED')`);
    this.addSql(`
      CREATE TABLE swap_requests (
        id uuid PRIMARY KEY,
        requester_id uuid NOT NULL REFERENCES users (id),
        status swap_status NOT NULL DEFAULT 'PENDING',
        reason text NOT NULL DEFAULT '',
        participant_ids uuid[] NOT NULL,
        department_ids uuid[] NOT NULL,
        decided_by_id uuid REFERENCES users (id),
        decided_at timestamptz,
        decision_comment text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX swap_requests_participants_idx ON swap_requests USING gin (participant_ids)`);
    this.addSql(`CREATE INDEX swap_requests_departments_idx ON swap_requests USING gin (department_ids)`);
    this.addSql(`CREATE INDEX swap_requests_created_idx ON swap_requests (created_at DESC, id DESC)`);
    this.addSql(`
      CREATE TABLE swap_steps (
        id uuid PRIMARY KEY,
        swap_request_id uuid NOT NULL REFERENCES swap_requests (id),
        position smallint NOT NULL CHECK (position BETWEEN 1 AND 10),
        schedule_id uuid NOT NULL REFERENCES schedules (id),
        from_agent_id uuid NOT NULL REFERENCES users (id),
        to_agent_id uuid NOT NULL REFERENCES users (id),
        new_schedule_id uuid REFERENCES schedules (id),
        request_status swap_status NOT NULL DEFAULT 'PENDING',
        CHECK (from_agent_id <> to_agent_id),
        CONSTRAINT swap_steps_position_key UNIQUE (swap_request_id, position),
        CONSTRAINT swap_steps_schedule_once_key UNIQUE (swap_request_id, schedule_id)
      )`);
    this.addSql(`CREATE UNIQUE INDEX swap_steps_one_pending_swap ON swap_steps (schedule_id) WHERE request_status = 'PENDING'`);
  }
}
