import { MikroORM, Options, DefaultLogger, LoggerOptions, LogContext } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { ENTITIES } from '../../entities';
import { MIGRATIONS } from '../../../migrations';
import { redactSqlValues, type Logger } from '../logger';
import type { Metrics } from '../metrics';
import { AdvisoryLock } from './advisory-locks';

/**
 * Counts every SQL statement (the `shiftdesk_sql_queries_total` metric) and logs them only at `trace`, without
 * values: MikroORM hands over the statement with placeholders, and any literal in it is redacted all the same.
 */
class CountingLogger extends DefaultLogger {
  constructor(
    options: LoggerOptions,
    private readonly metrics: Metrics | undefined,
    private readonly pinoLogger: Logger,
  ) {
    super(options);
  }

  override logQuery(context: { query: string } & LogContext): void {
    this.metrics?.sqlQueries.inc();
    if (this.pinoLogger.isLevelEnabled('trace')) this.pinoLogger.trace({ sql: redactSqlValues(context.query), took: context.took }, 'sql');
  }
}

export function ormOptions(opts: { url: string; poolMax: number; logger: Logger; metrics?: Metrics }): Options {
  return {
    clientUrl: opts.url,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: { min: 0, max: opts.poolMax },
    // Instants are timestamptz and always UTC on the wire.
    timezone: 'Z',
    forceUtcTimezone: true,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
    migrations: { migrationsList: MIGRATIONS, transactional: true, allOrNothing: true, tableName: 'mikro_orm_migrations', silent: true, snapshot: false },
    loggerFactory: (options) => new CountingLogger(options, opts.metrics, opts.logger),
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

export async function connectOrm(opts: { url: string; poolMax: number; logger: Logger; metrics?: Metrics }): Promise<MikroORM> {
  return MikroORM.init(ormOptions(opts));
}
