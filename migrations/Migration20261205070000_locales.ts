import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 16, item 6: texts in zh-CN and en.
 *
 * - `users.locale`: the language the user chose (setMyLocale); null means Accept-Language, else the role's default.
 * - `notifications.texts`: `{ title, body }` as message ids and parameters of the catalogue, for a notification
 *   composed from it: rendered in the reader's language when read or pushed. `title` and `body` keep the zh-CN
 *   rendering (and are all there is for free text, e.g. sendNotification).
 */
export class Migration20261205070000_locales extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE users ADD COLUMN locale text CONSTRAINT users_locale_check CHECK (locale IN ('zh-CN', 'en'))`);
    this.addSql(`ALTER TABLE notifications ADD COLUMN texts jsonb`);
  }
}
