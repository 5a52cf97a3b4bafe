import { Migration } from '@mikro-orm/migrations';

/**
 * The periodic sweeps of the conversation lifecycle read small partial indexes, so a sweep that finds
 * nothing costs an index probe, however much history the tables hold: the idle sweep the ACTIVE
 * conversations the agent wrote to last, the offline sweep the agents with an offline_since and their
 * ACTIVE conversations.
 */
export class Migration20261122020000_conversation_lifecycle extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `CREATE INDEX conversations_idle_idx ON conversations (last_agent_message_at) WHERE status = 'ACTIVE' AND last_agent_message_at IS NOT NULL`,
    );
    this.addSql(`CREATE INDEX conversations_active_agent_idx ON conversations (agent_id) WHERE status = 'ACTIVE'`);
    this.addSql(`CREATE INDEX agent_states_offline_idx ON agent_states (offline_since) WHERE offline_since IS NOT NULL`);
  }
}
