import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { opendir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Role, Viewer } from '../../platform/auth/roles';
import { pgArray } from '../../platform/db/arrays';
import type { Scheduler } from '../../platform/scheduler';
import { isUuid } from '../../platform/ids';
import { Upload } from './upload.entity';

export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Allowed types, each with the first bytes a real file of that type starts with. */
const ALLOWED: Record<string, (head: Buffer) => boolean> = {
  'image/png': (h) => h.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff,
  'image/gif': (h) => h.subarray(0, 4).toString('latin1') === 'GIF8',
  'image/webp': (h) => h.subarray(0, 4).toString('latin1') === 'RIFF' && h.subarray(8, 12).toString('latin1') === 'WEBP',
  'application/pdf': (h) => h.subarray(0, 5).toString('latin1') === '%PDF-',
};

/** The client's fault: answered with `status` (400, 413, 415) and code BAD_USER_INPUT. */
export class UploadRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A file written to disk that no row names yet: `keep` gives it one, `discard` removes it. */
export class StagedFile {
  constructor(
    readonly id: string,
    readonly path: string,
    readonly name: string,
    readonly size: number,
    readonly contentType: string,
  ) {}

  /** Never fails: a file it could not remove is left to the orphan sweep. */
  async discard(): Promise<void> {
    await rm(this.path, { force: true }).catch(() => undefined);
  }
}

export interface UploadSweepSettings {
  sweepEveryMs: number;
  /** Longer than any upload takes: a younger file without a row may be one being written or about to get its row. */
  orphanGraceMs: number;
}

/** Decides whether a viewer other than the owner may read an upload (e.g. whoever may decide the leave request it is attached to). */
export type UploadReadPolicy = (em: EntityManager, viewer: Viewer, upload: Upload) => Promise<boolean>;

/** Files under DATA_DIR/uploads (named by their row's id), their metadata in PostgreSQL. */
export class UploadService {
  private readonly dir: string;
  private readonly policies: UploadReadPolicy[] = [];

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'uploads');
    mkdirSync(this.dir, { recursive: true });
  }

  addReadPolicy(policy: UploadReadPolicy): void {
    this.policies.push(policy);
  }

  /** Removes files without a row on a schedule (what a crash between writing a file and inserting its row leaves). */
  start(scheduler: Scheduler, settings: UploadSweepSettings, em: () => EntityManager): void {
    scheduler.every('upload-orphan-sweep', settings.sweepEveryMs, () => this.sweepOrphans(em(), settings.orphanGraceMs));
  }

  /**
   * Streams one file to disk, checking its type and size as it goes. Rejects with UploadRejected (nothing left on
   * disk) when the type is not accepted, the bytes do not match it, or it is too big.
   */
  async stage(file: Readable, name: string, declaredType: string): Promise<StagedFile> {
    const check = ALLOWED[declaredType];
    if (!check) throw new UploadRejected(415, `Files of type ${declaredType || 'unknown'} are not accepted (images and PDF only)`);
    const id = randomUUID();
    const target = path.join(this.dir, id);
    let size = 0;
    let head = Buffer.alloc(0);
    const guard = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > MAX_UPLOAD_BYTES) return done(new UploadRejected(413, `Files may be at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`));
        if (head.length < 16) {
          head = Buffer.concat([head, chunk]).subarray(0, 16);
          if (head.length >= 12 && !check(head)) return done(new UploadRejected(415, `The file is not really ${declaredType}`));
        }
        done(null, chunk);
      },
      flush(done) {
        if (head.length < 12 && !check(head)) return done(new UploadRejected(415, `The file is not really ${declaredType}`));
        done();
      },
    });
    try {
      // pipeline settles only once every stream has closed, so the file is not being written when it is removed.
      await pipeline(file, guard, createWriteStream(target, { flags: 'wx' }));
    } catch (err) {
      await rm(target, { force: true });
      throw err;
    }
    return new StagedFile(id, target, cleanName(name), size, declaredType);
  }

  /** Gives a staged file its row; when that fails, the file goes too. */
  async keep(em: EntityManager, owner: Viewer, staged: StagedFile): Promise<Upload> {
    const upload = em.create(Upload, {
      id: staged.id,
      ownerId: owner.id,
      name: staged.name,
      size: staged.size,
      contentType: staged.contentType,
    });
    try {
      await em.persistAndFlush(upload);
    } catch (err) {
      await staged.discard();
      throw err;
    }
    return upload;
  }

  /** The upload and a stream of its bytes when the viewer may read it; null when it does not exist for them. */
  async open(em: EntityManager, viewer: Viewer, id: string): Promise<{ upload: Upload; stream: Readable } | null> {
    if (!isUuid(id)) return null;
    const upload = await em.findOne(Upload, { id });
    if (!upload || !(await this.mayRead(em, viewer, upload))) return null;
    return { upload, stream: createReadStream(path.join(this.dir, upload.id)) };
  }

  /** Removes the files older than `graceMs` that no row names; returns how many. Other names in the directory are left alone. */
  async sweepOrphans(em: EntityManager, graceMs: number): Promise<number> {
    const cutoff = Date.now() - graceMs;
    const old: string[] = [];
    for await (const entry of await opendir(this.dir)) {
      if (!entry.isFile() || !isUuid(entry.name)) continue;
      const info = await stat(path.join(this.dir, entry.name)).catch(() => null); // gone meanwhile: nothing to do
      if (info && info.mtimeMs < cutoff) old.push(entry.name);
    }
    let removed = 0;
    for (let i = 0; i < old.length; i += 500) {
      const batch = old.slice(i, i + 500);
      const rows = await em
        .getConnection()
        .execute<Array<{ id: string }>>('SELECT id FROM uploads WHERE id = ANY(?::uuid[])', [pgArray(batch)]);
      const named = new Set(rows.map((r) => r.id));
      for (const id of batch) {
        if (named.has(id)) continue;
        await rm(path.join(this.dir, id), { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** The owner, admins, and whoever a read policy lets (node(id) asks the same). */
  async mayRead(em: EntityManager, viewer: Viewer, upload: Upload): Promise<boolean> {
    if (upload.ownerId === viewer.id || viewer.role === Role.ADMIN) return true;
    for (const policy of this.policies) if (await policy(em, viewer, upload)) return true;
    return false;
  }
}

function cleanName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const unsafe = /[\u0000-\u001f"\\]/g;
  const base = path
    .basename(name || 'file')
    .replace(unsafe, '_')
    .trim();
  return (base || 'file').slice(0, 200);
}
