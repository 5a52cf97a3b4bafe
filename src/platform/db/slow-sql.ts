import { redactSqlValues, type Logger } from '../logger';

/** The warn line of a statement slower than SLOW_SQL_MS: its shape with values redacted, its time, its trace. */
export function logSlowSql(logger: Logger, sql: string, tookMs: number, traceId: string | undefined): void {
  logger.warn({ sql: redactSqlValues(sql), took: tookMs, traceId }, 'slow SQL');
}
