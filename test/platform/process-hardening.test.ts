import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { configSpec } from '../../src/config';
import { freePort, portIsFree } from '../support/ports';

/**
 * The process around the server, as an operator meets it: the guard of last resort in main.ts, `npm start`
 * and signals, a server killed with SIGKILL, a first start that fails. Real processes, the real embedded
 * PostgreSQL in a temporary DATA_DIR, the built code in dist/ (`npm run build` first; `npm test` does it).
 * Linux only (it reads /proc to find the processes).
 */
const REPO_ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(REPO_ROOT, 'dist', 'src');
const MAIN = path.join(DIST, 'main.js');
const ADMIN_EMAIL = 'admin@shiftdesk.local';
const PASSWORD_LINE = /^\s*password:\s+(\S+)\s*$/gm;
const FATAL_EXIT_CODE = 70;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

interface Proc {
  child: ChildProcess;
  /** stdout and stderr interleaved */
  output(): string;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** Exited, and its output is all read (a child that inherited the pipes may keep them open longer). */
  closed: Promise<Exit>;
}

function run(command: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; detached?: boolean }): Proc {
  const child = spawn(command, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env,
    detached: opts.detached,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    all += c.toString('utf8');
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString('utf8');
    all += c.toString('utf8');
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, output: () => all, stdout: () => out, stderr: () => err, exited, closed };
}

/** Everything a shell has, minus ShiftDesk's settings and what jest and `npm test` add, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name in configSpec || name.startsWith('npm_') || name.startsWith('TEST_')) delete env[name];
  delete env.JEST_WORKER_ID;
  delete env.NODE_ENV;
  return { ...env, ...extra };
}

function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    for (;;) {
      const value = await check();
      if (value) return value as NonNullable<T>;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${describe()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Every process below `pid` (Linux /proc). */
function descendantsOf(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    parent.set(Number(entry), parentOf(Number(entry))); // 0: ended while we looked
  }
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length;) {
    frontier = [...parent].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...frontier);
  }
  return found;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * Live PostgreSQL postmasters whose command line names `dir`. A child it has just forked (a backend, an autovacuum
 * worker) carries the same command line until it sets its title: such a child of a match is not counted.
 */
function postgresPidsFor(dir: string): number[] {
  const matches = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const argv = cmdline(pid);
      return argv.some((a) => /postgres$/.test(a)) && argv.includes(dir) && alive(pid);
    });
  return matches.filter((pid) => !matches.includes(parentOf(pid)));
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

