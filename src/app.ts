import path from 'node:path';
import Redis, { RedisOptions } from 'ioredis';
import { Config, ConfigError } from './config';
import { parseKeyring } from './modules/records/keyring';
import { connectOrm, migrate } from './platform/db/orm';
import { EmbeddedDatabase, startEmbeddedPostgres } from './platform/db/embedded-postgres';
import { JobQueue } from './platform/jobs/job-queue';
import { createLogger, Logger } from './platform/logger';
import { Metrics } from './platform/metrics';
import { createMemoryPubSub, createRedisPubSub, PubSubPort } from './platform/realtime/pubsub';
import { RedisBreaker } from './platform/redis-breaker';
import {
  firstAdminPasswordFile,
  forgetFirstAdminPassword,
  KeptAdminPassword,
  keepFirstAdminPassword,
  loadLocalSecrets,
  readKeptFirstAdminPassword,
} from './platform/secrets';
import { createSchema } from './schema';
import { startHttpServer, RunningServer } from './server';
import { createServices, Services } from './services';

export interface ShiftDesk {
  services: Services;
  server: RunningServer;
  url: string;
  port: number;
  /** Drains requests and sockets, then closes Redis, the ORM and the embedded PostgreSQL. Idempotent. */
  stop(): Promise<void>;
  /**
   * After a fatal error (the process is in an unknown state): stops listening and stops the embedded
   * PostgreSQL cleanly, without draining anything else. The caller exits right after.
   */
  abort(): Promise<void>;
}

/** Everything `npm start` does: database (embedded unless DATABASE_URL), migrations, first admin, pub/sub, HTTP. */
export async function startShiftDesk(config: Config, opts: { logger?: Logger; metrics?: Metrics } = {}): Promise<ShiftDesk> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = opts.metrics ?? new Metrics();
  const needsLocalSecrets = !config.jwtSecret || !config.databaseUrl || !config.encryption.keyring;
  const secrets = needsLocalSecrets ? loadLocalSecrets(config.dataDir) : null;
  const keyring = config.encryption.keyring ?? parseKeyring(secrets!.encryptionKeys);

  let embedded: EmbeddedDatabase | null = null;
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({
        dir: path.join(config.dataDir, 'pg'),
        port: config.embeddedPgPort,
        password: secrets!.pgPassword,
        logger,
      });
      databaseUrl = embedded.url;
      cleanups.push(() => embedded!.stop());
    }

    const orm = await connectOrm({
      url: databaseUrl,
      poolMax: config.dbPoolMax,
      logger,
      metrics,
      timeoutMs: config.dbTimeoutMs,
      slowSqlMs: config.slowSqlMs,
    });
    cleanups.unshift(() => orm.close());
    await migrate(orm, databaseUrl, logger);

    let redis: Redis | null = null;
    let redisBreaker: RedisBreaker | null = null;
    let pubsub: PubSubPort;
    if (config.redisUrl) {
      // Commands (rate limits, presence, PUBLISH) fail at once while Redis is unreachable, and within the
      // timeout when it hangs: the in-process fallbacks answer instead of requests waiting on a queue.
      const commands: RedisOptions = {
        lazyConnect: true,
        enableReadyCheck: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: config.redisCommandTimeoutMs,
      };
      // The subscriber keeps its (UN)SUBSCRIBEs queued until Redis is back (ioredis then re-subscribes every
      // channel itself); rejecting them would fail subscriptions instead of resuming them.
      const subscriptions: RedisOptions = { lazyConnect: true, enableReadyCheck: true, maxRetriesPerRequest: null };
      redis = new Redis(config.redisUrl, commands);
      const publisher = new Redis(config.redisUrl, commands);
      const subscriber = new Redis(config.redisUrl, subscriptions);
      watchConnection(redis, 'commands', logger, metrics);
      watchConnection(publisher, 'publisher', logger, metrics);
      watchConnection(subscriber, 'subscriber', logger, metrics);
      await Promise.all([redis.connect(), publisher.connect(), subscriber.connect()]);
      redisBreaker = new RedisBreaker(config.redisBreaker, logger, metrics.registry);
      pubsub = createRedisPubSub(publisher, subscriber, {
        onPublishError: (err, topic) => logger.warn({ err, topic }, 'Redis publish failed'),
        guard: redisBreaker,
      });
      const r = redis;
      cleanups.unshift(() => closeRedis(r));
      // graphql-redis-subscriptions quits both connections; one still reconnecting would go on retrying after it.
      cleanups.unshift(async () => {
        await Promise.race([pubsub.close().catch(() => undefined), delay(1000)]);
        publisher.disconnect();
        subscriber.disconnect();
      });
    } else {
      pubsub = createMemoryPubSub();
    }

    const jobs = new JobQueue(databaseUrl, logger, config.jobs);
    const services = createServices({
      config,
      logger,
      metrics,
      orm,
      pubsub,
      redis,
      redisBreaker,
      jobs,
      keyring,
      jwtSecret: config.jwtSecret ?? secrets!.jwtSecret,
    });
    // A keyring lacking a master key still in use, or with another key under a used id, would leave texts unreadable.
    const keyProblems = await services.dataKeys.keyringProblems(orm.em.fork());
    if (keyProblems.length) {
      throw new ConfigError(
        `Invalid configuration:\n  ENCRYPTION_KEYS: ${keyProblems.join('; ')}. Give every process the same keyring, and keep a key until key rotation has re-wrapped its data keys (see encryptionStatus)`,
      );
    }
    // A generated password is kept in DATA_DIR until this start has completed: a start that fails after
    // creating the account (the port is taken, say) shows it again next time instead of losing it.
    const fromEarlierStart = readKeptFirstAdminPassword(config.dataDir);
    const generated = await services.accounts.ensureFirstAdmin(orm.em.fork(), config.adminEmail, config.adminPassword, logger, (password) =>
      keepFirstAdminPassword(config.dataDir, { email: config.adminEmail, password }),
    );
    const firstAdmin = generated ? { email: config.adminEmail, password: generated } : fromEarlierStart;
    if (firstAdmin) printFirstAdmin(firstAdmin, { earlierStart: !generated, file: firstAdminPasswordFile(config.dataDir) });

    await services.cache.start();
    cleanups.unshift(() => services.cache.stop());
    services.presence.start(services.scheduler);
    services.queueDrain.start(services.scheduler);
    cleanups.unshift(async () => services.queueDrain.stop());
    services.conversationSweeps.start(services.scheduler);
    services.shiftHandover.start(services.scheduler);
    services.firstReply.start(services.scheduler);
    services.tickets.start(services.scheduler);
    services.uploads.start(services.scheduler, config.uploads, () => orm.em.fork());
    services.piiBackfill.start(services.scheduler);
    services.keyRotation.start(services.scheduler);

    services.quality.reviews.start(services.scheduler);
    services.faqLearning.start(services.scheduler);
    services.scheduler.every('clients-report', config.operations.dashboardRefreshMs, () => services.connectedClients.report());
    services.dashboardPublisher.start(services.scheduler);
    services.alertEvaluator.start(services.scheduler);
    cleanups.unshift(() => services.connectedClients.stop());
    services.records.exports.start(services.scheduler);
    services.records.archive.start(services.scheduler);
    services.webhookDelivery.start(services.scheduler);
    cleanups.unshift(async () => services.conversationSweeps.stop());
    cleanups.unshift(() => services.scheduler.stop());
    cleanups.unshift(() => services.quality.inspection.idle());
    // After every service has defined its kinds of job; stopped before the ORM and the database.
    await jobs.start();
    cleanups.unshift(() => jobs.stop());

    const schema = await createSchema(pubsub);
    const server = await startHttpServer(services, schema);
    cleanups.unshift(() => server.drain());
    forgetFirstAdminPassword(config.dataDir); // shown by a start that serves: no longer kept

    let stopping: Promise<void> | null = null;
    return {
      services,
      server,
      url: server.url,
      port: server.port,
      stop() {
        stopping ??= runAll(cleanups, logger);
        return stopping;
      },
      async abort() {
        server.httpServer.close();
        server.httpServer.closeAllConnections();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await runAll(cleanups, logger);
    throw err;
  }
}

