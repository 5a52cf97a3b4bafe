import type { EntityManager } from '@mikro-orm/postgresql';
import type { Metrics } from '../metrics';

/** A statement PostgreSQL parses and plans once per connection, then only binds and runs. */
export interface PreparedStatement {
  /** Unique per SQL text: a connection keeps the first text it prepared under a name. */
  name: string;
  text: string;
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs prepared statements on connections of the ORM's pool, each outside any transaction (one statement
 * commits on its own). For the few statements on the hottest paths: a chat message costs one statement, and
 * parsing and planning it each time, plus the ORM's and knex's query building and an EntityManager fork per
 * message, were most of its cost. Errors are the driver's (`code`, `constraint`), as through the ORM.
 * Counted in shiftdesk_sql_queries_total like every other statement.
 */
export class PreparedStatements {
  /** `root`: the ORM's global EntityManager, used for its connection pool only (never for entities). */
  constructor(
    private readonly root: EntityManager,
    private readonly metrics?: Metrics,
  ) {}

  async run<Row>(statement: PreparedStatement, values: unknown[]): Promise<Row[]> {
    const client = this.root.getKnex().client;
    const connection = (await client.acquireConnection()) as PgConnection;
    try {
      this.metrics?.sqlQueries.inc();
      const result = await connection.query({ name: statement.name, text: statement.text, values });
      return result.rows as Row[];
    } finally {
      await client.releaseConnection(connection);
    }
  }
}
