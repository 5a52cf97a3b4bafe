import { Migration } from '@mikro-orm/migrations';

/**
 * Live service: conversations (the queue is the QUEUED ones), their messages numbered per conversation,
 * transfers, and each agent's load. One open conversation per customer is a partial unique index.
 */
export class Migration20261122000000_conversations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TYPE conversation_status AS ENUM ('QUEUED', 'ACTIVE', 'ENDED')`);
    this.addSql(`CREATE TYPE service_priority AS ENUM ('URGENT', 'HIGH', 'NORMAL', 'LOW')`);
    this.addSql(`CREATE TYPE message_kind AS ENUM ('TEXT', 'SYSTEM')`);
    this.addSql(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY,
        customer_id uuid NOT NULL REFERENCES users (id),
        agent_id uuid REFERENCES users (id),
        department_id uuid REFERENCES departments (id),
        skill text,
        topic text NOT NULL,
        status conversation_status NOT NULL,
        priority service_priority NOT NULL,
        priority_rank smallint NOT NULL CHECK (priority_rank BETWEEN 0 AND 3),
        created_at timestamptz NOT NULL DEFAULT now(),
        queued_at timestamptz NOT NULL DEFAULT now(),
        assigned_at timestamptz,
        ended_at timestamptz,
        end_reason text,
        last_seq integer NOT NULL DEFAULT 0,
        last_customer_message_at timestamptz,
        last_agent_message_at timestamptz,
        idle_warned_at timestamptz,
        rating smallint CHECK (rating BETWEEN 1 AND 5),
        rating_comment text,
        rated_at timestamptz,
        CHECK (status <> 'ACTIVE' OR agent_id IS NOT NULL),
        CHECK (status <> 'ENDED' OR ended_at IS NOT NULL)
      )`);
    this.addSql(`CREATE UNIQUE INDEX conversations_one_open_per_customer ON conversations (customer_id) WHERE status <> 'ENDED'`);
    this.addSql(`CREATE INDEX conversations_queue_idx ON conversations (priority_rank, queued_at, id) WHERE status = 'QUEUED'`);
    this.addSql(`CREATE INDEX conversations_agent_idx ON conversations (agent_id, status)`);
    this.addSql(`CREATE INDEX conversations_customer_idx ON conversations (customer_id, created_at DESC)`);
    this.addSql(`CREATE INDEX conversations_created_idx ON conversations (created_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX conversations_department_idx ON conversations (department_id, created_at DESC)`);

    this.addSql(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        conversation_id uuid NOT NULL REFERENCES conversations (id),
        seq integer NOT NULL CHECK (seq > 0),
        sender_id uuid REFERENCES users (id),
        sender_role user_role,
        kind message_kind NOT NULL DEFAULT 'TEXT',
        content text NOT NULL CHECK (length(content) BETWEEN 1 AND 20000),
        client_message_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        read_at timestamptz,
        CONSTRAINT messages_seq_key UNIQUE (conversation_id, seq)
      )`);
    this.addSql(
      `CREATE UNIQUE INDEX messages_client_message_key ON messages (conversation_id, sender_id, client_message_id) WHERE client_message_id IS NOT NULL`,
    );

    this.addSql(`
      CREATE TABLE conversation_transfers (
        id uuid PRIMARY KEY,
        conversation_id uuid NOT NULL REFERENCES conversations (id),
        from_agent_id uuid REFERENCES users (id),
        to_agent_id uuid REFERENCES users (id),
        by_id uuid REFERENCES users (id),
        note text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX conversation_transfers_conversation_idx ON conversation_transfers (conversation_id, created_at)`);

    this.addSql(`
      CREATE TABLE agent_states (
        agent_id uuid PRIMARY KEY REFERENCES users (id),
        active_chats integer NOT NULL DEFAULT 0 CHECK (active_chats >= 0),
        last_assigned_at timestamptz,
        offline_since timestamptz
      )`);
  }
}
