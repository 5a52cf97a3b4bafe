import { readdir } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * prom-client defaults that walk every handle or file descriptor synchronously on each scrape. With 11,000
 * descriptors open (5,500 connections, both ends in the measuring process) they held the event loop for ~21 ms
 * of a ~28 ms scrape (`readdirSync('/proc/self/fd')` alone ~11 ms), delaying every chat message of that
 * moment. `process_open_fds` is kept, read without blocking; the handle and resource counts are left out
 * (`shiftdesk_websocket_connections` says what they mostly counted).
 */
const BLOCKING_DEFAULT_METRICS = [
  'process_open_fds',
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
];

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

  readonly wsClosedNotReading = new Counter({
    name: 'shiftdesk_websocket_closed_not_reading_total',
    help: 'graphql-ws connections closed (1013) because the client left more than 8 MiB unread',
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

  readonly connectedClients = new Gauge({
    name: 'shiftdesk_connected_clients',
    help: 'Open graphql-ws connections of signed-in users by role (this process)',
    labelNames: ['role'] as const,
    registers: [this.registry],
  });

  readonly redisConnected = new Gauge({
    name: 'shiftdesk_redis_connected',
    help: 'Whether each Redis connection of this process is ready (1) or lost (0); absent without REDIS_URL',
    labelNames: ['connection'] as const,
    registers: [this.registry],
  });

  // The service figures below are set by the process that evaluated the alert rules last (once per interval for
  // the cluster) and dropped when older than `serviceFiguresTtlMs`: aggregate them with max by (department).
  private serviceFiguresUntil = 0;
  serviceFiguresTtlMs = 60_000;

  readonly queueLength = this.serviceGauge('shiftdesk_queue_length', 'Customers waiting in the queue, by department code');
  readonly utilisation = this.serviceGauge(
    'shiftdesk_agent_utilisation',
    'Open chats ÷ seats of available on-shift agents (0–1), by department code',
  );
  readonly firstResponseSeconds = this.serviceGauge(
    'shiftdesk_first_response_seconds',
    'Average first response over the last 15 minutes, seconds, by department code',
  );
  readonly satisfaction = this.serviceGauge(
    'shiftdesk_satisfaction',
    'Average chat rating (1–5) over the last 24 hours, by department code',
  );

  readonly openAlerts = new Gauge({
    name: 'shiftdesk_open_alerts',
    help: 'Alerts not yet resolved, by severity',
    labelNames: ['severity'] as const,
    registers: [this.registry],
  });

  readonly alertDeliveries = new Counter({
    name: 'shiftdesk_alert_deliveries_total',
    help: 'Webhook delivery attempts of alerts by outcome (delivered, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly dashboardRefreshes = new Counter({
    name: 'shiftdesk_dashboard_refreshes_total',
    help: 'Live dashboards computed for serviceDashboardUpdated (one per watched department and interval in the cluster)',
    registers: [this.registry],
  });

  readonly dashboardRefreshSeconds = new Histogram({
    name: 'shiftdesk_dashboard_refresh_seconds',
    help: 'Time to compute one live dashboard',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  /** Sets the service figures of every department at once (a department's null figure is left out). */
  setServiceFigures(
    rows: Array<{
      department: string;
      queueLength: number;
      utilisation: number | null;
      firstResponseSeconds: number | null;
      satisfaction: number | null;
    }>,
  ): void {
    const gauges = [this.queueLength, this.utilisation, this.firstResponseSeconds, this.satisfaction];
    for (const g of gauges) g.reset();
    for (const r of rows) {
      this.queueLength.set({ department: r.department }, r.queueLength);
      if (r.utilisation !== null) this.utilisation.set({ department: r.department }, r.utilisation);
      if (r.firstResponseSeconds !== null) this.firstResponseSeconds.set({ department: r.department }, r.firstResponseSeconds);
      if (r.satisfaction !== null) this.satisfaction.set({ department: r.department }, r.satisfaction);
    }
    this.serviceFiguresUntil = Date.now() + this.serviceFiguresTtlMs;
  }

  private serviceGauge(name: string, help: string): Gauge<'department'> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    return new Gauge({
      name,
      help,
      labelNames: ['department'] as const,
      registers: [this.registry],
      collect() {
        if (Date.now() > metrics.serviceFiguresUntil) this.reset();
      },
    });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const name of BLOCKING_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    if (process.platform === 'linux') {
      new Gauge({
        name: 'process_open_fds',
        help: 'Number of open file descriptors.',
        registers: [this.registry],
        async collect() {
          // Read in libuv's thread pool; minus the descriptor the read itself holds open.
          const fds = await readdir('/proc/self/fd').catch(() => null);
          if (fds) this.set(fds.length - 1);
        },
      });
    }
    // Present at 0 from the start, so an alert on any increase has a series to compare with.
    for (const kind of ['unhandledRejection', 'uncaughtException'] as const) this.unhandledErrors.inc({ kind }, 0);
    for (const role of ['ADMIN', 'MANAGER', 'AGENT', 'CUSTOMER']) this.connectedClients.set({ role }, 0);
    for (const severity of ['info', 'warning', 'critical']) this.openAlerts.set({ severity }, 0);
    for (const outcome of ['delivered', 'failed']) this.alertDeliveries.inc({ outcome }, 0);
  }
}
