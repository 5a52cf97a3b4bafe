import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { Viewer } from '../../platform/auth/roles';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { inTransaction } from '../../platform/db/transaction';
import type { Logger } from '../../platform/logger';
import type { AuditService } from '../audit/audit.service';
import { ARCHIVE, LIVE } from './record-filter';

export interface ArchiveSettings {
  afterDays: number;
  /** Archived records are purged this many days after they ended; null keeps them for ever. */
  retainDays: number | null;
  batchSize: number;
  everyMs: number;
}

export type ArchiveOutcome =
  | { status: 'COMPLETED'; conversations: number; messages: number; purgedConversations: number; purgedMessages: number }
  | { status: 'ALREADY_RUNNING' };

interface PgConnection {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

type Actor = { viewer: Viewer | null; traceId: string };
const TABLES = ['conversations', 'messages', 'conversation_transfers'] as const;

/**
 * Moves ENDED conversations older than ARCHIVE_AFTER_DAYS, with their messages and transfers, into the
 * archive tables, then (RETAIN_DAYS) purges archived ones past retention. One run at a time in the cluster:
 * a run holds a session advisory lock on a connection of its own; a second run finds it taken and says so.
 * Each batch is one short transaction over at most ARCHIVE_BATCH_SIZE conversations, which it locks with
 * SKIP LOCKED, so live traffic never waits for a run, and a crash loses nothing (a batch commits whole or not).
 * Left live: conversations another table still refers to by foreign key (a ticket's, found from the catalog,
 * so later features are respected), and those whose messages the personal-data backfill has not read yet.
 */
export class ArchiveService {
  constructor(
    private readonly audit: AuditService,
    private readonly settings: ArchiveSettings,
    private readonly logger: Logger,
    private readonly fork: () => EntityManager,
  ) {}

  start(scheduler: { every(name: string, ms: number, job: () => Promise<unknown>): void }): void {
    scheduler.every('records-archive', this.settings.everyMs, () => this.run());
  }

  async run(actor: Actor = { viewer: null, traceId: randomUUID() }): Promise<ArchiveOutcome> {
    const em = this.fork();
    const client = em.getKnex().client;
    const connection = (await client.acquireConnection()) as PgConnection;
    try {
      const [{ locked }] = (await connection.query('SELECT pg_try_advisory_lock($1) AS locked', [AdvisoryLock.RECORDS_ARCHIVE])).rows;
      if (!locked) return { status: 'ALREADY_RUNNING' };
      try {
        return await this.runLocked(em, actor);
      } finally {
        await connection.query('SELECT pg_advisory_unlock($1)', [AdvisoryLock.RECORDS_ARCHIVE]);
      }
    } finally {
      await client.releaseConnection(connection);
    }
  }

  private async runLocked(em: EntityManager, actor: Actor): Promise<ArchiveOutcome> {
    const columns = await this.movableColumns(em);
    const keep = await this.referencedElsewhere(em);
    const cutoff = new Date(Date.now() - this.settings.afterDays * 86_400_000);
    const outcome = { status: 'COMPLETED' as const, conversations: 0, messages: 0, purgedConversations: 0, purgedMessages: 0 };
    for (;;) {
      const started = performance.now();
      const moved = await this.moveBatch(em.fork(), columns, keep, cutoff);
      if (!moved.conversations) break;
      outcome.conversations += moved.conversations;
      outcome.messages += moved.messages;
      // As long a pause as the batch took: the run uses at most half of what the database can give (it copies and
      // indexes every text again), so live writes are not starved; the run is background work, it can be slow.
      await new Promise((resolve) => setTimeout(resolve, performance.now() - started));
    }
    if (this.settings.retainDays !== null) {
      const purgeBefore = new Date(Date.now() - this.settings.retainDays * 86_400_000);
      for (;;) {
        const purged = await this.purgeBatch(em.fork(), purgeBefore, actor);
        if (!purged.conversations) break;
        outcome.purgedConversations += purged.conversations;
        outcome.purgedMessages += purged.messages;
      }
    }
    if (outcome.conversations) {
      await inTransaction(em.fork(), async (tx) => {
        this.audit.record(tx, actor, {
          action: 'records.archive',
          targetType: 'ConversationArchive',
          targetId: 'archive',
          summary: `${outcome.conversations} conversations with ${outcome.messages} messages ended before ${cutoff.toISOString()} moved to the archive`,
        });
      });
    }
    if (outcome.conversations || outcome.purgedConversations) this.logger.info(outcome, 'records archive run');
    return outcome;
  }

