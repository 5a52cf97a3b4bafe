import { Migration } from '@mikro-orm/migrations';

/**
 * Quick replies: canned answers an agent sends into a chat. PERSONAL ones belong to their owner, DEPARTMENT
 * ones to a department (its manager keeps them), PUBLIC ones to everybody (admins keep them).
 *
 * A shortcut ("/refund") is unique within its own shelf: per owner among PERSONAL replies, per department
 * among DEPARTMENT replies, and among PUBLIC replies; case does not count. Uniqueness across everything one
 * agent sees would need a constraint spanning shelves, so it is not enforced.
 */
export class Migration20261122010000_quick_replies extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TYPE quick_reply_scope AS ENUM ('PERSONAL', 'DEPARTMENT', 'PUBLIC')`);
    this.addSql(`
      CREATE TABLE quick_replies (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL REFERENCES users (id),
        department_id uuid REFERENCES departments (id),
        scope quick_reply_scope NOT NULL,
        title text NOT NULL CONSTRAINT quick_replies_title_check CHECK (char_length(btrim(title)) BETWEEN 1 AND 100),
        content text NOT NULL CONSTRAINT quick_replies_content_check CHECK (char_length(btrim(content)) BETWEEN 1 AND 2000),
        category text NOT NULL DEFAULT '通用' CONSTRAINT quick_replies_category_check CHECK (char_length(btrim(category)) BETWEEN 1 AND 50),
        shortcut text CONSTRAINT quick_replies_shortcut_check CHECK (shortcut ~ '^/[A-Za-z0-9_\\u4e00-\\u9fff-]{1,30}$'),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT quick_replies_scope_department_check CHECK ((scope = 'DEPARTMENT') = (department_id IS NOT NULL))
      )`);
    this.addSql(
      `CREATE UNIQUE INDEX quick_replies_personal_shortcut_key ON quick_replies (owner_id, lower(shortcut)) WHERE scope = 'PERSONAL'`,
    );
    this.addSql(
      `CREATE UNIQUE INDEX quick_replies_department_shortcut_key ON quick_replies (department_id, lower(shortcut)) WHERE scope = 'DEPARTMENT'`,
    );
    this.addSql(`CREATE UNIQUE INDEX quick_replies_public_shortcut_key ON quick_replies (lower(shortcut)) WHERE scope = 'PUBLIC'`);
    // The lists: one's own, one's department's, the public ones, each by title.
    this.addSql(`CREATE INDEX quick_replies_owner_idx ON quick_replies (owner_id, title) WHERE scope = 'PERSONAL'`);
    this.addSql(`CREATE INDEX quick_replies_department_idx ON quick_replies (department_id, title) WHERE scope = 'DEPARTMENT'`);
    this.addSql(`CREATE INDEX quick_replies_public_idx ON quick_replies (title) WHERE scope = 'PUBLIC'`);
    // Search: ILIKE '%…%' on this very expression can use the trigram index. U+001F separates the fields; a
    // search never contains it (the service refuses control characters), so no match spans two fields.
    this.addSql(
      `CREATE INDEX quick_replies_search_trgm ON quick_replies USING gin ((title || E'\\x1f' || content || E'\\x1f' || coalesce(shortcut, '')) gin_trgm_ops)`,
    );
  }
}
