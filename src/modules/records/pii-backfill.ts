import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import type { PiiDetector } from './pii-detector';
import { PII_SOURCES } from './pii-sources';

const BATCH = 500;
const EVERY_MS = 5000;

/**
 * Reads the texts stored before detection existed (pii_types IS NULL) and fills their types, a batch per
 * table and run. Safe with several processes: each batch is taken with FOR UPDATE SKIP LOCKED, so two never
 * read the same rows; a crash loses at most one uncommitted batch, read again by the next run. New writes are
 * never NULL, so once a run finds nothing anywhere the job stops (no idle statements from then on).
 */
export class PiiBackfill {
  private finished = false;

  constructor(
    private readonly detector: PiiDetector,
    private readonly em: () => EntityManager,
    private readonly logger: Logger,
  ) {}

  start(scheduler: Scheduler): void {
    scheduler.every('pii-backfill', EVERY_MS, async () => {
      if (!this.finished && (await this.run()) === 0) this.finished = true;
    });
  }

  /** One batch of each table; returns how many rows were read. */
  async run(): Promise<number> {
    let total = 0;
    for (const source of PII_SOURCES) {
      const done = await this.em().transactional(async (em) => {
        const rows = await em.execute<Array<{ id: string; text: string }>>(
          `SELECT id, ${source.textSql} AS text FROM ${source.table} WHERE pii_types IS NULL LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        );
        if (!rows.length) return 0;
        const found = rows.map((r) => ({ id: r.id, types: this.detector.types(r.text) }));
        await em.execute(
          `UPDATE ${source.table} AS t SET pii_types = f.types FROM jsonb_to_recordset(?::jsonb) AS f(id uuid, types text[]) WHERE t.id = f.id`,
          [JSON.stringify(found)],
        );
        return rows.length;
      });
      if (done) this.logger.info({ table: source.table, rows: done }, 'personal data types filled for older rows');
      total += done;
    }
    return total;
  }
}
