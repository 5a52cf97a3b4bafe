import type { EntityManager } from '@mikro-orm/postgresql';
import { transactionally } from '../../platform/db/transaction';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import { PII_SOURCES } from './pii-sources';
import type { TextProtector } from './text-protector';

const BATCH = 500;
const EVERY_MS = 5000;

/**
 * Reads the texts stored before protection existed (pii_types IS NULL): fills their types and, where they hold
 * personal data, stores the masked text and seals the original, a batch per table and run. Safe with several
 * processes: each batch is taken with FOR UPDATE SKIP LOCKED, so two never read the same rows; a crash loses at
 * most one uncommitted batch, read again by the next run. New writes are never NULL, so once a run finds
 * nothing anywhere the job stops (no idle statements from then on).
 */
export class PiiBackfill {
  private finished = false;

  constructor(
    private readonly protector: TextProtector,
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
      const columns = source.properties.join(', ');
      const done = await transactionally(this.em(), async (em) => {
        const rows = await em.execute<Array<Record<string, string> & { id: string; text: string; subject: string | null }>>(
          `SELECT id, ${source.textSql} AS text, ${source.subjectSql} AS subject, ${columns} FROM ${source.table}
            WHERE pii_types IS NULL LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        );
        if (!rows.length) return 0;
        const found = [];
        for (const r of rows) {
          const originals = Object.fromEntries(source.properties.map((p) => [p, r[p] ?? '']));
          const p = await this.protector.protect(source.table, r.id, r.subject, originals, r.text);
          found.push({ id: r.id, types: p.types, sealed: p.sealed?.toString('base64') ?? null, ...(p.types.length ? p.masked : {}) });
        }
        const set = source.properties.map((p) => `${p} = coalesce(f.${p}, t.${p})`).join(', ');
        const shape = source.properties.map((p) => `${p} text`).join(', ');
        await em.execute(
          `UPDATE ${source.table} AS t SET pii_types = f.types, sealed = decode(f.sealed, 'base64'), ${set}
             FROM jsonb_to_recordset(?::jsonb) AS f(id uuid, types text[], sealed text, ${shape}) WHERE t.id = f.id`,
          [JSON.stringify(found)],
        );
        return rows.length;
      });
      if (done) this.logger.info({ table: source.table, rows: done }, 'older rows read for personal data: masked and sealed where found');
      total += done;
    }
    return total;
  }
}
