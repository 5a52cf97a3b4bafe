import { Migration } from '@mikro-orm/migrations';

/**
 * An agent's seats (agent_states.active_chats) are counted by the database from their ACTIVE conversations:
 * a trigger on conversations adds one when a conversation becomes ACTIVE for an agent (a new assignment, a
 * pick-up from the queue, a transfer in) and takes one away when it stops being theirs (an end, a requeue, a
 * transfer out, a delete), in the same transaction, so a rollback or a killed process undoes both together.
 * Nothing else may write the count: a second trigger refuses any change made outside the first one. Routing
 * still checks capacity (it locks the agent's row and compares the count with max_concurrent_chats before it
 * assigns); it no longer counts.
 */
export class Migration20261203000000_seats_counted extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE FUNCTION agent_seats_adjust(agent uuid, delta integer) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF delta > 0 THEN
          INSERT INTO agent_states AS a (agent_id, active_chats, last_assigned_at) VALUES (agent, delta, now())
          ON CONFLICT (agent_id) DO UPDATE SET active_chats = a.active_chats + delta, last_assigned_at = now();
        ELSE
          UPDATE agent_states SET active_chats = active_chats + delta WHERE agent_id = agent;
        END IF;
      END $$`);
    this.addSql(`
      CREATE FUNCTION conversations_count_seats() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        freed uuid;
        taken uuid;
      BEGIN
        IF TG_OP <> 'INSERT' AND OLD.status = 'ACTIVE' THEN freed := OLD.agent_id; END IF;
        IF TG_OP <> 'DELETE' AND NEW.status = 'ACTIVE' THEN taken := NEW.agent_id; END IF;
        IF freed IS NOT DISTINCT FROM taken THEN RETURN NULL; END IF;
        -- Two agents' rows: always in agent-id order, so opposite transfers cannot deadlock here.
        IF freed IS NOT NULL AND (taken IS NULL OR freed < taken) THEN
          PERFORM agent_seats_adjust(freed, -1);
          IF taken IS NOT NULL THEN PERFORM agent_seats_adjust(taken, 1); END IF;
        ELSE
          PERFORM agent_seats_adjust(taken, 1);
          IF freed IS NOT NULL THEN PERFORM agent_seats_adjust(freed, -1); END IF;
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE FUNCTION agent_states_count_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Depth 1: a statement of its own. The counting trigger's writes run at depth 2.
        IF pg_trigger_depth() < 2 AND (CASE WHEN TG_OP = 'INSERT' THEN NEW.active_chats <> 0 ELSE NEW.active_chats <> OLD.active_chats END) THEN
          RAISE EXCEPTION 'agent_states.active_chats is counted from the ACTIVE conversations and is not written directly'
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);

    // Today's counts, from today's conversations (whatever drift the old bookkeeping left), then the triggers.
    this.addSql(`LOCK TABLE conversations, agent_states IN SHARE ROW EXCLUSIVE MODE`);
    this.addSql(`
      INSERT INTO agent_states (agent_id)
      SELECT DISTINCT agent_id FROM conversations WHERE status = 'ACTIVE'
      ON CONFLICT (agent_id) DO NOTHING`);
    this.addSql(`
      UPDATE agent_states a SET active_chats = counted.n
        FROM (SELECT s.agent_id, (SELECT count(*) FROM conversations c WHERE c.agent_id = s.agent_id AND c.status = 'ACTIVE')::int AS n
                FROM agent_states s) counted
       WHERE counted.agent_id = a.agent_id AND a.active_chats <> counted.n`);
    this.addSql(`
      CREATE TRIGGER conversations_count_seats
        AFTER INSERT OR DELETE OR UPDATE OF status, agent_id ON conversations
        FOR EACH ROW EXECUTE FUNCTION conversations_count_seats()`);
    this.addSql(`
      CREATE TRIGGER agent_states_count_guard
        BEFORE INSERT OR UPDATE OF active_chats ON agent_states
        FOR EACH ROW EXECUTE FUNCTION agent_states_count_guard()`);
  }
}
