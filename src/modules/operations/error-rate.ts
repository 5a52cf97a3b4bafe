import type { Metrics } from '../../platform/metrics';

/**
 * The share of this process's GraphQL operations that failed unexpectedly (INTERNAL_SERVER_ERROR) since the
 * previous sample, from the `shiftdesk_graphql_operations_total` counter; null when nothing ran. The cluster's
 * rate is the Prometheus rule's job (deploy/prometheus/alerts.yml); this one feeds the in-app alert.
 */
export class ErrorRateSampler {
  private last = { total: 0, failed: 0 };

  constructor(private readonly metrics: Metrics) {}

  async sample(): Promise<number | null> {
    let total = 0;
    let failed = 0;
    for (const v of (await this.metrics.operations.get()).values) {
      total += v.value;
      if (v.labels.outcome === 'INTERNAL_SERVER_ERROR') failed += v.value;
    }
    const delta = { total: total - this.last.total, failed: failed - this.last.failed };
    this.last = { total, failed };
    return delta.total > 0 ? delta.failed / delta.total : null;
  }
}
