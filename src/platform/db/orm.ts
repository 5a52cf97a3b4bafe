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
    else if (this.pinoLogger.isLevelEnabled('trace')) this.pinoLogger.trace({ sql: redactSqlValues(context.query), took: context.took, traceId: currentTraceId() }, 'sql');
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
 * The limits that turn a stalled or unreachable PostgreSQL into a fast SERVICE_UNAVAILABLE instead of a
 * request hanging: node-postgres's client-side `query_timeout` (a stopped server cannot enforce its own
 * statement_timeout) and `connectionTimeoutMillis`, and tarn's wait for a pooled connection. A timed-out
 * statement's connection stays in the pool; its late answer is dropped once the server runs again.
 * `limits.statementMs` is read at each statement, so migrations (which may take longer) can lift it.
 */
export class DbLimits {
  constructor(public statementMs: number) {}
}

export function ormOptions(opts: OrmSettings, limits = new DbLimits(opts.timeoutMs ?? 0)): Options {
  const timeoutMs = opts.timeoutMs ?? 0;
  return {
    clientUrl: opts.url,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: {
      min: 0,
      max: opts.poolMax,
      ...(timeoutMs > 0 ? { acquireTimeoutMillis: timeoutMs, createTimeoutMillis: timeoutMs } : {}),
      afterCreate: (connection: { connectionParameters?: object }, done: (err: Error | null, connection: unknown) => void) => {
        // node-postgres reads query_timeout from here at every query.
        if (connection.connectionParameters) Object.defineProperty(connection.connectionParameters, 'query_timeout', { get: () => limits.statementMs || undefined });
        done(null, connection);
      },
    },
    driverOptions: timeoutMs > 0 ? { connection: { connectionTimeoutMillis: timeoutMs } } : {},
    // Instants are timestamptz and always UTC on the wire.
    timezone: 'Z',
    forceUtcTimezone: true,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
    migrations: { migrationsList: MIGRATIONS, transactional: true, allOrNothing: true, tableName: 'mikro_orm_migrations', silent: true, snapshot: false },
    loggerFactory: (options) => new CountingLogger(options, opts.metrics, opts.logger, opts.slowSqlMs ?? 0),
    debug: false,
  };
}

/**
 * Applies pending migrations under an advisory lock, so processes starting together migrate once. A migration
 * may run longer than DB_TIMEOUT_MS (an index on a big table): the statement limit is lifted meanwhile.
 */
export async function migrate(orm: MikroORM, url: string, logger: Logger): Promise<void> {
  const limits = dbLimitsOf(orm);
  const statementMs = limits?.statementMs ?? 0;
  if (limits) limits.statementMs = 0;
  const lock = new Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [AdvisoryLock.MIGRATIONS]);
    const applied = await orm.getMigrator().up();
    if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [AdvisoryLock.MIGRATIONS]).catch(() => undefined);
    await lock.end();
    if (limits) limits.statementMs = statementMs;
  }
}

const limitsOfOrm = new WeakMap<MikroORM, DbLimits>();

function dbLimitsOf(orm: MikroORM): DbLimits | undefined {
  return limitsOfOrm.get(orm);
}

export async function connectOrm(opts: OrmSettings): Promise<MikroORM> {
  const limits = new DbLimits(opts.timeoutMs ?? 0);
  const orm = await MikroORM.init(ormOptions(opts, limits));
  limitsOfOrm.set(orm, limits);
  return orm;
}
