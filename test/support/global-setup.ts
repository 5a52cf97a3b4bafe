import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/platform/logger';
import { startEmbeddedPostgres } from '../../src/platform/db/embedded-postgres';
import { freePort, waitForPort } from './ports';

/** Kept for callers that imported it from here; it lives in ./ports. */
export { freePort } from './ports';

/**
 * Once per `jest` run: a real PostgreSQL (embedded, on a free port, in a temp dir) and a real Redis
 * (REDIS_URL if set, else a `redis-server` from PATH on a free port). Without Redis the Redis suites
 * are skipped with a notice, except under CI=true, where a missing Redis fails the run.
 */
export default async function globalSetup(): Promise<void> {
  const logger = createLogger('warn');
  // Every temporary folder of the run (databases, DATA_DIRs, uploads, exports, rule files, nginx) goes below one
  // folder that the teardown removes: the workers and the processes they start inherit TMPDIR, which os.tmpdir()
  // reads. Readable by all, as the embedded PostgreSQL runs as `postgres` when the tests run as root.
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-jest-'));
  chmodSync(runDir, 0o755);
  process.env.TMPDIR = runDir;
  (globalThis as Record<string, unknown>).__SHIFTDESK_TMP__ = runDir;
  const dir = mkdtempSync(path.join(runDir, 'shiftdesk-test-pg-'));
  const pgPort = await freePort();
  const db = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: pgPort, password: 'test-password', logger });
  process.env.TEST_DATABASE_URL = db.url;
  (globalThis as Record<string, unknown>).__SHIFTDESK_PG__ = db;

  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
  } else if (spawnSync('redis-server', ['--version']).status === 0) {
    const redisPort = await freePort();
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    (globalThis as Record<string, unknown>).__SHIFTDESK_REDIS__ = redis;
    await waitForPort(redisPort, 5000, 'redis-server');
    process.env.TEST_REDIS_URL = `redis://127.0.0.1:${redisPort}`;
  } else if (process.env.CI === 'true') {
    throw new Error('CI=true but no Redis: set REDIS_URL or install redis-server (the Redis suites must run in CI)');
  } else {
    process.stdout.write('\nNOTICE: no Redis (REDIS_URL unset, no redis-server on PATH): the Redis/cluster suites are skipped.\n');
  }
}
