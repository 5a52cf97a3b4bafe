import type { IncomingMessage } from 'node:http';

export interface Tracing {
  /** Flushes the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/** Probes and scrapes: a span per poll would drown the requests worth seeing. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * OpenTelemetry, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans of HTTP requests (with the caller's W3C
 * `traceparent` as their parent, and passed on to outgoing HTTP calls), GraphQL operations, PostgreSQL
 * statements (without their values) and Redis commands, exported as OTLP/HTTP JSON to `<endpoint>/v1/traces`.
 * The SDK is required here and nowhere else, so without the variable none of it is even loaded.
 *
 * Instrumentation patches modules as they are loaded: this must run before http, pg, ioredis and graphql are
 * (src/tracing-bootstrap.ts, the first import of main.ts). Other OTEL_* variables (OTEL_SERVICE_NAME,
 * OTEL_BSP_SCHEDULE_DELAY, OTEL_TRACES_SAMPLER, …) work as the SDK documents them.
 */
export function startTracing(endpoint: string | null | undefined): Tracing | null {
  if (!endpoint) return null;
  // Traces only: the SDK would otherwise also set up log and metric exporters from its defaults.
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  process.env.OTEL_METRICS_EXPORTER ??= 'none';

  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { GraphQLInstrumentation } =
    require('@opentelemetry/instrumentation-graphql') as typeof import('@opentelemetry/instrumentation-graphql');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { IORedisInstrumentation } =
    require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');

  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'shiftdesk',
    traceExporter: new OTLPTraceExporter({ url: new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString() }),
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req: IncomingMessage) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0]) }),
      // Resolver spans only for fields that do work: a span per scalar field would cost more than the field.
      new GraphQLInstrumentation({ ignoreTrivialResolveSpans: true, mergeItems: true }),
      // enhancedDatabaseReporting stays off: statements are recorded with placeholders, never with values.
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new IORedisInstrumentation(),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
