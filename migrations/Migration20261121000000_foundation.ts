import { Migration } from '@mikro-orm/migrations';

/** Accounts, departments, the audit log and notifications. */
export class Migration20261121000000_foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE EXTENSION IF NOT EXISTS btree_gist`);
    this.addSql(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    this.addSql(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    this.addSql(`CREATE TYPE user_role AS ENUM ('ADMIN', 'MANAGER', 'AGENT', 'CUSTOMER')`);

    this.addSql(`
      CREATE TABLE departments (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        code text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
        description text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT departments_name_key UNIQUE (name),
        CONSTRAINT departments_code_key UNIQUE (code)
      )`);

    this.addSql(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        email text NOT NULL CHECK (email = lower(email)),
        display_name text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 100),
        employee_code text,
        role user_role NOT NULL,
        department_id uuid REFERENCES departments (id),
        skills text[] NOT NULL DEFAULT '{}',
        max_concurrent_chats integer NOT NULL DEFAULT 5 CHECK (max_concurrent_chats BETWEEN 0 AND 50),
        active boolean NOT NULL DEFAULT true,
        password_hash text NOT NULL,
        token_version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_key UNIQUE (email),
        CONSTRAINT users_employee_code_key UNIQUE (employee_code),
        CONSTRAINT users_customer_has_no_department CHECK (role <> 'CUSTOMER' OR department_id IS NULL)
      )`);
    this.addSql(`CREATE INDEX users_department_idx ON users (department_id, role) WHERE active`);
    this.addSql(`CREATE INDEX users_created_idx ON users (created_at, id)`);

    this.addSql(`
      CREATE TABLE audit_entries (
        id uuid PRIMARY KEY,
        actor_id uuid REFERENCES users (id),
        actor_role user_role,
        action text NOT NULL,
        target_type text NOT NULL,
        target_id text NOT NULL,
        summary text NOT NULL,
        comment text,
        trace_id text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE INDEX audit_entries_target_idx ON audit_entries (target_type, target_id, created_at)`);
    this.addSql(`CREATE INDEX audit_entries_created_idx ON audit_entries (created_at DESC, id DESC)`);
    this.addSql(`CREATE INDEX audit_entries_actor_idx ON audit_entries (actor_id, created_at DESC)`);

    this.addSql(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id),
        kind text NOT NULL,
        title text NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz
      )`);
    this.addSql(`CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC)`);
  }
}
