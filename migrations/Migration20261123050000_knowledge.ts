import { Migration } from '@mikro-orm/migrations';

/**
 * The FAQ knowledge base.
 *
 * An FAQ is PUBLIC (admins keep it) or a department's (its managers and admins keep it); once PUBLISHED every
 * signed-in user reads and searches it. Search ranks in memory (BM25 over the stored `title_terms` /
 * `body_terms`, made by the segmenter) plus pg_trgm similarity of the question, so each process keeps an index
 * of the published FAQs and must learn of every change, on any process of a cluster:
 *
 * - `knowledge_index_state` holds one counter. Every FAQ change (create, update, publish, archive) increments it
 *   in its own transaction (`UPDATE … SET version = version + 1 RETURNING version`) and stamps the row's
 *   `revision` with the new value. The row lock on the counter makes writers take versions in commit order,
 *   so when a reader sees version V committed, every revision ≤ V is committed too.
 * - Before a search, a process compares the counter with the version its index holds and, when behind, reads
 *   only the rows with a greater revision (the index `faqs_revision_idx`) and applies them.
 *
 * Feedback is one vote per user and FAQ (`faq_feedback`), counted into the FAQ under its row lock.
 */
export class Migration20261123050000_knowledge extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TYPE faq_status AS ENUM ('DRAFT', 'PUBLISHED', 'ARCHIVED')`);
    this.addSql(`CREATE TYPE faq_scope AS ENUM ('PUBLIC', 'DEPARTMENT')`);
    this.addSql(`
      CREATE TABLE faqs (
        id uuid PRIMARY KEY,
        scope faq_scope NOT NULL,
        department_id uuid REFERENCES departments (id),
        question text NOT NULL CONSTRAINT faqs_question_check CHECK (char_length(btrim(question)) BETWEEN 1 AND 200),
        answer text NOT NULL CONSTRAINT faqs_answer_check CHECK (char_length(btrim(answer)) BETWEEN 1 AND 5000),
        category text NOT NULL CONSTRAINT faqs_category_check CHECK (char_length(btrim(category)) BETWEEN 1 AND 50),
        tags text[] NOT NULL DEFAULT '{}' CONSTRAINT faqs_tags_check CHECK (cardinality(tags) <= 20),
        status faq_status NOT NULL DEFAULT 'DRAFT',
        title_terms text[] NOT NULL DEFAULT '{}',
        body_terms text[] NOT NULL DEFAULT '{}',
        analyzer text NOT NULL DEFAULT '',
        revision bigint NOT NULL DEFAULT 0,
        use_count integer NOT NULL DEFAULT 0 CHECK (use_count >= 0),
        helpful_count integer NOT NULL DEFAULT 0 CHECK (helpful_count >= 0),
        not_helpful_count integer NOT NULL DEFAULT 0 CHECK (not_helpful_count >= 0),
        created_by_id uuid NOT NULL REFERENCES users (id),
        published_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT faqs_scope_department_check CHECK ((scope = 'DEPARTMENT') = (department_id IS NOT NULL))
      )`);
    // The index catching up: rows changed since version N.
    this.addSql(`CREATE INDEX faqs_revision_idx ON faqs (revision)`);
    // faqs(category, first, after): newest first, per category or all, by status.
    this.addSql(`CREATE INDEX faqs_list_idx ON faqs (status, category, created_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX faqs_list_all_idx ON faqs (status, created_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX faqs_department_idx ON faqs (department_id) WHERE department_id IS NOT NULL`);
    // popularFaqs.
    this.addSql(`CREATE INDEX faqs_popular_idx ON faqs (use_count DESC, helpful_count DESC, id) WHERE status = 'PUBLISHED'`);
    // No trigram index: similarity(question, query) is computed for the ≤ 30 BM25 candidates only, by primary key.

    this.addSql(`
      CREATE TABLE faq_feedback (
        faq_id uuid NOT NULL REFERENCES faqs (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id),
        helpful boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (faq_id, user_id)
      )`);

    this.addSql(`
      CREATE TABLE knowledge_index_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL
      )`);
    this.addSql(`INSERT INTO knowledge_index_state (id, version) VALUES (1, 0)`);
  }
}
