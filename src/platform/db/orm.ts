import {
  AnyEntity,
  DefaultLogger,
  EntityData,
  LogContext,
  LoggerOptions,
  LoggingOptions,
  MikroORM,
  Options,
  QueryResult,
  PostgreSqlDriver,
  SqlEntityManager,
} from '@mikro-orm/postgresql';
import type { Knex } from 'knex';
import { Migrator } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { ENTITIES } from '../../entities';
import { MIGRATIONS } from '../../../migrations';
import { redactSqlValues, type Logger } from '../logger';
import type { Metrics } from '../metrics';
import { AdvisoryLock } from './advisory-locks';
import { logSlowSql } from './slow-sql';

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
    // The request's trace id, from the logger context of its EntityManager (context.ts, forkFor).
    const traceId = typeof context.traceId === 'string' ? context.traceId : undefined;
    if (this.slowSqlMs > 0 && (context.took ?? 0) > this.slowSqlMs) logSlowSql(this.pinoLogger, context.query, context.took!, traceId);
    else if (this.pinoLogger.isLevelEnabled('trace'))
      this.pinoLogger.trace({ sql: redactSqlValues(context.query), took: context.took, traceId }, 'sql');
  }
}

/** The parts of MikroORM 6's UnitOfWork that its commit() uses (private there; pinned version). */
interface UnitOfWorkInternals {
  working: boolean;
  flushQueue: Array<() => Promise<void>>;
  doCommit(): Promise<void>;
  postCommitCleanup(): void;
  shouldAutoFlush(meta: unknown): boolean;
}

/**
 * ShiftDesk's EntityManager: MikroORM's, with two changes.
 * - Raw statements (`em.execute`, ShiftDesk's most common) get the EntityManager's logger context, as its
 *   queries do, so a slow one names its request (context.ts, forkFor).
 * - flush() is UnitOfWork.commit() without the AsyncLocalStorage it runs in. That one only tells a flush's own
 *   hooks that they are inside it (no auto-flush there, and an error for a flush called from a hook; ShiftDesk's
 *   hooks do neither), yet one AsyncLocalStorage in use makes Node run a hook for every promise of the process:
 *   ~5 % of its CPU and ~3 KiB per connection (docs/benchmarks.md). "Inside" is now "while this unit of work flushes".
 *   test/platform/no-async-local-storage.test.ts fails if an upgrade brings one back.
 */
class ShiftDeskEntityManager extends SqlEntityManager<PostgreSqlDriver> {
  constructor(...args: ConstructorParameters<typeof SqlEntityManager<PostgreSqlDriver>>) {
    super(...args);
    const uow = this.getUnitOfWork(false) as unknown as UnitOfWorkInternals;
    const shouldAutoFlush = uow.shouldAutoFlush.bind(uow);
    uow.shouldAutoFlush = (meta) => !uow.working && shouldAutoFlush(meta);
  }

  override async flush(): Promise<void> {
    const uow = this.getUnitOfWork() as unknown as UnitOfWorkInternals;
    // A flush while one runs waits its turn, as in MikroORM.
    if (uow.working) return new Promise((resolve, reject) => uow.flushQueue.push(() => uow.doCommit().then(resolve, reject)));
    try {
      uow.working = true;
      await uow.doCommit();
      while (uow.flushQueue.length) await uow.flushQueue.shift()!();
    } finally {
      uow.postCommitCleanup();
      uow.working = false;
    }
  }

  override execute<T extends QueryResult | EntityData<AnyEntity> | EntityData<AnyEntity>[] = EntityData<AnyEntity>[]>(
    queryOrKnex: string | Knex.QueryBuilder | Knex.Raw,
    params?: unknown[],
    method?: 'all' | 'get' | 'run',
    loggerContext?: LoggingOptions,
  ): Promise<T> {
    return super.execute<T>(queryOrKnex, params, method, loggerContext ?? this.getLoggerContext());
  }
}

/**
 * Migrations may take longer than DB_TIMEOUT_MS (an index on a big table); they run while the process starts,
 * before it serves anything, with no statement limit (a count: tests start several servers in one process).
 */
let migrationsRunning = 0;

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
 * statement_timeout) for every statement, of HTTP requests, WebSocket operations and background work alike
 * (which all work in batches of short statements), migrations excepted; and `connectionTimeoutMillis` for new
 * connections. Waiting for a pooled connection has no limit of its own: a busy pool queues (a 3 s limit there
 * turned the routing and realtime benchmarks' bursts on a loaded machine into failures), and a stalled one
 * frees its connections as their statements time out. A timed-out statement's connection stays in the pool; its
 * late answer is dropped once the server runs again.
 */
export function ormOptions(opts: OrmSettings): Options {
  const timeoutMs = opts.timeoutMs ?? 0;
  return {
    clientUrl: opts.url,
    entities: ENTITIES,
    entityManager: ShiftDeskEntityManager,
    extensions: [Migrator],
    pool: {
      min: 0,
      max: opts.poolMax,
      ...(timeoutMs > 0 ? { createTimeoutMillis: timeoutMs } : {}),
      afterCreate: (connection: { connectionParameters?: object }, done: (err: Error | null, connection: unknown) => void) => {
        // node-postgres reads query_timeout from here at every query.
        if (connection.connectionParameters && timeoutMs > 0) {
          Object.defineProperty(connection.connectionParameters, 'query_timeout', {
            get: () => (migrationsRunning > 0 ? undefined : timeoutMs),
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
    migrationsRunning++;
    try {
      const applied = await orm.getMigrator().up();
      if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
    } finally {
      migrationsRunning--;
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [AdvisoryLock.MIGRATIONS]).catch(() => undefined);
    await lock.end();
  }
}

export async function connectOrm(opts: OrmSettings): Promise<MikroORM> {
  return MikroORM.init(ormOptions(opts));
}
