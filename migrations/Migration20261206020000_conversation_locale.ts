import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 16, item 6: system messages in the customer's language.
 *
 * - `conversations.locale` (and its archive's): the language the customer asked for when the conversation began
 *   (their stored locale, else Accept-Language / the connection's `locale`, else zh-CN). System messages written
 *   later by a sweep (idle warnings, hand-overs) use the customer's stored locale first, else this one.
 */
export class Migration20261206020000_conversation_locale extends Migration {
  override async up(): Promise<void> {
    for (const table of ['conversations', 'conversations_archive']) {
      this.addSql(`ALTER TABLE ${table} ADD COLUMN locale text CONSTRAINT ${table}_locale_check CHECK (locale IN ('zh-CN', 'en'))`);
    }
  }
}
