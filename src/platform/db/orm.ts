import { MikroORM, Options, DefaultLogger, LoggerOptions, LogContext } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { ENTITIES } from '../../entities';
import { MIGRATIONS } from '../../../migrations';
import { redactSqlValues, type Logger } from '../logger';
import type { Metrics } from '../metrics';
import { AdvisoryLock } from './advisory-locks';
import { logSlowSql } from './slow-sql';
import { currentTraceId } from '../trace';

/**
 * Counts every SQL statement (the `shiftdesk_sql_queries_total` metric) and logs them only at `trace`, without
 * values: MikroORM hands over the statement with placeholders, and any literal in it is redacted all the same.
 * A statement slower than SLOW_SQL_MS is logged at warn, with the trace id of the request that ran it.
 */
class CountingLogger extends DefaultLogger {
  constructor(
    options: LoggerOptions,
    private readonly metrics: Metrics | undefined,
    private readonly pinoLogger: Logger,
    private readonly slowSqlMs: number,
  ) {
    super(options);
  }

  override logQuery(context: { query: string } & LogContext): void {
    this.metrics?.sqlQueries.inc();
    if (this.slowSqlMs > 0 && (context.took ?? 0) > this.slowSqlMs) logSlowSql(this.pinoLogger, context.query, context.took!);
    else if (this.pinoLogger.isLevelEnabled('trace'))
      this.pinoLogger.trace({ sql: redactSqlValues(context.query), took: context.took, traceId: currentTraceId() }, 'sql');
  }
}

export interface OrmSettings {
  url: string;
  poolMax: number;
  logger: Logger;
  metrics?: Metrics;
  /** DB_TIMEOUT_MS: statement, connection and pool-wait limit; 0 or unset: none. */
  timeoutMs?: number;
  /** SLOW_SQL_MS; 0 or unset: off. */
  slowSqlMs?: number;
}

/**
 * DB_TIMEOUT_MS turns a stalled or unreachable PostgreSQL into a fast SERVICE_UNAVAILABLE instead of a request
 * hanging: node-postgres's client-side `query_timeout` (a stopped server cannot enforce its own
 * statement_timeout) for the statements of HTTP requests (those running under a trace id), and
 * `connectionTimeoutMillis` for new connections. Background work (sweeps, jobs, migrations, seeding) has no
 * statement limit: an export or an index on a big table may take longer. Waiting for a pooled connection has no
 * limit of its own: a busy pool queues (a 3 s limit there turned the routing and realtime benchmarks' bursts on
 * a loaded machine into failures), and a stalled one frees its connections as their statements time out. A
 * timed-out statement's connection stays in the pool; its late answer is dropped once the server runs again.
 */
export function ormOptions(opts: OrmSettings): Options {
  const timeoutMs = opts.timeoutMs ?? 0;
  return {
    clientUrl: opts.url,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: {
      min: 0,
      max: opts.poolMax,
      ...(timeoutMs > 0 ? { createTimeoutMillis: timeoutMs } : {}),
      afterCreate: (connection: { connectionParameters?: object }, done: (err: Error | null, connection: unknown) => void) => {
        // node-postgres reads query_timeout from here at every query: limited inside requests only.
        if (connection.connectionParameters && timeoutMs > 0) {
          Object.defineProperty(connection.connectionParameters, 'query_timeout', {
            get: () => (currentTraceId() === undefined ? undefined : timeoutMs),
          });
        }
        done(null, connection);
      },
    },
    driverOptions: timeoutMs > 0 ? { connection: { connectionTimeoutMillis: timeoutMs } } : {},
    // Instants are timestamptz and always UTC on the wire.
    timezone: 'Z',
    forceUtcTimezone: true,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
    migrations: {
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      tableName: 'mikro_orm_migrations',
      silent: true,
      snapshot: false,
    },
    loggerFactory: (options) => new CountingLogger(options, opts.metrics, opts.logger, opts.slowSqlMs ?? 0),
    debug: false,
  };
}

/** Applies pending migrations under an advisory lock, so processes starting together migrate once. */
export async function migrate(orm: MikroORM, url: string, logger: Logger): Promise<void> {
  const lock = new Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [AdvisoryLock.MIGRATIONS]);
    const applied = await orm.getMigrator().up();
    if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [AdvisoryLock.MIGRATIONS]).catch(() => undefined);
    await lock.end();
  }
}

export async function connectOrm(opts: OrmSettings): Promise<MikroORM> {
  return MikroORM.init(ormOptions(opts));
}
