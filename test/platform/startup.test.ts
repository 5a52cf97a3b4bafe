import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSpec } from '../../src/config';
import { freePort, portIsFree } from '../support/ports';

/**
 * The built server as `npm start` runs it: `node dist/src/main.js` in its own process, with the embedded
 * PostgreSQL (no DATABASE_URL) in a temporary DATA_DIR. Needs `npm run build` first.
 */
const MAIN = path.resolve(__dirname, '../../dist/src/main.js');
const DEFAULT_ADMIN_EMAIL = 'admin@shiftdesk.local';
const PASSWORD_LINE = /^\s*password:\s+(\S+)\s*$/gm;

/** PIDs of PostgreSQL processes whose command line names `dir` (Linux /proc). */
function postgresPidsFor(dir: string): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => /postgres$/.test(a)) && argv.includes(dir)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The environment of a shell with none of ShiftDesk's settings (nor the test run's), plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(configSpec)) delete env[name];
  for (const name of ['TEST_DATABASE_URL', 'TEST_REDIS_URL', 'JEST_WORKER_ID']) delete env[name];
  // `npm start` has no NODE_ENV; under jest's NODE_ENV=test some libraries (Apollo's own signal handlers,
  // for one) behave differently, which would hide how the real server shuts down.
  delete env.NODE_ENV;
  return { ...env, ...extra };
}

interface Server {
  child: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function launch(env: NodeJS.ProcessEnv, port: number, cwd: string): Server {
  const child = spawn(process.execPath, [MAIN], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, port, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
}

function describeOutput(server: Server): string {
  return `\n--- stderr ---\n${server.stderr().slice(-3000)}\n--- stdout (tail) ---\n${server.stdout().slice(-3000)}`;
}

async function waitUntilReady(server: Server, timeoutMs = 90_000): Promise<void> {
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  void server.exited.then((e) => (exited = e));
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (exited) throw new Error(`the server exited (${JSON.stringify(exited)}) before it was ready${describeOutput(server)}`);
    try {
      const res = await fetch(`${server.url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server was not ready within ${timeoutMs} ms${describeOutput(server)}`);
}

async function stop(server: Server, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  server.child.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms of SIGTERM${describeOutput(server)}`)), timeoutMs).unref(),
  );
  return Promise.race([server.exited, timeout]);
}

async function login(server: Server, email: string, password: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token user { email role } } }',
      variables: { email, password },
    }),
  });
  return { status: res.status, body: await res.json() };
}

/** Runs the server with a bad setting and collects what it says on the way out. */
async function runToExit(env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 20_000) {
  const server = launch(env, 0, cwd);
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => {
      server.child.kill('SIGKILL');
      reject(new Error(`still running after ${timeoutMs} ms${describeOutput(server)}`));
    }, timeoutMs).unref(),
  );
  const result = await Promise.race([server.exited, timeout]);
  return { ...result, stderr: server.stderr(), stdout: server.stdout() };
}

describe('the built server (node dist/src/main.js) with the embedded PostgreSQL', () => {
  // The working directory (empty: no .env). Each test has its own DATA_DIR and PostgreSQL port, so the tests
  // hold in any order. DATA_DIR sits directly in the temp dir: as root, PostgreSQL runs as the `postgres`
  // user, who must be able to reach DATA_DIR/pg (mkdtemp dirs are 0700).
  const root = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-startup-cwd-'));
  const instances: Instance[] = [];
  const started: Server[] = [];

  interface Instance {
    dataDir: string;
    pgDir: string;
    pgPort: number;
  }

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before this test`);
  });

