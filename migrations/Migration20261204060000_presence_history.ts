import { Migration } from '@mikro-orm/migrations';

/**
 * Presence history for adherence: one row per interval an agent spent in one state. The open interval
 * (ended_at NULL) is the agent's state now; a change closes it and opens the next in one transaction
 * (src/modules/presence/presence-history.ts). The exclusion constraint keeps one agent's intervals from
 * overlapping, so there is at most one open interval per agent whatever several processes do at once.
 */
export class Migration20261204060000_presence_history extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TYPE presence_state AS ENUM ('AVAILABLE', 'BUSY', 'AWAY', 'OFFLINE')`);
    this.addSql(`
      CREATE TABLE presence_intervals (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        agent_id uuid NOT NULL REFERENCES users (id),
        state presence_state NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        CHECK (ended_at IS NULL OR ended_at >= started_at),
        CONSTRAINT presence_intervals_no_overlap EXCLUDE USING gist (agent_id WITH =, tstzrange(started_at, ended_at, '[)') WITH &&)
      )`);
    this.addSql(`CREATE UNIQUE INDEX presence_intervals_open_idx ON presence_intervals (agent_id) WHERE ended_at IS NULL`);
    this.addSql(`CREATE INDEX presence_intervals_agent_time_idx ON presence_intervals (agent_id, started_at)`);
  }

  override async down(): Promise<void> {
    this.addSql(`DROP TABLE presence_intervals`);
    this.addSql(`DROP TYPE presence_state`);
  }
}
