import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance, so tests that start several servers in one process stay apart. */
export class Metrics {
  readonly registry = new Registry();

  readonly operations = new Counter({
    name: 'shiftdesk_graphql_operations_total',
    help: 'GraphQL operations by name, type and outcome (ok or the error code)',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly operationDuration = new Histogram({
    name: 'shiftdesk_graphql_operation_duration_seconds',
    help: 'GraphQL operation duration by name and type',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly wsConnections = new Gauge({
    name: 'shiftdesk_websocket_connections',
    help: 'Open graphql-ws connections',
    registers: [this.registry],
  });

  readonly sqlQueries = new Counter({
    name: 'shiftdesk_sql_queries_total',
    help: 'SQL statements sent to PostgreSQL',
    registers: [this.registry],
  });

  readonly unhandledErrors = new Counter({
    name: 'shiftdesk_unhandled_errors_total',
    help: 'Unhandled rejections and uncaught exceptions; each one stops the process (see installProcessGuard)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly sealedTextFailures = new Counter({
    name: 'shiftdesk_sealed_text_failures_total',
    help: 'Sealed originals of personal data that failed authentication (tampered, or sealed under another key): shown masked',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Present at 0 from the start, so an alert on any increase has a series to compare with.
    for (const kind of ['unhandledRejection', 'uncaughtException'] as const) this.unhandledErrors.inc({ kind }, 0);
  }
}
