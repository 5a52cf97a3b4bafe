import type { EntityManager } from '@mikro-orm/postgresql';
import { transactionally } from '../../platform/db/transaction';
import type { Logger } from '../../platform/logger';
import type { Scheduler } from '../../platform/scheduler';
import type { DataKeyRow, DataKeyStore } from './data-keys';

const BATCH = 200;
const EVERY_MS = 5000;
/** Batches per run at most, so one process does not hold a scheduler slot for long. */
const MAX_BATCHES = 50;

export interface MasterKeyUse {
  keyId: string;
  dataKeys: number;
}

export interface EncryptionStatusView {
  currentKeyId: string;
  configuredKeyIds: string[];
  /** Data keys per master key that wraps them. */
  masterKeys: MasterKeyUse[];
  dataKeys: number;
  /** Data keys still wrapped by another master key than the current one: what rotation has left to do. */
  pendingRewrap: number;
  /** Data keys destroyed by forgetCustomer (tombstones). */
  destroyedDataKeys: number;
  lastRewrappedAt: Date | null;
}

/**
 * Key rotation without downtime: once a new master key is current (ENCRYPTION_KEYS `;current=`), new data keys
 * are wrapped with it and this job re-wraps the existing ones, a batch per transaction. Progress lives in the rows
 * (master_key_id), so a crash loses one uncommitted batch and the next run resumes; FOR UPDATE SKIP LOCKED lets
 * several processes share the work. The data keys themselves, and so every sealed text, stay as they are.
 */
export class KeyRotation {
  constructor(
    private readonly keys: DataKeyStore,
    private readonly em: () => EntityManager,
    private readonly logger: Logger,
  ) {}

  start(scheduler: Scheduler): void {
    scheduler.every('key-rotation', EVERY_MS, () => this.run());
  }

  /** Re-wraps until nothing is left (or MAX_BATCHES); returns how many data keys were re-wrapped. */
  async run(): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const done = await this.batch();
      total += done;
      if (done < BATCH) break;
    }
    if (total)
      this.logger.info({ rewrapped: total, currentKeyId: this.keys.keyring.currentId }, 'data keys re-wrapped with the current master key');
    return total;
  }

  private batch(): Promise<number> {
    const current = this.keys.keyring.currentId;
    return transactionally(this.em(), async (em) => {
      const rows = await em.execute<DataKeyRow[]>(
        `SELECT id, subject_id, master_key_id, wrapped FROM data_keys WHERE wrapped IS NOT NULL AND master_key_id <> ? LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        [current],
      );
      for (const row of rows) {
        await em.execute(`UPDATE data_keys SET wrapped = ?, master_key_id = ?, rewrapped_at = now() WHERE id = ?`, [
          this.keys.rewrap(row),
          current,
          row.id,
        ]);
      }
      return rows.length;
    });
  }

  async status(em: EntityManager): Promise<EncryptionStatusView> {
    const [uses, [totals]] = await Promise.all([
      em.execute<Array<{ key_id: string; n: number }>>(
        `SELECT master_key_id AS key_id, count(*)::int AS n FROM data_keys WHERE wrapped IS NOT NULL GROUP BY 1 ORDER BY 1`,
      ),
      em.execute<Array<{ destroyed: number; last: string | null }>>(
        `SELECT count(*) FILTER (WHERE wrapped IS NULL)::int AS destroyed, max(rewrapped_at) AS last FROM data_keys`,
      ),
    ]);
    const keyring = this.keys.keyring;
    const masterKeys = uses.map((u) => ({ keyId: u.key_id, dataKeys: u.n }));
    return {
      currentKeyId: keyring.currentId,
      configuredKeyIds: [...keyring.keys.keys()],
      masterKeys,
      dataKeys: masterKeys.reduce((n, m) => n + m.dataKeys, 0),
      pendingRewrap: masterKeys.filter((m) => m.keyId !== keyring.currentId).reduce((n, m) => n + m.dataKeys, 0),
      destroyedDataKeys: totals.destroyed,
      lastRewrappedAt: totals.last ? new Date(totals.last) : null,
    };
  }
}
