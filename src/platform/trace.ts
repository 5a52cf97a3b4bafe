import { randomFillSync } from 'node:crypto';
import { isSpanContextValid, trace } from '@opentelemetry/api';

/*
 * A request's trace id travels explicitly (in its GraphQL context, its EntityManager's logger context, express's
 * res.locals), not in an AsyncLocalStorage: one in use makes Node run a hook for every promise and callback of
 * the whole process (~5 % of its CPU, ~3 KiB per connection; docs/benchmarks.md, "AsyncLocalStorage").
 */

/**
 * A client's X-Request-Id when it looks like an id, else a new W3C trace id (32 lower-case hex digits) drawn
 * from a pool of random bytes (randomBytes per id asked the CSPRNG every time: ~1 % of an HTTP request's
 * CPU and ~2 % of a chat message's over graphql-ws, where every operation gets an id).
 */
export function newTraceId(incoming?: unknown): string {
  return typeof incoming === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : randomTraceId();
}

// Random bytes for 256 trace ids at a time: one system call per request (randomBytes(16)) was ~1 % of its CPU.
const ID_BYTES = 16;
const pool = Buffer.alloc(ID_BYTES * 256);
let poolOffset = pool.length;

function randomTraceId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += ID_BYTES;
  return pool.toString('hex', poolOffset - ID_BYTES, poolOffset);
}

/** The trace id of a W3C `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`), or null when it is not one. */
export function traceIdOfTraceparent(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(header.trim());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3]) || (m[1] === '00' && m[5])) return null;
  return m[2];
}

/**
 * The trace id of an incoming HTTP request: the OpenTelemetry span's when tracing is on (it continues the
 * caller's `traceparent`, so the log's traceId is the trace's id); without tracing the caller's `traceparent`
 * trace id, else its X-Request-Id, else a new one.
 */
export function traceIdOfRequest(headers: Record<string, string | string[] | undefined>): string {
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) return span.traceId;
  return traceIdOfTraceparent(headers.traceparent) ?? newTraceId(headers['x-request-id']);
}

/** The trace id server.ts's first middleware gave an express request, kept in its response's `locals`. */
export function traceIdOf(res: { locals: Record<string, unknown> }): string | undefined {
  return typeof res.locals.traceId === 'string' ? res.locals.traceId : undefined;
}