  afterAll(async () => {
    // Whatever a failed test left running: our server processes, then the PostgreSQL of each data dir.
    for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    for (const { pgDir } of instances) {
      for (const pid of postgresPidsFor(pgDir)) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          // already gone
        }
      }
      for (let i = 0; i < 50 && postgresPidsFor(pgDir).length; i++) await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(root, { recursive: true, force: true });
    for (const { dataDir } of instances) rmSync(dataDir, { recursive: true, force: true });
  });

  /** An empty DATA_DIR and a free port for its PostgreSQL. */
  async function newInstance(): Promise<Instance> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-startup-data-'));
    const instance = { dataDir, pgDir: path.join(dataDir, 'pg'), pgPort: await freePort() };
    instances.push(instance);
    return instance;
  }

  async function start({ dataDir, pgPort }: Instance): Promise<Server> {
    const port = await freePort();
    const server = launch(
      cleanEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' }),
      port,
      root,
    );
    started.push(server);
    await waitUntilReady(server);
    return server;
  }

  /** The admin password a first start on `instance` printed (it stops that server again). */
  async function firstStart(instance: Instance): Promise<string> {
    const server = await start(instance);
    const printed = [...server.stderr().matchAll(PASSWORD_LINE)].map((m) => m[1]);
    expect(printed).toHaveLength(1);
    expect(await stop(server)).toEqual({ code: 0, signal: null });
    return printed[0];
  }

  it('starts on an empty DATA_DIR, becomes ready, and prints the generated admin password once, on stderr', async () => {
    const { pgDir, pgPort, ...instance } = await newInstance();
    const server = await start({ pgDir, pgPort, ...instance });

    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ postgres: 'ok' });

    const printed = [...server.stderr().matchAll(PASSWORD_LINE)].map((m) => m[1]);
    expect(printed).toHaveLength(1);
    const adminPassword = printed[0];
    expect(adminPassword.length).toBeGreaterThanOrEqual(12);
    expect(server.stderr()).toContain(DEFAULT_ADMIN_EMAIL);
    // Shown on stderr only, never in the (JSON) log on stdout.
    expect(server.stdout()).not.toContain(adminPassword);

    const ok = await login(server, DEFAULT_ADMIN_EMAIL, adminPassword);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.login.user).toEqual({ email: DEFAULT_ADMIN_EMAIL, role: 'ADMIN' });
    const wrong = await login(server, DEFAULT_ADMIN_EMAIL, `${adminPassword}x`);
    expect(wrong.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    expect(postgresPidsFor(pgDir).length).toBeGreaterThan(0);
    expect(await portIsFree(pgPort)).toBe(false);

    const exit = await stop(server);
    expect({ ...exit, warnings: server.stdout().match(/second signal[^"]*/g) ?? [] }).toEqual({ code: 0, signal: null, warnings: [] });
    // PostgreSQL was stopped before the process exited: nothing of it is left.
    expect(await portIsFree(pgPort)).toBe(true);
    expect(postgresPidsFor(pgDir)).toEqual([]);
    expect(existsSync(path.join(pgDir, 'postmaster.pid'))).toBe(false);
  }, 180_000);

  it('starts again on the same DATA_DIR: the same database and admin, and no new password printed', async () => {
    const instance = await newInstance();
    const { pgDir, pgPort } = instance;
    const adminPassword = await firstStart(instance);
    const server = await start(instance);

    expect(server.stderr()).not.toMatch(PASSWORD_LINE);
    expect(server.stdout()).toMatch(/"fresh":false/);
    const ok = await login(server, DEFAULT_ADMIN_EMAIL, adminPassword);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.login.user.role).toBe('ADMIN');

    const exit = await stop(server);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await portIsFree(pgPort)).toBe(true);
    expect(postgresPidsFor(pgDir)).toEqual([]);
  }, 180_000);

  it.each([
    ['PORT', 'abc'],
    ['BUSINESS_TZ', 'Mars/Base'],
    ['EMBEDDED_PG_PORT', '70000'],
  ])(
    'refuses to start with %s=%s, naming the variable, before touching DATA_DIR',
    async (name, value) => {
      const pgPort = await freePort();
      const untouched = path.join(root, `never-created-${name}`);
      const result = await runToExit(
        cleanEnv({ DATA_DIR: untouched, PORT: '0', HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info', [name]: value }),
        root,
      );
      expect(result.signal).toBeNull();
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stderr).toMatch(new RegExp(`\\b${name}\\b`));
      expect(result.stderr).toContain(value);
      expect(existsSync(untouched)).toBe(false);
    },
    60_000,
  );
});
