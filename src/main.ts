import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { startShiftDesk } from './app';
import { createLogger } from './platform/logger';

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
  const app = await startShiftDesk(config, { logger });

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
    app.stop().then(
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
