import { Migration } from '@mikro-orm/migrations';

/**
 * Staffing: forecast overrides (a manager's "×3 on Friday 10:00–12:00") and schedule proposals. A proposal
 * keeps `basis`, a digest of the department's schedules in its range when it was computed: applying it after
 * they changed is refused. `status` moves PROPOSED → APPLIED once, under the row's lock.
 */
export class Migration20261204050000_staffing extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE forecast_overrides (
        id uuid PRIMARY KEY,
        department_id uuid NOT NULL REFERENCES departments (id),
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        factor double precision NOT NULL CHECK (factor > 0 AND factor <= 100),
        reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
        created_by_id uuid REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at > starts_at)
      )`);
    this.addSql(`CREATE INDEX forecast_overrides_department_idx ON forecast_overrides (department_id, starts_at)`);
    this.addSql(`
      CREATE TABLE schedule_proposals (
        id uuid PRIMARY KEY,
        department_id uuid NOT NULL REFERENCES departments (id),
        from_date date NOT NULL,
        to_date date NOT NULL CHECK (to_date >= from_date),
        status text NOT NULL DEFAULT 'PROPOSED' CHECK (status IN ('PROPOSED', 'APPLIED')),
        basis text NOT NULL,
        result jsonb NOT NULL,
        created_by_id uuid REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        applied_by_id uuid REFERENCES users (id),
        applied_at timestamptz,
        CHECK ((status = 'APPLIED') = (applied_at IS NOT NULL))
      )`);
    this.addSql(`CREATE INDEX schedule_proposals_department_idx ON schedule_proposals (department_id, created_at DESC)`);
  }

  override async down(): Promise<void> {
    this.addSql(`DROP TABLE schedule_proposals`);
    this.addSql(`DROP TABLE forecast_overrides`);
  }
}
