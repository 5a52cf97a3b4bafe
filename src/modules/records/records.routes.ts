import express, { Request, Response, Router } from 'express';
import { resolveViewer } from '../../context';
import { bearerToken } from '../../platform/auth/tokens';
import { localeNotice } from '../../platform/i18n/request-locale';
import { DomainError, ErrorCode } from '../../platform/errors';
import { traceIdOf } from '../../platform/trace';
import type { Services } from '../../services';
import { CONTENT_TYPES, EXTENSIONS } from './export-writer';

/** Nothing on these pages runs: no scripts, no requests of their own; styles inline. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/**
 * `GET /exports/:id`: an export's file, for its requester only (404 for anyone else, 410 once expired, 409
 * while it is being written). `GET /conversations/:id/transcript`: one conversation as printable HTML, for
 * its parties and staff in scope. Both take the bearer token.
 */
export function recordsRoutes(services: Services): Router {
  const router = express.Router();

  router.get('/exports/:id', async (req: Request<{ id: string }>, res) => {
    const em = services.orm.em.fork();
    const viewer = await resolveViewer(services, em, bearerToken(req.headers.authorization));
    if (!viewer) return fail(res, 401, ErrorCode.UNAUTHENTICATED, 'Sign in to download');
    try {
      const found = await services.records.exports.open(em, viewer, req.params.id);
      if (!found) return fail(res, 404, ErrorCode.NOT_FOUND, 'No such export');
      if (found === 'not-ready')
        return fail(res, 409, ErrorCode.CONFLICT, 'The export is not ready yet: follow exportProgress or exportJob');
      if (found.expired) return fail(res, 410, ErrorCode.NOT_FOUND, 'The export has expired and its file was deleted: ask for it again');
      const day = found.job.createdAt.toISOString().slice(0, 10);
      res
        .status(200)
        .set('Content-Type', CONTENT_TYPES[found.job.format])
        .set('Content-Length', String(found.size))
        .set(
          'Content-Disposition',
          `attachment; filename="conversations-${day}-${found.job.id.slice(0, 8)}.${EXTENSIONS[found.job.format]}"`,
        )
        .set('X-Content-Type-Options', 'nosniff')
        .set('Cache-Control', 'private, no-store');
      found.stream.on('error', () => res.destroy());
      found.stream.pipe(res);
    } catch (err) {
      failed(services, res, err);
    }
  });

  router.get('/conversations/:id/transcript', async (req: Request<{ id: string }>, res) => {
    const em = services.orm.em.fork();
    const viewer = await resolveViewer(services, em, bearerToken(req.headers.authorization));
    if (!viewer) return fail(res, 401, ErrorCode.UNAUTHENTICATED, 'Sign in to read a transcript');
    try {
      const requested = req.headers['accept-language'] ?? null;
      const { html, chosen } = await services.records.transcripts.render(em, viewer, req.params.id, requested);
      // An unsupported Accept-Language falls back, and says so as GraphQL's extensions.locale does.
      if (chosen.unsupported) res.set('X-Locale-Notice', JSON.stringify(localeNotice(chosen)));
      res
        .status(200)
        .set('Content-Type', 'text/html; charset=utf-8')
        .set('Content-Language', chosen.locale)
        .set('Vary', 'Accept-Language')
        .set('Content-Security-Policy', PAGE_CSP)
        .set('X-Content-Type-Options', 'nosniff')
        .set('Cache-Control', 'private, no-store')
        .send(html);
    } catch (err) {
      failed(services, res, err);
    }
  });

  return router;
}

const STATUS: Partial<Record<string, number>> = { [ErrorCode.NOT_FOUND]: 404, [ErrorCode.FORBIDDEN]: 403, [ErrorCode.BAD_USER_INPUT]: 400 };

function failed(services: Services, res: Response, err: unknown): void {
  if (err instanceof DomainError) {
    const code = String(err.extensions.code);
    return fail(res, STATUS[code] ?? 409, code as ErrorCode, err.message);
  }
  services.logger.error({ err, traceId: traceIdOf(res) }, 'records route failed');
  fail(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
}

function fail(res: Response, status: number, code: ErrorCode, message: string): void {
  if (res.headersSent || res.destroyed) return;
  res.status(status).json({ errors: [{ message, extensions: { code, traceId: traceIdOf(res) } }] });
}
