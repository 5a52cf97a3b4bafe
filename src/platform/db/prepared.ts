import { ReferenceKind, type EntityManager, type EntityMetadata } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { logSlowSql } from './slow-sql';

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
    /** SLOW_SQL_MS, as for the ORM's statements (which MikroORM times itself). */
    private readonly slowSql?: { logger: Logger; ms: number },
  ) {}

  async run<Row>(statement: PreparedStatement, values: unknown[]): Promise<Row[]> {
    const client = this.root.getKnex().client;
    const connection = (await client.acquireConnection()) as PgConnection;
    try {
      this.metrics?.sqlQueries.inc();
      const started = performance.now();
      const result = await connection.query({ name: statement.name, text: statement.text, values });
      const took = performance.now() - started;
      if (this.slowSql && this.slowSql.ms > 0 && took > this.slowSql.ms)
        logSlowSql(this.slowSql.logger, statement.text, Math.round(took), undefined);
      return result.rows as Row[];
    } finally {
      await client.releaseConnection(connection);
    }
  }
}

/**
 * `SELECT <every column the entity loads eagerly> FROM <table> WHERE <primary key> = $1`, from the ORM's
 * metadata, so the statement follows the entity as it changes; its row becomes an entity with `em.map`. For
 * entities of scalar columns and one key column (ShiftDesk's entities keep relations as plain ids); lazy columns
 * (a password hash) are left out.
 */
export function selectByIdStatement(meta: EntityMetadata): PreparedStatement {
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  if (meta.props.some((p) => p.kind !== ReferenceKind.SCALAR)) throw new Error(`${meta.className} has relations: read it through the ORM`);
  if (meta.primaryKeys.length !== 1) throw new Error(`${meta.className} has a composite key: read it through the ORM`);
  const columns = meta.props.filter((p) => !p.lazy && p.persist !== false && !p.formula).flatMap((p) => p.fieldNames);
  const key = meta.properties[meta.primaryKeys[0]].fieldNames[0];
  const text = `SELECT ${columns.map(quote).join(', ')} FROM ${quote(meta.tableName)} WHERE ${quote(key)} = $1`;
  return { name: `by_id_${meta.tableName}`, text };
}
