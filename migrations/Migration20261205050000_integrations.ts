import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 16: API keys and the channel API.
 *
 * - `api_keys`: integration credentials. Only a SHA-256 of the secret is kept (`secret_hash`); a rotation moves
 *   it to `previous_secret_hash`, valid until `previous_valid_until`. Scopes are the documented strings.
 * - `channel_identities`: an external customer of a channel (WeChat, e-mail, …) and the ShiftDesk customer they
 *   are; several identities may point at one customer. One row per (channel, external id).
 * - `channel_messages`: the external messages already taken in, so a repeat gives the stored message back.
 *   No foreign keys to messages or conversations: the records archive moves those.
 */
export class Migration20261205050000_integrations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        name text NOT NULL CONSTRAINT api_keys_name_check CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
        prefix text NOT NULL,
        secret_hash text NOT NULL CONSTRAINT api_keys_secret_hash_key UNIQUE,
        previous_secret_hash text CONSTRAINT api_keys_previous_secret_hash_key UNIQUE,
        previous_valid_until timestamptz,
        scopes text[] NOT NULL CONSTRAINT api_keys_scopes_check CHECK (
          cardinality(scopes) >= 1
          AND scopes <@ ARRAY['tickets:read', 'tickets:write', 'conversations:read', 'channel:write', 'webhooks:manage']::text[]
        ),
        department_id uuid REFERENCES departments (id),
        expires_at timestamptz,
        created_by_id uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        rotated_at timestamptz,
        revoked_at timestamptz,
        revoked_by_id uuid REFERENCES users (id),
        last_used_at timestamptz,
        last_used_address text,
        CONSTRAINT api_keys_previous_check CHECK ((previous_secret_hash IS NULL) = (previous_valid_until IS NULL))
      )`);
    this.addSql(`CREATE INDEX api_keys_department_idx ON api_keys (department_id, created_at DESC)`);

    this.addSql(`
      CREATE TABLE channel_identities (
        id uuid PRIMARY KEY,
        channel text NOT NULL CONSTRAINT channel_identities_channel_check CHECK (channel ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
        external_customer_id text NOT NULL
          CONSTRAINT channel_identities_external_check CHECK (char_length(external_customer_id) BETWEEN 1 AND 200),
        customer_id uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT channel_identities_external_key UNIQUE (channel, external_customer_id)
      )`);
    this.addSql(`CREATE INDEX channel_identities_customer_idx ON channel_identities (customer_id)`);

    this.addSql(`
      CREATE TABLE channel_messages (
        channel text NOT NULL,
        external_message_id text NOT NULL,
        customer_id uuid NOT NULL REFERENCES users (id),
        conversation_id uuid NOT NULL,
        message_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (channel, external_message_id)
      )`);
  }
}