  /** One batch, moved in one transaction; counts checked on both sides, or nothing is kept. */
  private async moveBatch(em: EntityManager, columns: Record<(typeof TABLES)[number], string>, keep: string, cutoff: Date) {
    return inTransaction(em, async (tx) => {
      const picked = await tx.execute<Array<{ id: string }>>(
        `SELECT c.id FROM conversations c
          WHERE c.status = 'ENDED' AND c.ended_at < ?
            AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.pii_types IS NULL)${keep}
          ORDER BY c.ended_at LIMIT ? FOR UPDATE OF c SKIP LOCKED`,
        [cutoff, this.settings.batchSize],
      );
      if (!picked.length) return { conversations: 0, messages: 0 };
      const ids = `{${picked.map((r) => r.id).join(',')}}`;
      const counted = async (sql: string) =>
        (await tx.execute<Array<{ n: number }>>(`WITH done AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM done`, [ids]))[0].n;
      const copy = (from: string, to: string, cols: string, key: string) =>
        counted(`INSERT INTO ${to} (${cols}) SELECT ${cols} FROM ${from} WHERE ${key} = ANY(?::uuid[])`);
      const copied = {
        conversations: await copy(LIVE.conversations, ARCHIVE.conversations, columns.conversations, 'id'),
        messages: await copy(LIVE.messages, ARCHIVE.messages, columns.messages, 'conversation_id'),
        transfers: await copy(LIVE.transfers, ARCHIVE.transfers, columns.conversation_transfers, 'conversation_id'),
      };
      const removed = {
        transfers: await counted(`DELETE FROM ${LIVE.transfers} WHERE conversation_id = ANY(?::uuid[])`),
        messages: await counted(`DELETE FROM ${LIVE.messages} WHERE conversation_id = ANY(?::uuid[])`),
        conversations: await counted(`DELETE FROM ${LIVE.conversations} WHERE id = ANY(?::uuid[])`),
      };
      if (
        copied.conversations !== removed.conversations ||
        copied.messages !== removed.messages ||
        copied.transfers !== removed.transfers
      ) {
        throw new Error(`archive batch counts differ: copied ${JSON.stringify(copied)}, removed ${JSON.stringify(removed)}`);
      }
      return { conversations: copied.conversations, messages: copied.messages };
    });
  }

  /** Archived conversations ended before `before`, with their messages and transfers (cascade); audited per batch. */
  private async purgeBatch(em: EntityManager, before: Date, actor: Actor) {
    return inTransaction(em, async (tx) => {
      const [row] = await tx.execute<Array<{ conversations: number; messages: number }>>(
        `WITH doomed AS (SELECT id FROM conversations_archive WHERE ended_at < ? ORDER BY ended_at LIMIT ? FOR UPDATE SKIP LOCKED),
              counted AS (SELECT count(*)::int AS n FROM messages_archive WHERE conversation_id IN (SELECT id FROM doomed)),
              gone AS (DELETE FROM conversations_archive a USING doomed WHERE a.id = doomed.id RETURNING 1)
         SELECT (SELECT count(*)::int FROM gone) AS conversations, (SELECT n FROM counted) AS messages`,
        [before, this.settings.batchSize],
      );
      if (row.conversations) {
        this.audit.record(tx, actor, {
          action: 'records.purge',
          targetType: 'ConversationArchive',
          targetId: 'retention',
          summary: `${row.conversations} archived conversations with ${row.messages} messages ended before ${before.toISOString()} purged (RETAIN_DAYS ${this.settings.retainDays})`,
        });
      }
      return row;
    });
  }

  /**
   * The columns to copy, table by table: every column of the live table, which the archive table must have too.
   * A migration that adds a live column must add it to the archive table: until then runs refuse, naming it.
   */
  private async movableColumns(em: EntityManager): Promise<Record<(typeof TABLES)[number], string>> {
    const rows = await em.execute<Array<{ table_name: string; column_name: string }>>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name IN ('conversations', 'messages', 'conversation_transfers',
              'conversations_archive', 'messages_archive', 'conversation_transfers_archive')
        ORDER BY table_name, ordinal_position`,
    );
    const of = (table: string) => rows.filter((r) => r.table_name === table).map((r) => r.column_name);
    const out = {} as Record<(typeof TABLES)[number], string>;
    for (const table of TABLES) {
      const archived = new Set(of(`${table}_archive`));
      const missing = of(table).filter((c) => !archived.has(c));
      if (missing.length)
        throw new Error(`${table}_archive lacks the column(s) ${missing.join(', ')} of ${table}: add them in a migration`);
      out[table] = of(table)
        .map((c) => `"${c}"`)
        .join(', ');
    }
    return out;
  }

  /** NOT EXISTS conditions for every foreign key other tables hold on conversations or messages. */
  private async referencedElsewhere(em: EntityManager): Promise<string> {
    const keys = await em.execute<Array<{ source: string; column: string; target: string }>>(
      `SELECT src.relname AS source, a.attname AS column, dst.relname AS target
         FROM pg_constraint k
         JOIN pg_class src ON src.oid = k.conrelid
         JOIN pg_class dst ON dst.oid = k.confrelid
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.contype = 'f' AND dst.relname IN ('conversations', 'messages') AND src.relnamespace = current_schema()::regnamespace
          AND src.relname NOT IN ('messages', 'conversation_transfers')`,
    );
    return keys
      .map((k) =>
        k.target === 'conversations'
          ? `\n            AND NOT EXISTS (SELECT 1 FROM "${k.source}" r WHERE r."${k.column}" = c.id)`
          : `\n            AND NOT EXISTS (SELECT 1 FROM "${k.source}" r JOIN messages rm ON rm.id = r."${k.column}" WHERE rm.conversation_id = c.id)`,
      )
      .join('');
  }
}
