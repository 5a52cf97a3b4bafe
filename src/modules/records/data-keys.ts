import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import { decrypt, encrypt, Keyring } from './keyring';

/** An unwrapped data key: the key that seals one subject's texts (AES-256-GCM), and its row id. */
export interface DataKey {
  id: string;
  key: Buffer;
}

interface DataKeyRow {
  id: string;
  subject_id: string;
  master_key_id: string | null;
  wrapped: Buffer | null;
}

const DESTROYED = 'destroyed' as const;
/** Unwrapped keys kept in process: the chat's hot path seals without a query or an unwrap per message. */
const CACHE_SIZE = 10_000;
/** A key destroyed by another process (forgetCustomer) stops being used for new seals here within this. */
const CACHE_TTL_MS = 5 * 60_000;

const wrapAad = (row: { id: string; subject_id: string }) => `data-key:${row.id}:${row.subject_id}`;

/**
 * Envelope encryption: one data key per subject (the customer a text is about; a staff member for their own
 * leave reason), stored wrapped by a master key of the keyring in `data_keys`. Destroying it (crypto-shredding)
 * leaves the row as a tombstone, so no new key is ever made for a forgotten subject.
 */
export class DataKeyStore {
  private readonly cache = new LRUCache<string, DataKey | typeof DESTROYED>({ max: CACHE_SIZE, ttl: CACHE_TTL_MS });

  constructor(
    readonly keyring: Keyring,
    private readonly em: () => EntityManager,
  ) {}

  /**
   * The subject's data key for sealing, made on first use; null once destroyed. A new key is committed on its
   * own connection before any text uses it, so a rolled-back write never leaves a cached key without a row.
   */
  async forSubject(subjectId: string): Promise<DataKey | null> {
    const hit = this.cache.get(subjectId);
    if (hit) return hit === DESTROYED ? null : hit;
    const em = this.em();
    let row = await selectBySubject(em, subjectId);
    if (!row) {
      const fresh = { id: randomUUID(), subject_id: subjectId };
      const key = randomBytes(32);
      await em.execute(
        `INSERT INTO data_keys (id, subject_id, master_key_id, wrapped) VALUES (?, ?, ?, ?) ON CONFLICT (subject_id) DO NOTHING`,
        [fresh.id, subjectId, this.keyring.currentId, this.wrap(fresh, key)],
      );
      row = (await selectBySubject(em, subjectId))!; // ours, or a concurrent writer's
    }
    const value = row.wrapped ? { id: row.id, key: this.unwrap(row) } : DESTROYED;
    this.cache.set(subjectId, value);
    return value === DESTROYED ? null : value;
  }

  /**
   * A data key's row by id, for opening a sealed text: read in `em`'s transaction and held FOR SHARE until it
   * ends, so a concurrent forgetCustomer waits for the reveal (or the reveal sees the key gone). `unwrap` it.
   */
  async find(em: EntityManager, dataKeyId: string): Promise<DataKeyRow | null> {
    const [row] = await em.execute<DataKeyRow[]>(`SELECT id, subject_id, master_key_id, wrapped FROM data_keys WHERE id = ? FOR SHARE`, [
      dataKeyId,
    ]);
    return row ?? null;
  }

  /** Crypto-shredding in `em`'s transaction: the wrapped key is gone (a tombstone stays). Evict after commit. */
  async destroy(em: EntityManager, subjectId: string): Promise<void> {
    await em.execute(
      `INSERT INTO data_keys (id, subject_id, master_key_id, wrapped, destroyed_at) VALUES (?, ?, NULL, NULL, now())
       ON CONFLICT (subject_id) DO UPDATE SET master_key_id = NULL, wrapped = NULL, destroyed_at = coalesce(data_keys.destroyed_at, now())`,
      [randomUUID(), subjectId],
    );
  }

  evict(subjectId: string): void {
    this.cache.delete(subjectId);
  }

  /**
   * What makes the keyring unusable with this database, for start-up to refuse (empty: fine): a master key id
   * that still wraps data keys but is missing, or a key given under an id whose recorded check value differs
   * (another key than the one that wrapped them). Records the check values of the keyring's new ids.
   */
  async keyringProblems(em: EntityManager): Promise<string[]> {
    const checks = [...this.keyring.keys].map(([id, key]) => ({
      id,
      check: createHmac('sha256', key).update('shiftdesk master key check').digest(),
    }));
    for (const c of checks) {
      await em.execute(`INSERT INTO master_key_checks (key_id, check_value) VALUES (?, ?) ON CONFLICT (key_id) DO NOTHING`, [
        c.id,
        c.check,
      ]);
    }
    const stored = await em.execute<Array<{ key_id: string; check_value: Buffer }>>(`SELECT key_id, check_value FROM master_key_checks`);
    const problems = checks
      .filter((c) => stored.some((s) => s.key_id === c.id && !s.check_value.equals(c.check)))
      .map((c) => `key ${c.id} is not the key ${c.id} this database was written with`);
    const used = await em.execute<Array<{ master_key_id: string; n: number }>>(
      `SELECT master_key_id, count(*)::int AS n FROM data_keys WHERE wrapped IS NOT NULL GROUP BY master_key_id`,
    );
    for (const u of used.filter((u) => !this.keyring.keys.has(u.master_key_id)))
      problems.push(`lacks master key ${u.master_key_id} (wraps ${u.n} data keys)`);
    return problems;
  }

  /** Seals a secret that is its own subject (a webhook's signing secret) under the subject's data key. */
  async sealFor(subjectId: string, plaintext: Buffer, aad: string): Promise<Buffer> {
    const key = await this.forSubject(subjectId);
    if (!key) throw new Error(`the data key of ${subjectId} is destroyed`);
    return encrypt(key.key, plaintext, aad);
  }

  /** Opens what `sealFor` sealed; throws when the data key is destroyed or the value was tampered with. */
  async openFor(subjectId: string, sealed: Buffer, aad: string): Promise<Buffer> {
    const key = await this.forSubject(subjectId);
    if (!key) throw new Error(`the data key of ${subjectId} is destroyed`);
    return decrypt(key.key, sealed, aad);
  }

  /** Re-wraps a data key (rotation): same data key, wrapped by the current master key. */
  rewrap(row: DataKeyRow): Buffer {
    return this.wrap(row, this.unwrap(row));
  }

  private wrap(row: { id: string; subject_id: string }, key: Buffer): Buffer {
    return encrypt(this.keyring.keys.get(this.keyring.currentId)!, key, wrapAad(row));
  }

  /** The data key of a row that is not destroyed; throws when it does not unwrap (its wrapping was changed). */
  unwrap(row: DataKeyRow): Buffer {
    const master = this.keyring.keys.get(row.master_key_id!);
    if (!master) throw new Error(`data key ${row.id} is wrapped by master key ${row.master_key_id}, which is not in ENCRYPTION_KEYS`);
    return decrypt(master, row.wrapped!, wrapAad(row));
  }
}

export type { DataKeyRow };

async function selectBySubject(em: EntityManager, subjectId: string): Promise<DataKeyRow | undefined> {
  const [row] = await em.execute<DataKeyRow[]>(`SELECT id, subject_id, master_key_id, wrapped FROM data_keys WHERE subject_id = ?`, [
    subjectId,
  ]);
  return row;
}
