import pino, { Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout (or `destination`); every request's child logger carries its `traceId`. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'shiftdesk', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
    redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

const REDACTED = '[redacted]';

/** PostgreSQL error fields that repeat the values of a row or a statement ("Failing row contains (…)", "Key (email)=(…)"). */
const VALUE_FIELDS = ['detail', 'where', 'internalQuery', 'parameters', 'params', 'bindings'];

/**
 * pino's error serializer, and for database errors the values taken out: MikroORM inlines a statement's
 * parameters into its SQL and knex puts that SQL into the error's message (and so its stack), so a failed
 * insert would log the message text, the e-mail or the password hash it carried. The statement's shape,
 * PostgreSQL's own message, code, table and constraint stay: enough to tell what failed.
 */
export function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown;
  return isDatabaseError(err) ? redactValues(serialized) : serialized;
}

/** Whether this error, or one it wraps (cause, originalError, errors), came from PostgreSQL. */
function isDatabaseError(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; severity?: unknown; sqlState?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && (e.severity !== undefined || e.sqlState !== undefined)) return true;
  const inner = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  return inner.some((x) => isDatabaseError(x, depth + 1));
}

function redactValues(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSqlValues(value);
  if (value === null || typeof value !== 'object' || depth > 5) return value;
  if (Array.isArray(value)) return value.map((v) => redactValues(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] = VALUE_FIELDS.includes(key) && field != null ? REDACTED : redactValues(field, depth + 1);
  }
  return out;
}

/**
 * SQL string literals ('…', quotes doubled inside, as pg's escapeLiteral writes them), the detail MikroORM
 * appends to the message (` - detail: Failing row contains (…)`), and the quoted value PostgreSQL repeats in
 * messages such as `invalid input syntax for type uuid: "…"`.
 */
export function redactSqlValues(text: string): string {
  return text
    .replace(/'(?:[^']|'')*'/g, `'${REDACTED}'`)
    .replace(/(\n - detail: )[\s\S]*?(?=\n - hint: |\n\s+at |$)/g, `$1${REDACTED}`)
    .replace(/(: |near )"(?:[^"]|"")*"/g, `$1"${REDACTED}"`);
}
