import type { EntityManager } from '@mikro-orm/postgresql';
import { createReadStream, ReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { RequestScope } from '../../platform/request-scope';
import { Viewer } from '../../platform/auth/roles';
import { signedIn } from '../../platform/auth/scope';
import { inTransaction } from '../../platform/db/transaction';
import { isUuid } from '../../platform/ids';
import type { JobQueue } from '../../platform/jobs/job-queue';
import type { Logger } from '../../platform/logger';
import { NotFound } from '../../platform/errors';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { Topics } from '../../platform/realtime/topics';
import type { AuditService } from '../audit/audit.service';
import { Conversation } from '../conversations/conversation.entity';
import { columnsOf } from './archived-records';
import { ExportJob, StoredFilter } from './export-job.entity';
import { EXTENSIONS, ExportRow, openExportWriter } from './export-writer';
import { maskText } from './masking';
import type { PiiRules } from './pii-rules';
import { filterSql, scopedFilter, tablesOf } from './record-filter';
import { ConversationSearchFilter, ExportEstimate, ExportFormat, ExportStatus } from './records.inputs';

const EXPORT_JOB = 'records-export';
/** Conversations read per batch: a few thousand messages in memory at most. */
const BATCH = 200;

@ObjectType({ description: 'An export’s progress: rows written of the rows it is expected to hold' })
export class ExportProgress {
  @Field(() => ID)
  jobId!: string;

  @Field(() => ExportStatus)
  status!: ExportStatus;

  @Field(() => Int)
  rowsDone!: number;

  @Field(() => Int, { description: 'estimatedRows: the rows the filter matched when the export was asked for' })
  rowsTotal!: number;
}

export type ExportProgressPayload = ExportProgress;

export interface ExportSettings {
  dir: string;
  ttlMs: number;
}

/** A finished export's file, opened for its requester. */
export type OpenedExport = { job: ExportJob; stream: ReadStream; size: number; expired?: never } | { expired: true; job: ExportJob };

/**
 * exportConversations: counts what the filter matches (said before anything runs: estimatedRows, or
 * exportEstimate), stores the request (audited with its filter, in the same transaction), and leaves the
 * work to the job queue (pg-boss: survives restarts, runs once in a cluster). The job streams one row per
 * message into DATA_DIR/exports, batch by batch, publishing progress; the requester downloads the file from
 * GET /exports/:id until it expires (EXPORT_TTL_HOURS), when the sweep deletes it.
 */
export class RecordExportService {
  constructor(
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
    private readonly pubsub: PubSubPort,
    private readonly piiRules: PiiRules,
    private readonly settings: ExportSettings,
    private readonly logger: Logger,
    private readonly fork: () => EntityManager,
  ) {
    jobs.define<{ exportId: string }>({ name: EXPORT_JOB, retryLimit: 2, expireInSeconds: 60 * 60 }, ({ exportId }) => this.run(exportId));
  }

  async estimate(scope: RequestScope, filter: ConversationSearchFilter, includeArchived: boolean): Promise<ExportEstimate> {
    return count(scope.em, scopedFilter(signedIn(scope.viewer), filter, includeArchived, this.piiRules));
  }

  async request(scope: RequestScope, filter: ConversationSearchFilter, format: ExportFormat, includeArchived: boolean): Promise<ExportJob> {
    const viewer = signedIn(scope.viewer);
    const scoped = scopedFilter(viewer, filter, includeArchived, this.piiRules);
    const size = await count(scope.em, scoped);
    const job = await inTransaction(scope.em, async (em) => {
      const row = em.create(ExportJob, {
        requesterId: viewer.id,
        format,
        filter: scoped,
        estimatedRows: size.messages,
        expiresAt: new Date(Date.now() + this.settings.ttlMs),
      });
      this.audit.record(em, scope, {
        action: 'records.export',
        targetType: 'ExportJob',
        targetId: row.id,
        summary: `${format} export of ${size.messages} messages in ${size.conversations} conversations; filter ${JSON.stringify(scoped)}`,
      });
      await em.flush();
      return row;
    });
    try {
      await this.jobs.send(EXPORT_JOB, { exportId: job.id });
    } catch (err) {
      await this.finish(scope.em, job, { status: ExportStatus.FAILED, error: 'could not be queued' });
      throw err;
    }
    return job;
  }

  /** The viewer's own export; anyone else's is NOT_FOUND. */
  async get(scope: RequestScope, id: string): Promise<ExportJob> {
    const viewer = signedIn(scope.viewer);
    const job = isUuid(id) ? await scope.em.findOne(ExportJob, { id, requesterId: viewer.id }) : null;
    if (!job) throw new NotFound('Export', id);
    return job;
  }

  progressOf(job: ExportJob): ExportProgress {
    return { jobId: job.id, status: job.status, rowsDone: job.rowsDone, rowsTotal: job.estimatedRows };
  }

  /** For GET /exports/:id: null when there is no such export of the viewer's; `expired` once deleted. */
  async open(em: EntityManager, viewer: Viewer, id: string): Promise<OpenedExport | null | 'not-ready'> {
    const job = isUuid(id) ? await em.findOne(ExportJob, { id, requesterId: viewer.id }) : null;
    if (!job) return null;
    if (job.status === ExportStatus.EXPIRED || job.expiresAt <= new Date()) return { expired: true, job };
    if (job.status !== ExportStatus.READY) return 'not-ready';
    const file = this.fileOf(job);
    const size = (await stat(file)).size;
    return { job, stream: createReadStream(file), size };
  }

  /** The job: writes the file, batch by batch. A retry after a crash starts it again from the beginning. */
  async run(exportId: string): Promise<void> {
    const em = this.fork();
    const job = await em.findOne(ExportJob, { id: exportId });
    if (!job || (job.status !== ExportStatus.QUEUED && job.status !== ExportStatus.RUNNING)) return;
    job.status = ExportStatus.RUNNING;
    job.startedAt = new Date();
    job.rowsDone = 0;
    await em.flush();
    this.publish(job);
    await mkdir(this.settings.dir, { recursive: true });
    const partial = `${this.fileOf(job)}.part`;
    await rm(partial, { force: true });
    const writer = openExportWriter(job.format, partial);
    try {
      for await (const rows of exportRows(em, job.filter, this.piiRules)) {
        for (const row of rows) await writer.write(row);
        job.rowsDone += rows.length;
        await em.nativeUpdate(ExportJob, { id: job.id }, { rowsDone: job.rowsDone });
        this.publish(job);
      }
      await writer.end();
      await rename(partial, this.fileOf(job));
      const { size } = await stat(this.fileOf(job));
      await this.finish(em, job, { status: ExportStatus.READY, fileSize: size });
    } catch (err) {
      writer.abort();
      await rm(partial, { force: true });
      this.logger.error({ err, exportId }, 'export failed');
      await this.finish(em, job, { status: ExportStatus.FAILED, error: 'The export failed; ask for it again' });
    }
  }

  /** Deletes the files of expired exports (EXPORT_TTL_HOURS); each row is claimed by one process. */
  async sweep(): Promise<number> {
    const em = this.fork();
    const expired = await em.execute<Array<{ id: string; format: ExportFormat }>>(
      `UPDATE export_jobs SET status = 'EXPIRED' WHERE expires_at <= now() AND status <> 'EXPIRED' RETURNING id, format`,
    );
    for (const row of expired) {
      const file = path.join(this.settings.dir, `${row.id}.${EXTENSIONS[row.format]}`);
      await rm(file, { force: true });
      await rm(`${file}.part`, { force: true });
    }
    return expired.length;
  }

  start(scheduler: { every(name: string, ms: number, job: () => Promise<unknown>): void }, everyMs = 60_000): void {
    scheduler.every('records-export-expiry', everyMs, () => this.sweep());
  }

  private fileOf(job: ExportJob): string {
    return path.join(this.settings.dir, `${job.id}.${EXTENSIONS[job.format]}`);
  }

  private async finish(
    em: EntityManager,
    job: ExportJob,
    change: Partial<Pick<ExportJob, 'status' | 'fileSize' | 'error'>>,
  ): Promise<void> {
    Object.assign(job, change, { finishedAt: new Date() });
    await em.nativeUpdate(ExportJob, { id: job.id }, { ...change, finishedAt: job.finishedAt, rowsDone: job.rowsDone });
    this.publish(job);
  }

  private publish(job: ExportJob): void {
    this.pubsub.publish(Topics.EXPORT_PROGRESS, job.id, this.progressOf(job) satisfies ExportProgressPayload);
  }
}

/** What the filter matches: conversations, and their messages (seq has no gaps, so last_seq counts them). */
async function count(em: EntityManager, filter: StoredFilter): Promise<ExportEstimate> {
  const total: ExportEstimate = { conversations: 0, messages: 0 };
  for (const tables of tablesOf(filter)) {
    const { where, params } = filterSql(filter, tables);
    const [row] = await em.execute<Array<{ conversations: number; messages: number }>>(
      `SELECT count(*)::int AS conversations, coalesce(sum(c.last_seq), 0)::int AS messages FROM ${tables.conversations} c WHERE ${where}`,
      params,
    );
    total.conversations += row.conversations;
    total.messages += row.messages;
  }
  return total;
}

/** The export's rows, BATCH conversations at a time, oldest first, the live ones then the archived ones. */
/** A row as the driver returns it for a raw SELECT (columns named in the statement). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw rows: the statement, not a type, says what they hold
type SqlRow = Record<string, any>;

async function* exportRows(em: EntityManager, filter: StoredFilter, piiRules: PiiRules): AsyncGenerator<ExportRow[]> {
  for (const tables of tablesOf(filter)) {
    const { where, params } = filterSql(filter, tables);
    let after: [string, string] | null = null;
    for (;;) {
      // The key's time as PostgreSQL's text: a JavaScript Date would drop the microseconds and repeat rows.
      const conversations: Array<SqlRow> = await em.execute(
        `SELECT ${columnsOf(em, Conversation, 'c')}, c.created_at::text AS created_key FROM ${tables.conversations} c
          WHERE ${where}${after ? ' AND (c.created_at, c.id) > (?::timestamptz, ?)' : ''} ORDER BY c.created_at, c.id LIMIT ?`,
        [...params, ...(after ?? []), BATCH],
      );
      if (!conversations.length) break;
      after = [conversations[conversations.length - 1].created_key, conversations[conversations.length - 1].id];
      const messages: Array<SqlRow> = await em.execute(
        `SELECT id, conversation_id, seq, sender_role, kind, created_at, content, pii_types FROM ${tables.messages}
          WHERE conversation_id = ANY(?::uuid[]) ORDER BY conversation_id, seq`,
        [`{${conversations.map((c) => c.id).join(',')}}`],
      );
      const byConversation = new Map<string, Array<SqlRow>>();
      for (const m of messages) {
        const list = byConversation.get(m.conversation_id);
        if (list) list.push(m);
        else byConversation.set(m.conversation_id, [m]);
      }
      const rows: ExportRow[] = [];
      for (const c of conversations) {
        for (const m of byConversation.get(c.id) ?? []) {
          rows.push({
            conversationId: c.id,
            conversationCreatedAt: new Date(c.created_at).toISOString(),
            archived: tables.archived,
            customerId: c.customer_id,
            agentId: c.agent_id,
            departmentId: c.department_id,
            status: c.status,
            priority: c.priority,
            intent: c.intent,
            rating: c.rating,
            seq: m.seq,
            messageId: m.id,
            senderRole: m.sender_role,
            kind: m.kind,
            sentAt: new Date(m.created_at).toISOString(),
            // Masked again (idempotent): only masked text ever leaves, whatever the column holds.
            content: m.pii_types === null || m.pii_types.length ? maskText(m.content, piiRules) : m.content,
            piiTypes: (m.pii_types ?? []).join(' '),
          });
        }
      }
      yield rows;
    }
  }
}
