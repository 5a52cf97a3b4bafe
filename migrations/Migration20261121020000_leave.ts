import { Migration } from '@mikro-orm/migrations';

/** Uploaded files (leave attachments) and leave requests; no one has two overlapping live requests. */
export class Migration20261121020000_leave extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE uploads (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL REFERENCES users (id),
        name text NOT NULL,
        size integer NOT NULL CHECK (size >= 0),
        content_type text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX uploads_owner_idx ON uploads (owner_id)`);

    this.addSql(`CREATE TYPE leave_type AS ENUM ('PERSONAL', 'SICK', 'ANNUAL', 'COMPENSATORY', 'OTHER')`);
    this.addSql(`CREATE TYPE leave_status AS ENUM ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED')`);
    this.addSql(`CREATE TYPE day_half AS ENUM ('AM', 'PM')`);
    this.addSql(`
      CREATE TABLE leave_requests (
        id uuid PRIMARY KEY,
        requester_id uuid NOT NULL REFERENCES users (id),
        department_id uuid REFERENCES departments (id),
        type leave_type NOT NULL,
        start_date date NOT NULL,
        start_half day_half NOT NULL,
        end_date date NOT NULL,
        end_half day_half NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        period tstzrange GENERATED ALWAYS AS (tstzrange(starts_at, ends_at, '[)')) STORED,
        days numeric(6, 1) NOT NULL CHECK (days > 0),
        reason text NOT NULL DEFAULT '',
        attachment_ids uuid[] NOT NULL DEFAULT '{}',
        status leave_status NOT NULL DEFAULT 'PENDING',
        decided_by_id uuid REFERENCES users (id),
        decided_at timestamptz,
        decision_comment text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at > starts_at),
        CONSTRAINT leave_requests_no_overlap EXCLUDE USING gist (requester_id WITH =, period WITH &&)
          WHERE (status IN ('PENDING', 'APPROVED'))
      )`);
    this.addSql(`CREATE INDEX leave_requests_department_idx ON leave_requests (department_id, status, created_at DESC)`);
    this.addSql(`CREATE INDEX leave_requests_requester_idx ON leave_requests (requester_id, created_at DESC)`);
    this.addSql(`CREATE INDEX leave_requests_period_idx ON leave_requests USING gist (requester_id, period) WHERE status = 'APPROVED'`);
  }
}
