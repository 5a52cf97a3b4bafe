import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 10, item 5: less PostgreSQL work per chat message.
 *
 * - `conversations` keeps a quarter of each page free (fillfactor 75). Every message updates its conversation's
 *   row (last_seq, the last message times); a customer's message changes no indexed column, so with room on the
 *   page the new row version stays there and none of the table's indexes gets an entry (a HOT update). On full
 *   pages each such update wrote an entry into every index of the table. Pages written before this keep their
 *   fill until the table is rewritten; conversations created from now on get the room at once.
 * - `message.created` webhooks: a statement trigger over the inserted rows replaces the row trigger, so a
 *   statement that appends a batch of messages asks once whether an enabled webhook listens, not once per
 *   message (a PL/pgSQL call and a query each, for nobody, when no webhook listens).
 */
export class Migration20261206040000_message_path extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE conversations SET (fillfactor = 75)`);
    this.addSql(`
      CREATE FUNCTION webhook_messages_created() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF webhook_listened('message.created') THEN
          PERFORM webhook_record('message.created', 'Message', n.id, n.conversation_id, to_jsonb(n))
             FROM inserted n ORDER BY n.conversation_id, n.seq;
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql(`DROP TRIGGER messages_webhook_insert ON messages`);
    this.addSql(`DROP FUNCTION webhook_message_events()`);
    this.addSql(`
      CREATE TRIGGER messages_webhook_insert AFTER INSERT ON messages REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION webhook_messages_created()`);
  }

  override async down(): Promise<void> {
    this.addSql(`DROP TRIGGER messages_webhook_insert ON messages`);
    this.addSql(`DROP FUNCTION webhook_messages_created()`);
    this.addSql(`
      CREATE FUNCTION webhook_message_events() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF webhook_listened('message.created') THEN
          PERFORM webhook_record('message.created', 'Message', NEW.id, NEW.conversation_id, to_jsonb(NEW));
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql(`CREATE TRIGGER messages_webhook_insert AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION webhook_message_events()`);
    this.addSql(`ALTER TABLE conversations RESET (fillfactor)`);
  }
}