async function ready(baseUrl: string, proc: Proc, timeoutMs = 90_000): Promise<void> {
  let exit: Exit | null = null;
  void proc.exited.then((e) => (exit = e));
  await until(
    'GET /readyz answering 200',
    async () => {
      if (exit) throw new Error(`the server exited (${JSON.stringify(exit)}) before it was ready\n${proc.output().slice(-4000)}`);
      try {
        return (await fetch(`${baseUrl}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    timeoutMs,
    () => `\n${proc.output().slice(-4000)}`,
  );
}

async function login(baseUrl: string, email: string, password: string): Promise<any> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { user { email role } } }',
      variables: { email, password },
    }),
  });
  return res.json();
}

function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before this test`);
});

describe('the process guard (installProcessGuard, installed by main.ts)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-guard-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A tiny program with the guard, the logger and the metrics of the built server, that fails as named
  // (logged with a trace id of its own), and would otherwise keep running (an interval, like a listening server).
  function guardedProgram(failure: 'rejection' | 'exception'): string {
    const file = path.join(dir, `${failure}.js`);
    const mod = (name: string) => JSON.stringify(path.join(DIST, 'platform', name));
    writeFileSync(
      file,
      `
      const { installProcessGuard } = require(${mod('process-guard.js')});
      const { createLogger } = require(${mod('logger.js')});
      const { Metrics } = require(${mod('metrics.js')});
      const metrics = new Metrics();
      installProcessGuard(createLogger('info'), metrics, async (kind) => {
        process.stderr.write('cleanup ran for ' + kind + '\\n');
        process.stderr.write(await metrics.registry.getSingleMetricAsString('shiftdesk_unhandled_errors_total'));
      });
      setInterval(() => {}, 1000);
      setTimeout(() => {
        ${failure === 'rejection' ? "Promise.reject(new Error('nobody handled this'));" : "throw new Error('nobody caught this');"}
      }, 10);
      `,
    );
    return file;
  }

  it.each([
    ['rejection', 'unhandledRejection', 'nobody handled this'],
    ['exception', 'uncaughtException', 'nobody caught this'],
  ] as const)(
    'an unhandled %s is logged with a trace id, counted, cleaned up after, and the process exits non-zero',
    async (failure, kind, message) => {
      const proc = run(process.execPath, [guardedProgram(failure)], { env: cleanEnv({}) });
      const exit = await withTimeout(proc.closed, 20_000, () => `still running\n${proc.output()}`);

      expect(exit).toEqual({ code: FATAL_EXIT_CODE, signal: null });
      const fatal = proc
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .filter((l) => l.level === 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ kind, traceId: expect.stringMatching(/^[0-9a-f]{32}$/), err: { message } });
      expect(proc.stderr()).toContain(`cleanup ran for ${kind}`);
      expect(proc.stderr()).toContain(`shiftdesk_unhandled_errors_total{kind="${kind}"} 1`);
    },
    30_000,
  );
});

describe('npm start, signals, SIGKILL and a failed first start, with the embedded PostgreSQL', () => {
  // Each test has its own DATA_DIR and ports (an Instance), and brings it to the state it is about itself,
  // so the tests hold in any order. DATA_DIR directly in the temp dir: as root, PostgreSQL runs as `postgres`,
  // who must reach DATA_DIR/pg.
  interface Instance {
    dataDir: string;
    pgDir: string;
    keptPasswordFile: string;
    pgPort: number;
    port: number;
  }
  const instances: Instance[] = [];

  async function newInstance(): Promise<Instance> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-hardening-data-'));
    const instance = {
      dataDir,
      pgDir: path.join(dataDir, 'pg'),
      keptPasswordFile: path.join(dataDir, 'first-admin-password.json'),
      pgPort: await freePort(),
      port: await freePort(),
    };
    instances.push(instance);
    return instance;
  }

  /** Processes carrying one of this suite's (unique, temporary) DATA_DIRs in their environment: npm, node, PostgreSQL. */
  function ourProcesses(): number[] {
    const ours = new Set(instances.map((i) => `DATA_DIR=${i.dataDir}`));
    return readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .filter((pid) => {
        try {
          return (
            alive(pid) &&
            readFileSync(`/proc/${pid}/environ`, 'utf8')
              .split('\0')
              .some((v) => ours.has(v))
          );
        } catch {
          return false;
        }
      });
  }

  /** Whatever a (failed) test left running: SIGKILL for npm and node, a fast shutdown for PostgreSQL. */
  async function killLeftovers(): Promise<void> {
    for (const pid of ourProcesses()) {
      try {
        process.kill(pid, cmdline(pid).some((a) => /postgres$/.test(a)) ? 'SIGINT' : 'SIGKILL');
      } catch {
        // gone
      }
    }
    await until('the leftovers of earlier tests to stop', () => ourProcesses().length === 0, 20_000).catch(() => undefined);
  }

  afterAll(async () => {
    await killLeftovers();
    for (const { dataDir } of instances) rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (i: Instance, extra: Record<string, string> = {}) =>
    cleanEnv({
      DATA_DIR: i.dataDir,
      PORT: String(i.port),
      HOST: '127.0.0.1',
      EMBEDDED_PG_PORT: String(i.pgPort),
      LOG_LEVEL: 'info',
      ...extra,
    });
  const baseUrl = (i: Instance) => `http://127.0.0.1:${i.port}`;

  function startNode(i: Instance): Proc {
    return run(process.execPath, ['--enable-source-maps', MAIN], { env: env(i) });
  }

  /** `npm start` in its own process group, as a terminal or a process manager runs it. The build is already
   * done (`--ignore-scripts` skips prestart), so other test files reading dist/ meanwhile are not disturbed. */
  function npmStart(i: Instance): Proc {
    return run('npm', ['start', '--ignore-scripts'], { env: env(i), detached: true });
  }

  /** A first start that fails after creating the admin (its port is taken); answers the password it printed. */
  async function failedFirstStart(i: Instance): Promise<{ password: string; stderr: string }> {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(i.port, '127.0.0.1', resolve));
    try {
      const p = startNode(i);
      const exit = await withTimeout(p.closed, 90_000, () => `still running with its port taken\n${p.output()}`);
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      const printed = [...p.stderr().matchAll(PASSWORD_LINE)].map((m) => m[1]);
      expect(printed).toHaveLength(1);
      return { password: printed[0], stderr: p.stderr() };
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }

  /** A server serving on a fresh instance (its first start: the password is printed and not needed here). */
  async function serving(i: Instance): Promise<Proc> {
    const server = startNode(i);
    await ready(baseUrl(i), server);
    return server;
  }

  it('a first start that fails after creating the admin (the port is taken) keeps the generated password in DATA_DIR, mode 0600', async () => {
    const i = await newInstance();
    const { password, stderr } = await failedFirstStart(i);
    expect(stderr).toContain(i.keptPasswordFile); // the message says where it is kept
    expect(JSON.parse(readFileSync(i.keptPasswordFile, 'utf8'))).toEqual({ email: ADMIN_EMAIL, password });
    expect(statSync(i.keptPasswordFile).mode & 0o777).toBe(0o600);
    // The failed start stopped its PostgreSQL.
    expect(postgresPidsFor(i.pgDir)).toEqual([]);
  }, 120_000);

  it('the next start shows that password again, it signs in, and the kept copy is gone', async () => {
    const i = await newInstance();
    const { password } = await failedFirstStart(i);
    const server = startNode(i);
    await ready(baseUrl(i), server);

    expect([...server.stderr().matchAll(PASSWORD_LINE)].map((m) => m[1])).toEqual([password]);
    expect(server.stderr()).toContain('during an earlier start that did not finish');
    const ok = await login(baseUrl(i), ADMIN_EMAIL, password);
    expect(ok.errors).toBeUndefined();
    expect(ok.data.login.user).toEqual({ email: ADMIN_EMAIL, role: 'ADMIN' });
    expect(existsSync(i.keptPasswordFile)).toBe(false);
    // The guard's counter is on /metrics from the start, at 0.
    const metrics = await (await fetch(`${baseUrl(i)}/metrics`)).text();
    expect(metrics).toContain('shiftdesk_unhandled_errors_total{kind="unhandledRejection"} 0');
    expect(metrics).toContain('shiftdesk_unhandled_errors_total{kind="uncaughtException"} 0');
    server.child.kill('SIGTERM');
    await withTimeout(server.exited, 40_000, () => `no exit after SIGTERM\n${server.output()}`);
  }, 180_000);

  it('a second server on the same DATA_DIR leaves the running one and its PostgreSQL alone, with a clear error', async () => {
    const i = await newInstance();
    const server = await serving(i);
    const postgresBefore = postgresPidsFor(i.pgDir);
    const second = run(process.execPath, [MAIN], { env: env(i, { PORT: String(await freePort()) }) });
    const exit = await withTimeout(second.closed, 60_000, () => `the second server kept running\n${second.output()}`);
    expect(exit.code).not.toBe(0);
    expect(second.output()).toContain('belongs to a running process');
    expect(postgresPidsFor(i.pgDir)).toEqual(postgresBefore);
    expect((await fetch(`${baseUrl(i)}/readyz`)).status).toBe(200);
    server.child.kill('SIGTERM');
    await withTimeout(server.exited, 40_000, () => `no exit after SIGTERM\n${server.output()}`);
  }, 180_000);

  it('after kill -9 of the server its PostgreSQL is left running, and the next start on the same DATA_DIR stops it and serves', async () => {
    const i = await newInstance();
    const first = await serving(i);
    const password = [...first.stderr().matchAll(PASSWORD_LINE)].map((m) => m[1])[0];
    first.child.kill('SIGKILL');
    await first.exited;
    // The leftover this is about: the postmaster of our data dir, still running, still holding its port.
    const leftovers = postgresPidsFor(i.pgDir);
    expect(leftovers.length).toBeGreaterThan(0);
    expect(await portIsFree(i.pgPort)).toBe(false);

    const server = startNode(i);
    await ready(baseUrl(i), server);
    expect(server.output()).toContain('stopping the embedded PostgreSQL an earlier ShiftDesk left running');
    expect(leftovers.filter(alive)).toEqual([]);
    const ok = await login(baseUrl(i), ADMIN_EMAIL, password);
    expect(ok.data?.login.user.role).toBe('ADMIN');
    // Started fine, so no password is shown any more.
    expect(server.stderr()).not.toMatch(PASSWORD_LINE);

    server.child.kill('SIGTERM');
    expect(await withTimeout(server.exited, 40_000, () => `no exit after SIGTERM\n${server.output()}`)).toEqual({ code: 0, signal: null });
    expect(postgresPidsFor(i.pgDir)).toEqual([]);
  }, 180_000);

  it('SIGTERM to the npm start process alone (a process manager signalling the top process) stops node and PostgreSQL', async () => {
    const i = await newInstance();
    const npm = npmStart(i);
    await ready(baseUrl(i), npm);
    const nodePids = descendantsOf(npm.child.pid!).filter((pid) => cmdline(pid).includes('dist/src/main.js'));
    expect(nodePids).toHaveLength(1);
    expect(postgresPidsFor(i.pgDir).length).toBeGreaterThan(0);

    npm.child.kill('SIGTERM');
    const exit = await withTimeout(npm.exited, 40_000, () => `npm did not exit\n${npm.output()}`);
    expect(exit).toEqual({ code: 0, signal: null });
    await until(
      'node and PostgreSQL to be gone',
      () => nodePids.every((pid) => !alive(pid)) && postgresPidsFor(i.pgDir).length === 0,
      30_000,
      () => `\nstill alive: ${[...nodePids, ...postgresPidsFor(i.pgDir)].filter(alive)}\n${npm.output().slice(-3000)}`,
    );
    expect(await portIsFree(i.port)).toBe(true);
    expect(await portIsFree(i.pgPort)).toBe(true);
    expect(existsSync(path.join(i.pgDir, 'postmaster.pid'))).toBe(false);
    await withTimeout(npm.closed, 10_000, () => 'output still open');
    expect(npm.output()).toContain('"msg":"stopped"');
  }, 120_000);

  it('Ctrl-C (SIGINT to the whole process group, which npm forwards to node once more) drains once and exits cleanly', async () => {
    const i = await newInstance();
    const npm = npmStart(i);
    await ready(baseUrl(i), npm);
    const nodePids = descendantsOf(npm.child.pid!).filter((pid) => cmdline(pid).includes('dist/src/main.js'));
    expect(nodePids).toHaveLength(1);

    process.kill(-npm.child.pid!, 'SIGINT');
    await withTimeout(npm.exited, 40_000, () => `npm did not exit\n${npm.output()}`);
    await until(
      'node and PostgreSQL to be gone',
      () => nodePids.every((pid) => !alive(pid)) && postgresPidsFor(i.pgDir).length === 0,
      30_000,
      () => `\n${npm.output().slice(-3000)}`,
    );
    await withTimeout(npm.closed, 10_000, () => 'output still open');
    // One orderly stop: no "second signal: exiting now", no forced exit.
    expect(npm.output()).toContain('"msg":"stopped"');
    expect(npm.output()).not.toContain('second signal');
    expect(npm.output()).not.toContain('shutdown took too long');
    expect(await portIsFree(i.port)).toBe(true);
    expect(await portIsFree(i.pgPort)).toBe(true);
  }, 120_000);
});
