/**
 * Whether an error says PostgreSQL could not be reached or did not answer in time (DB_TIMEOUT_MS), as
 * opposed to refusing a statement: a stalled or stopped server, a refused or broken connection, a pool
 * that could not hand out a connection in time. Such failures answer SERVICE_UNAVAILABLE, not a masked 500.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  const inner = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  return inner.some((x) => isDatabaseUnavailable(x, depth + 1));
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Class 08 (connection exception), 57P01–57P03 (shutdown, cannot connect now), 53300 (too many connections). */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;

/**
 * node-postgres's query_timeout ("Query read timeout") and connectionTimeoutMillis ("timeout expired",
 * "Connection terminated due to connection timeout"), a connection lost mid-query, tarn's acquire timeout
 * (through MikroORM, which keeps only the message). A refused connection is known by its `code`, not its text.
 */
const UNAVAILABLE_MESSAGE =
  /Query read timeout|Connection terminated|timeout expired|Timeout acquiring a connection|Client has encountered a connection error/;
