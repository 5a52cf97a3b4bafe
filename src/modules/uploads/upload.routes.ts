import busboy from 'busboy';
import express, { Request, Response, Router } from 'express';
import { resolveViewer } from '../../context';
import { bearerToken } from '../../platform/auth/tokens';
import { ErrorCode } from '../../platform/errors';
import { currentTraceId } from '../../platform/trace';
import type { Services } from '../../services';
import { MAX_UPLOAD_BYTES, UploadRejected } from './upload.service';

/**
 * `POST /uploads` (multipart, field `file`, bearer token) → `{id, url, name, size, contentType}`;
 * `GET /uploads/:id` for the uploader and whoever may see what it is attached to (404 for anyone else).
 */
export function uploadRoutes(services: Services): Router {
  const router = express.Router();

  router.post('/uploads', async (req, res) => {
    const em = services.orm.em.fork();
    const viewer = await resolveViewer(services, em, bearerToken(req.headers.authorization));
    if (!viewer) return fail(res, 401, ErrorCode.UNAUTHENTICATED, 'Sign in to upload');
    if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      return fail(res, 400, ErrorCode.BAD_USER_INPUT, 'Send multipart/form-data with one field named "file"');
    }
    let bb: busboy.Busboy;
    try {
      // Browsers send UTF-8 file names (中文 names included); busboy assumes latin1 unless told.
      bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: MAX_UPLOAD_BYTES + 1, fields: 10 } });
    } catch {
      return fail(res, 400, ErrorCode.BAD_USER_INPUT, 'The multipart body is malformed');
    }
    let work: Promise<unknown> | null = null;
    bb.on('file', (field, file, info) => {
      if (field !== 'file' || work) {
        file.resume();
        return;
      }
      work = services.uploads.store(em, viewer, file, info.filename ?? 'file', info.mimeType);
    });
    bb.on('error', () => fail(res, 400, ErrorCode.BAD_USER_INPUT, 'The multipart body is malformed'));
    bb.on('close', async () => {
      if (!work) return fail(res, 400, ErrorCode.BAD_USER_INPUT, 'No field named "file" in the body');
      try {
        const upload = (await work) as { id: string; url: string; name: string; size: number; contentType: string };
        res.status(201).json({ id: upload.id, url: upload.url, name: upload.name, size: upload.size, contentType: upload.contentType });
      } catch (err) {
        if (err instanceof UploadRejected) return fail(res, err.status, ErrorCode.BAD_USER_INPUT, err.message);
        services.logger.error({ err, traceId: currentTraceId() }, 'upload failed');
        fail(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      }
    });
    req.pipe(bb);
  });

  router.get('/uploads/:id', async (req: Request<{ id: string }>, res) => {
    const em = services.orm.em.fork();
    const viewer = await resolveViewer(services, em, bearerToken(req.headers.authorization));
    if (!viewer) return fail(res, 401, ErrorCode.UNAUTHENTICATED, 'Sign in to download');
    const found = await services.uploads.open(em, viewer, req.params.id);
    if (!found) return fail(res, 404, ErrorCode.NOT_FOUND, 'No such file');
    res
      .status(200)
      .set('Content-Type', found.upload.contentType)
      .set('Content-Length', String(found.upload.size))
      .set('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(found.upload.name)}`)
      .set('X-Content-Type-Options', 'nosniff')
      .set('Cache-Control', 'private, no-store');
    found.stream.on('error', () => res.destroy());
    found.stream.pipe(res);
  });

  return router;
}

function fail(res: Response, status: number, code: ErrorCode, message: string): void {
  if (res.headersSent) return;
  res.status(status).json({ errors: [{ message, extensions: { code, traceId: currentTraceId() } }] });
}
