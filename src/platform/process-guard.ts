import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { newTraceId } from './trace';

/** EX_SOFTWARE (sysexits.h): an internal software error; a supervisor restarts the process. */
export const FATAL_EXIT_CODE = 70;

export type FatalKind = 'unhandledRejection' | 'uncaughtException';

/**
 * The last line of defence for the process entry (main.ts), not for the library: an unhandled rejection or
 * uncaught exception is logged with a new trace id (which request failed is not known here) and counted; the
 * process is then in an unknown state, so after `onFatal` (a short, best-effort cleanup, bounded by
 * `cleanupTimeoutMs`) it exits with FATAL_EXIT_CODE. Request paths handle their own errors; reaching this is a bug.
 * Returns a function that takes the guard off again.
 */
export function installProcessGuard(
  logger: Logger,
  metrics: Metrics,
  onFatal: (kind: FatalKind) => Promise<void>,
  opts: { cleanupTimeoutMs?: number } = {},
): () => void {
  let stopping = false;
  const handle = (kind: FatalKind) => (err: unknown) => {
    const traceId = newTraceId();
    metrics.unhandledErrors.inc({ kind });
    if (stopping) {
      logger.fatal({ err, kind, traceId }, `${kind} while stopping after an earlier one`);
      return;
    }
    stopping = true;
    logger.fatal({ err, kind, traceId }, `${kind}: the process is in an unknown state and stops (exit code ${FATAL_EXIT_CODE})`);
    const exit = () => process.exit(FATAL_EXIT_CODE);
    setTimeout(exit, opts.cleanupTimeoutMs ?? 5000);
    Promise.resolve()
      .then(() => onFatal(kind))
      .catch((cleanupErr) => logger.error({ err: cleanupErr, traceId }, 'error while stopping after a fatal error'))
      .finally(exit);
  };
  const onRejection = handle('unhandledRejection');
  const onException = handle('uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
