import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 10, item 5: a chat message's statement is planned once per connection, not once per execution.
 *
 * The append (MessageAppender) ran as a prepared statement with arrays of values. PostgreSQL plans such a
 * statement anew at each execution while a plan made for the actual array lengths looks cheaper than the
 * generic one, which for arrays of one to a few messages is always: measured alone on the development machine,
 * planning was half of PostgreSQL's CPU for a statement of one message (1.0 vs 0.5 ms) and a third at three
 * (0.47 vs 0.28 ms per message), and nothing at fifty. The statement now lives in this function, whose
 * `plan_cache_mode` makes PL/pgSQL keep its first (generic) plan: unnest's rows joined to `conversations` by
 * primary key and to `messages` by its client-message index, whatever the batch's size. The setting holds only
 * inside the function; every other statement is planned as before.
 *
 * What it does, per message (arrays, one element each): UPDATE takes the conversation's row lock (ordering
 * concurrent senders) and the next seq, INSERT stores the message with that seq. A message is appended only
 * when its sender may write now (the customer while the conversation is open, the agent while it is ACTIVE)
 * and its clientMessageId is new to this sender; otherwise its row changes nothing and returns nothing.
 * `pii_kinds` are comma-joined; `sealed_originals` is NULL for a message that held no personal data.
 */
export class Migration20261204214059_chat_append_planned_once extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE FUNCTION chat_append_messages(
        sender_ids uuid[], ats timestamptz[], conversation_ids uuid[], client_message_ids text[], ids uuid[],
        sender_roles user_role[], contents text[], pii_kinds text[], sealed_originals bytea[]
      ) RETURNS TABLE (id uuid, seq integer, agent_id uuid)
      LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
      #variable_conflict use_column
      BEGIN
        RETURN QUERY
          WITH input AS (
            SELECT * FROM unnest(sender_ids, ats, conversation_ids, client_message_ids, ids, sender_roles, contents, pii_kinds, sealed_originals)
              AS t(sender_id, at, conversation_id, client_message_id, id, sender_role, content, pii, sealed)
          ),
          c AS (
            UPDATE conversations cv
               SET last_seq = cv.last_seq + 1,
                   last_customer_message_at = CASE WHEN cv.customer_id = i.sender_id THEN i.at ELSE cv.last_customer_message_at END,
                   idle_warned_at = CASE WHEN cv.customer_id = i.sender_id THEN NULL ELSE cv.idle_warned_at END,
                   last_agent_message_at = CASE WHEN cv.customer_id = i.sender_id THEN cv.last_agent_message_at ELSE i.at END
              FROM input i
             WHERE cv.id = i.conversation_id
               AND ((cv.customer_id = i.sender_id AND cv.status <> 'ENDED') OR (cv.agent_id = i.sender_id AND cv.status = 'ACTIVE'))
               AND NOT EXISTS (
                 SELECT 1 FROM messages m
                  WHERE m.conversation_id = i.conversation_id AND m.sender_id = i.sender_id AND m.client_message_id = i.client_message_id)
            RETURNING i.id, cv.last_seq, cv.agent_id
          ),
          stored AS (
            INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, kind, content, client_message_id, created_at, pii_types, sealed)
            SELECT i.id, i.conversation_id, c.last_seq, i.sender_id, i.sender_role, 'TEXT', i.content, i.client_message_id, i.at,
                   string_to_array(i.pii, ','), i.sealed
              FROM c JOIN input i ON i.id = c.id
            RETURNING id, seq
          )
          SELECT stored.id, stored.seq, c.agent_id FROM stored JOIN c ON c.id = stored.id;
      END $fn$`);
  }

  override async down(): Promise<void> {
    this.addSql(`DROP FUNCTION chat_append_messages(uuid[], timestamptz[], uuid[], text[], uuid[], user_role[], text[], text[], bytea[])`);
  }
}
