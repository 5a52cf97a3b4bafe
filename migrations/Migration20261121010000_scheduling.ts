import { Migration } from '@mikro-orm/migrations';

/**
 * Shifts and schedules. A schedule occupies a tstzrange; an exclusion constraint keeps an agent's
 * active schedules from overlapping, whatever the number of concurrent writers.
 */
export class Migration20261121010000_scheduling extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TYPE schedule_status AS ENUM ('NORMAL', 'ON_LEAVE', 'SWAPPED_OUT')`);
    this.addSql(`
      CREATE TABLE shifts (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        code text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,20}$'),
        start_time text NOT NULL CHECK (start_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
        end_time text NOT NULL CHECK (end_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
        department_id uuid REFERENCES departments (id),
        required_skills text[] NOT NULL DEFAULT '{}',
        color text NOT NULL DEFAULT '#4A90D9' CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
        archived boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT shifts_code_key UNIQUE (code)
      )`);
    this.addSql(`
      CREATE TABLE schedules (
        id uuid PRIMARY KEY,
        agent_id uuid NOT NULL REFERENCES users (id),
        shift_id uuid NOT NULL REFERENCES shifts (id),
        date date NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        period tstzrange GENERATED ALWAYS AS (tstzrange(starts_at, ends_at, '[)')) STORED,
        status schedule_status NOT NULL DEFAULT 'NORMAL',
        replaced_by_id uuid REFERENCES schedules (id),
        replacing_id uuid REFERENCES schedules (id),
        created_by_id uuid REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at > starts_at),
        CONSTRAINT schedules_no_overlap EXCLUDE USING gist (agent_id WITH =, period WITH &&) WHERE (status <> 'SWAPPED_OUT')
      )`);
    this.addSql(`CREATE INDEX schedules_date_idx ON schedules (date, agent_id)`);
    this.addSql(`CREATE INDEX schedules_shift_idx ON schedules (shift_id)`);
  }
}
