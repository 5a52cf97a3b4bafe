import express, { Request, Response, Router } from 'express';
import { resolveViewer } from '../../context';
import { bearerToken } from '../../platform/auth/tokens';
import { ErrorCode } from '../../platform/errors';
import { traceIdOf } from '../../platform/trace';
import type { Services } from '../../services';
import type { Upload } from './upload.entity';
import { receiveOneFile } from './upload.multipart';
import { MAX_UPLOAD_BYTES, UploadRejected } from './upload.service';

/** Uploaded bytes never run as a page of ShiftDesk's origin: no scripts, no plugins, no requests of their own. */
const UPLOAD_CSP = "default-src 'none'; sandbox";

/**
 * `POST /uploads` (multipart, one field `file`, bearer token) → `{id, url, name, size, contentType}`;
 * `GET /uploads/:id` for the uploader and whoever may see what it is attached to (404 for anyone else).
 */
export function uploadRoutes(services: Services): Router {
  const router = express.Router();

  router.post('/uploads', async (req, res) => {
    const traceId = traceIdOf(res);
    const em = services.orm.em.fork();
    const viewer = await resolveViewer(services, em, bearerToken(req.headers.authorization));
    if (!viewer) return fail(res, traceId, 401, ErrorCode.UNAUTHENTICATED, 'Sign in to upload');
    if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      return fail(res, traceId, 400, ErrorCode.BAD_USER_INPUT, 'Send multipart/form-data with one field named "file"');
    }
    let upload: Upload;
    try {
      // The row is written only once the whole body has been read: a refusal after the file (a second file,
      // a truncated body) keeps nothing.
      const staged = await receiveOneFile(req, MAX_UPLOAD_BYTES, (file, info) =>
        services.uploads.stage(file, info.filename, info.mimeType),
      );
      upload = await services.uploads.keep(em, viewer, staged);
    } catch (err) {
      if (err instanceof UploadRejected) return fail(res, traceId, err.status, ErrorCode.BAD_USER_INPUT, err.message);
      services.logger.error({ err, traceId }, 'upload failed');
      return fail(res, traceId, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    }
    res.status(201).json({ id: upload.id, url: upload.url, name: upload.name, size: upload.size, contentType: upload.contentType });
  });

  router.get('/uploads/:id', async (req: Request<{ id: string }>, res) => {
    const em = services.orm.em.fork();
    const viewer = await resolveViewer(services, em, bearerToken(req.headers.authorization));
    if (!viewer) return fail(res, traceIdOf(res), 401, ErrorCode.UNAUTHENTICATED, 'Sign in to download');
    const found = await services.uploads.open(em, viewer, req.params.id);
    if (!found) return fail(res, traceIdOf(res), 404, ErrorCode.NOT_FOUND, 'No such file');
    // Images show in the browser; anything else (a PDF may carry scripts) is only ever downloaded.
    const disposition = found.upload.contentType.startsWith('image/') ? 'inline' : 'attachment';
    res
      .status(200)
      .set('Content-Type', found.upload.contentType)
      .set('Content-Length', String(found.upload.size))
      .set('Content-Disposition', `${disposition}; filename*=UTF-8''${rfc5987(found.upload.name)}`)
      .set('Content-Security-Policy', UPLOAD_CSP)
      .set('X-Content-Type-Options', 'nosniff')
      .set('Cache-Control', 'private, no-store');
    found.stream.on('error', () => res.destroy());
    found.stream.pipe(res);
  });

  return router;
}

/** A header value's ext-value (RFC 5987): encodeURIComponent leaves ' ( ) * as they are, which that grammar does not allow. */
function rfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function fail(res: Response, traceId: string | undefined, status: number, code: ErrorCode, message: string): void {
  if (res.headersSent || res.destroyed) return; // answered already, or the client is gone
  res.status(status).json({ errors: [{ message, extensions: { code, traceId } }] });
}
