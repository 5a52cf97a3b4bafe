import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
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
const OWNER_FILE = 'jest-pid';
const GiB = 1024 ** 3;

/**
 * Run folders whose jest is gone (a run killed by Ctrl-C or a timeout never reaches its teardown) are removed, with
 * the PostgreSQL data in them; folders of runs still going (another worktree's) are left alone.
 */
function removeRunsOfDeadProcesses(tmp: string): void {
  for (const entry of readdirSync(tmp)) {
    if (!entry.startsWith('shiftdesk-jest-')) continue;
    const dir = path.join(tmp, entry);
    let owner: number;
    try {
      owner = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // no owner recorded: not ours to judge
    }
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) continue;
    const pidFile = readdirSync(dir)
      .filter((d) => d.startsWith('shiftdesk-test-pg-'))
      .map((d) => path.join(dir, d, 'pg', 'postmaster.pid'));
    // Its PostgreSQL may outlive the jest that started it: stop it (fast shutdown) before removing its files.
    for (const file of pidFile) {
      try {
        process.kill(Number(readFileSync(file, 'utf8').split('\n')[0]), 'SIGINT');
      } catch {
        // no lock file or no such process
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A run needs ~2 GB below TMPDIR; with less, PostgreSQL stops mid-run on a full disk, so say it up front. */
function warnWhenDiskIsShort(tmp: string): void {
  const { bavail, bsize } = statfsSync(tmp);
  const free = bavail * bsize;
  if (free < 3 * GiB) {
    process.stderr.write(`\nWARNING: only ${(free / GiB).toFixed(1)} GiB free in ${tmp}; a test run needs about 2 GiB.\n`);
  }
}

export default async function globalSetup(): Promise<void> {
  const logger = createLogger('warn');
  // Every temporary folder of the run (databases, DATA_DIRs, uploads, exports, rule files, nginx) goes below one
  // folder that the teardown removes: the workers and the processes they start inherit TMPDIR, which os.tmpdir()
  // reads. Readable by all, as the embedded PostgreSQL runs as `postgres` when the tests run as root.
  removeRunsOfDeadProcesses(os.tmpdir());
  warnWhenDiskIsShort(os.tmpdir());
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-jest-'));
  chmodSync(runDir, 0o755);
  writeFileSync(path.join(runDir, OWNER_FILE), String(process.pid));
  process.env.TMPDIR = runDir;
  (globalThis as Record<string, unknown>).__SHIFTDESK_TMP__ = runDir;
  const dir = mkdtempSync(path.join(runDir, 'shiftdesk-test-pg-'));
  const pgPort = await freePort();
  // PostgreSQL's own output goes to a file of the run, which the teardown reads for crashes (a backend killed,
  // a PANIC on a full disk) and prints: otherwise a CI run only shows "the database system is in recovery mode".
  const pgLog = path.join(runDir, 'postgres.log');
  (globalThis as Record<string, unknown>).__SHIFTDESK_PG_LOG__ = pgLog;
  const db = await startEmbeddedPostgres({
    dir: path.join(dir, 'pg'),
    port: pgPort,
    password: 'test-password',
    logger,
    // Throwaway data: no fsync, and WAL recycled early, so a run's PostgreSQL stays near 1.5 GB on disk instead of
    // growing ~1 GB of WAL on top (a CI machine with little free disk failed that way). Every test still runs on
    // the real server with its real semantics; only durability after a power cut is given up.
    settings: { fsync: 'off', full_page_writes: 'off', max_wal_size: '256MB', min_wal_size: '64MB' },
    onLog: (text) => appendFileSync(pgLog, text.endsWith('\n') ? text : `${text}\n`),
  });
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
