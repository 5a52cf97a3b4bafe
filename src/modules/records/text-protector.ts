import type { EntityManager } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import { Role, Viewer } from '../../platform/auth/roles';
import type { Logger } from '../../platform/logger';
import type { Metrics } from '../../platform/metrics';
import type { DataKeyStore } from './data-keys';
import { decrypt, encrypt } from './keyring';
import { maskText } from './masking';
import type { PiiDetector } from './pii-detector';
import type { PiiSource } from './pii-sources';
import type { PiiType } from './pii-type';

/** A text as it is stored: the kinds of personal data in it, the masked text, and the sealed original (or null). */
export interface ProtectedText {
  types: PiiType[];
  /** Property → text to store: masked where it held personal data, as written otherwise. */
  masked: Record<string, string>;
  sealed: Buffer | null;
}

/** Why a sealed text did not open: its subject was forgotten, or it failed authentication (tampered, wrong key). */
export type OpenFailure = 'DESTROYED' | 'FAILED';

/** Layout of a sealed value: version (1 byte) ‖ data key id (16 bytes) ‖ AES-256-GCM iv ‖ tag ‖ ciphertext. */
const VERSION = 1;
const HEADER = 17;

/**
 * Masks the texts that hold personal data and seals their originals under the subject's data key, bound to the
 * row (`table:id` is the additional data, so a ciphertext copied to another row does not open). Used by the
 * ORM's PiiTagger, the chat's one-statement append and the backfill; opened only by revealText.
 */
export class TextProtector {
  /** A conversation's customer never changes: the hot path asks the database once per conversation. */
  private readonly conversationCustomers = new LRUCache<string, string>({ max: 10_000 });

  constructor(
    readonly detector: PiiDetector,
    readonly keys: DataKeyStore,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly em: () => EntityManager,
  ) {}

  mask(text: string): string {
    return maskText(text, this.detector.rules);
  }

  /**
   * `combined` is the text detection reads (a ticket's subject and description together); `subject` is only
   * looked up when there is something to seal.
   */
  async protect(
    table: string,
    rowId: string,
    subject: string | null | (() => Promise<string | null>),
    originals: Record<string, string>,
    combined: string,
  ): Promise<ProtectedText> {
    const types = this.detector.types(combined);
    if (!types.length) return { types, masked: originals, sealed: null };
    const masked = Object.fromEntries(Object.entries(originals).map(([k, v]) => [k, this.mask(v)]));
    const subjectId = typeof subject === 'function' ? await subject() : subject;
    // A forgotten subject has no key: the masked text is stored and the original is not kept at all.
    const key = subjectId ? await this.keys.forSubject(subjectId) : null;
    if (!key) return { types, masked, sealed: null };
    const body = encrypt(key.key, Buffer.from(JSON.stringify(originals)), `${table}:${rowId}`);
    return { types, masked, sealed: Buffer.concat([Buffer.from([VERSION]), Buffer.from(key.id.replace(/-/g, ''), 'hex'), body]) };
  }

  /** Protects an entity the ORM is about to write (its text properties are originals): sets piiTypes, masks, seals. */
  async protectRow(source: PiiSource, row: Parameters<PiiSource['text']>[0], em: EntityManager): Promise<void> {
    const originals = Object.fromEntries(source.properties.map((p) => [p, String(row[p as keyof typeof row] ?? '')]));
    const p = await this.protect(source.table, row.id, () => source.subject(row, em), originals, source.text(row));
    row.piiTypes = p.types;
    Object.assign(row, p.masked);
    row.sealed = p.sealed;
  }

  /** A chat message about to be appended by the sender (the subject is the conversation's customer). */
  async protectMessage(sender: Viewer, conversationId: string, messageId: string, content: string): Promise<ProtectedText> {
    const subject = sender.role === Role.CUSTOMER ? sender.id : () => this.customerOfConversation(conversationId);
    return this.protect('messages', messageId, subject, { content }, content);
  }

  /**
   * The originals of a sealed value, read in `em`'s transaction; a value that fails authentication is logged
   * (without the ciphertext) and counted in shiftdesk_sealed_text_failures_total, and answers FAILED.
   */
  async open(em: EntityManager, table: string, rowId: string, sealed: Buffer): Promise<Record<string, string> | OpenFailure> {
    let dataKeyId: string | null = null;
    if (sealed.length > HEADER && sealed[0] === VERSION) {
      const hex = sealed.subarray(1, HEADER).toString('hex');
      dataKeyId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    const row = dataKeyId ? await this.keys.find(em, dataKeyId) : null;
    if (row && !row.wrapped) return 'DESTROYED';
    try {
      if (!row) throw new Error('no data key of this id, or not a sealed value of a known version');
      return JSON.parse(decrypt(this.keys.unwrap(row), sealed.subarray(HEADER), `${table}:${rowId}`).toString('utf8')) as Record<
        string,
        string
      >;
    } catch (err) {
      this.metrics.sealedTextFailures.inc({ table });
      this.logger.warn({ table, rowId, dataKeyId, reason: (err as Error).message }, 'a sealed text failed authentication: shown masked');
      return 'FAILED';
    }
  }

  private async customerOfConversation(conversationId: string): Promise<string | null> {
    const hit = this.conversationCustomers.get(conversationId);
    if (hit) return hit;
    const [row] = await this.em().execute<Array<{ customer_id: string }>>(`SELECT customer_id FROM conversations WHERE id = ?`, [
      conversationId,
    ]);
    if (row) this.conversationCustomers.set(conversationId, row.customer_id);
    return row?.customer_id ?? null;
  }
}
