import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 15: a knowledge base that understands how customers ask.
 *
 * - `faqs.match_text`: the question as pg_trgm compares it (normalised, traditional → simplified, the lexicon's
 *   forms replaced by their canonical terms), with a GiST trigram index over published FAQs: the character
 *   path of search (`ORDER BY match_text <-> query LIMIT n`, a KNN scan), beside the in-memory word path.
 * - `faq_phrasings`: alternative phrasings (相似问法) of an FAQ. ACCEPTED ones are searched like the question
 *   (their terms are copied into `faqs.phrasing_terms`, so the index catches up from the FAQ row alone; the
 *   FAQ's revision moves with every change to them). SUGGESTED ones were learnt from service and wait for a
 *   manager; REJECTED ones are kept so the same text is not suggested again. One row per FAQ and text.
 *   `match_text` is the phrasing as pg_trgm compares it, like the question's.
 * - `faq_answers_sent`: an agent answered a conversation with an FAQ (`sendFaq`); once the conversation has
 *   ended well the customer's question becomes a suggestion (`settled_at` marks it done, once).
 * - `faq_unanswered`: questions that found nothing, or whose auto-answer the customer said did not help.
 */
export class Migration20261204070000_faq_phrasings extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE faqs ADD COLUMN match_text text NOT NULL DEFAULT ''`);
    this.addSql(`ALTER TABLE faqs ADD COLUMN phrasing_terms jsonb NOT NULL DEFAULT '[]'`);
    this.addSql(`CREATE INDEX faqs_match_trgm_idx ON faqs USING gist (match_text gist_trgm_ops) WHERE status = 'PUBLISHED'`);

    this.addSql(`CREATE TYPE faq_phrasing_status AS ENUM ('SUGGESTED', 'ACCEPTED', 'REJECTED')`);
    this.addSql(`CREATE TYPE faq_phrasing_source AS ENUM ('MANUAL', 'AGENT_ANSWER', 'AUTO_ANSWER_HELPFUL')`);
    this.addSql(`
      CREATE TABLE faq_phrasings (
        id uuid PRIMARY KEY,
        faq_id uuid NOT NULL REFERENCES faqs (id) ON DELETE CASCADE,
        text text NOT NULL CONSTRAINT faq_phrasings_text_check CHECK (char_length(btrim(text)) BETWEEN 1 AND 200),
        match_text text NOT NULL,
        status faq_phrasing_status NOT NULL,
        source faq_phrasing_source NOT NULL,
        times_seen integer NOT NULL DEFAULT 1 CHECK (times_seen >= 1),
        created_by_id uuid REFERENCES users (id),
        decided_by_id uuid REFERENCES users (id),
        decided_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One row per FAQ and text (ignoring case and surrounding blanks): a suggestion seen again counts up.
    this.addSql(`CREATE UNIQUE INDEX faq_phrasings_text_unique ON faq_phrasings (faq_id, lower(btrim(text)))`);
    this.addSql(
      `CREATE INDEX faq_phrasings_match_trgm_idx ON faq_phrasings USING gist (match_text gist_trgm_ops) WHERE status = 'ACCEPTED'`,
    );
    this.addSql(`CREATE INDEX faq_phrasings_suggested_idx ON faq_phrasings (created_at DESC, id DESC) WHERE status = 'SUGGESTED'`);

    this.addSql(`
      CREATE TABLE faq_answers_sent (
        id uuid PRIMARY KEY,
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        faq_id uuid NOT NULL REFERENCES faqs (id) ON DELETE CASCADE,
        agent_id uuid NOT NULL REFERENCES users (id),
        question text NOT NULL,
        sent_at timestamptz NOT NULL DEFAULT now(),
        settled_at timestamptz,
        UNIQUE (conversation_id, faq_id)
      )`);
    this.addSql(`CREATE INDEX faq_answers_sent_open_idx ON faq_answers_sent (sent_at) WHERE settled_at IS NULL`);

    this.addSql(`
      CREATE TABLE faq_unanswered (
        id uuid PRIMARY KEY,
        question text NOT NULL,
        match_text text NOT NULL,
        reason text NOT NULL CHECK (reason IN ('NO_RESULT', 'NOT_HELPFUL')),
        faq_id uuid REFERENCES faqs (id) ON DELETE SET NULL,
        asked_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX faq_unanswered_asked_idx ON faq_unanswered (asked_at)`);
  }
}