/**
 * quit() when connected (what was sent is answered first). A client that lost Redis keeps a reconnect timer that
 * quit() does not always clear (a stopped process then never exits on its own): disconnect() ends it either way.
 */
async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') await Promise.race([client.quit().catch(() => undefined), delay(1000)]);
  client.disconnect();
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

async function runAll(cleanups: Array<() => Promise<unknown>>, logger: Logger): Promise<void> {
  for (const fn of cleanups) {
    try {
      await fn();
    } catch (err) {
      logger.warn({ err }, 'error while stopping');
    }
  }
}

/**
 * Logs when a Redis connection is lost and when it is back (once each, not every reconnect attempt); ioredis
 * keeps reconnecting meanwhile. Without an 'error' listener ioredis would print each failed attempt.
 */
function watchConnection(client: Redis, role: string, logger: Logger, metrics: Metrics): void {
  let lost = false;
  client.on('ready', () => metrics.redisConnected.set({ connection: role }, 1));
  client.on('close', () => metrics.redisConnected.set({ connection: role }, 0));
  client.on('error', (err: Error) => {
    if (!lost) logger.debug({ err, role }, 'Redis connection error');
  });
  client.on('close', () => {
    if (lost || client.status === 'end') return;
    lost = true;
    logger.warn({ role }, 'Redis connection lost: rate limits and presence count in this process until it is back');
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.info({ role }, 'Redis connection back');
  });
}

function printFirstAdmin(admin: KeptAdminPassword, opts: { earlierStart: boolean; file: string }): void {
  // Deliberately on stderr and outside the JSON log.
  const when = opts.earlierStart ? ' during an earlier start that did not finish' : '';
  process.stderr.write(
    `\n  ShiftDesk created the first admin account${when}.\n    e-mail:   ${admin.email}\n    password: ${admin.password}\n  ` +
      `Keep it now: it is not shown again once this start has finished. (Set ADMIN_PASSWORD to choose it yourself.)\n  ` +
      `Until then it is kept in ${opts.file} (mode 0600), so a start that fails shows it again.\n\n`,
  );
}
