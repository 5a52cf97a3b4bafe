import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Role, Viewer } from '../../platform/auth/roles';
import { isUuid } from '../accounts/account.service';
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

export class UploadRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Decides whether a viewer other than the owner may read an upload (e.g. whoever may decide the leave request it is attached to). */
export type UploadReadPolicy = (em: EntityManager, viewer: Viewer, upload: Upload) => Promise<boolean>;

/** Files under DATA_DIR/uploads, their metadata in PostgreSQL. */
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

  /** Streams one file to disk, checking size and type as it goes; nothing is kept when it is refused. */
  async store(em: EntityManager, owner: Viewer, file: Readable, name: string, declaredType: string): Promise<Upload> {
    const check = ALLOWED[declaredType];
    if (!check) {
      file.resume();
      throw new UploadRejected(415, `Files of type ${declaredType || 'unknown'} are not accepted (images and PDF only)`);
    }
    const upload = em.create(Upload, { ownerId: owner.id, name: cleanName(name), size: 0, contentType: declaredType });
    const target = path.join(this.dir, upload.id);
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
      await pipeline(file, guard, createWriteStream(target, { flags: 'wx' }));
    } catch (err) {
      file.resume(); // drain what is left so the request can finish
      await rm(target, { force: true });
      throw err;
    }
    upload.size = size;
    try {
      await em.persistAndFlush(upload);
    } catch (err) {
      await rm(target, { force: true });
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

  private async mayRead(em: EntityManager, viewer: Viewer, upload: Upload): Promise<boolean> {
    if (upload.ownerId === viewer.id || viewer.role === Role.ADMIN) return true;
    for (const policy of this.policies) if (await policy(em, viewer, upload)) return true;
    return false;
  }
}

function cleanName(name: string): string {
  const base = path.basename(name || 'file').replace(/[\u0000-\u001f"\\]/g, '_').trim();
  return (base || 'file').slice(0, 200);
}
