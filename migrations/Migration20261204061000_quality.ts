import { Migration } from '@mikro-orm/migrations';

/**
 * Quality inspection and reviews.
 * - quality_violations: a rule (config/quality.json) an agent message broke; one row per message and rule.
 * - quality_sentiment_flags: a conversation whose customer turned strongly negative, flagged once.
 * - quality_reviews: a supervisor's scores by checklist item; one per conversation. Rows made by the weekly
 *   sample wait as PENDING; quality_sample_weeks records the weeks already sampled, so a rerun adds nothing.
 */
export class Migration20261204061000_quality extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE quality_violations (
        id uuid PRIMARY KEY,
        message_id uuid NOT NULL REFERENCES messages (id),
        conversation_id uuid NOT NULL REFERENCES conversations (id),
        agent_id uuid NOT NULL REFERENCES users (id),
        department_id uuid REFERENCES departments (id),
        rule text NOT NULL,
        matched text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT quality_violations_message_rule_key UNIQUE (message_id, rule)
      )`);
    this.addSql(`CREATE INDEX quality_violations_department_idx ON quality_violations (department_id, created_at)`);
    this.addSql(`CREATE INDEX quality_violations_agent_idx ON quality_violations (agent_id, created_at)`);
    this.addSql(`
      CREATE TABLE quality_sentiment_flags (
        conversation_id uuid PRIMARY KEY REFERENCES conversations (id),
        message_id uuid NOT NULL REFERENCES messages (id),
        agent_id uuid REFERENCES users (id),
        department_id uuid REFERENCES departments (id),
        intensity real NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE TYPE quality_review_status AS ENUM ('PENDING', 'DONE')`);
    this.addSql(`
      CREATE TABLE quality_reviews (
        id uuid PRIMARY KEY,
        conversation_id uuid NOT NULL REFERENCES conversations (id),
        agent_id uuid NOT NULL REFERENCES users (id),
        department_id uuid REFERENCES departments (id),
        status quality_review_status NOT NULL,
        sampled_week date,
        reviewer_id uuid REFERENCES users (id),
        scores jsonb,
        total_score real,
        max_score real,
        comment text,
        created_at timestamptz NOT NULL DEFAULT now(),
        reviewed_at timestamptz,
        CONSTRAINT quality_reviews_conversation_key UNIQUE (conversation_id),
        CHECK ((status = 'DONE') = (reviewed_at IS NOT NULL AND reviewer_id IS NOT NULL AND scores IS NOT NULL))
      )`);
    this.addSql(`CREATE INDEX quality_reviews_department_idx ON quality_reviews (department_id, created_at)`);
    this.addSql(`CREATE INDEX quality_reviews_agent_idx ON quality_reviews (agent_id, created_at)`);
    this.addSql(
      `CREATE TABLE quality_sample_weeks (week date PRIMARY KEY, sampled integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  override async down(): Promise<void> {
    for (const t of ['quality_sample_weeks', 'quality_reviews', 'quality_sentiment_flags', 'quality_violations'])
      this.addSql(`DROP TABLE ${t}`);
    this.addSql(`DROP TYPE quality_review_status`);
  }
}
