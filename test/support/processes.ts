import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { Client as WsClient, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ENCRYPTION_KEYS, GqlResult, JWT_SECRET } from './harness';
import { freePort } from './ports';

/** The repository root (where package.json and dist/ live). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/**
 * The compiled entry point `npm start` runs; `npm run build` (and `npm test`) produce it.
 * SHIFTDESK_SERVER_ENTRY points the cluster tests at another build (e.g. one outside the shared dist/).
 */
export const SERVER_ENTRY = process.env.SHIFTDESK_SERVER_ENTRY
  ? path.resolve(process.env.SHIFTDESK_SERVER_ENTRY)
  : path.join(REPO_ROOT, 'dist', 'src', 'main.js');

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` (no path). */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>/graphql` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/graphql` */
  readonly wsUrl: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<ExitInfo>;
  /** Null while it runs. */
  exitInfo(): ExitInfo | null;
  /** Everything it wrote to stdout and stderr so far (the last `maxOutputChars`), interleaved, for debugging. */
  output(): string;
  /**
   * SIGTERM, then waits up to `timeoutMs` for the exit; SIGKILLs it when that runs out (`killed: true`).
   * Idempotent: a process that already exited just reports how it exited.
   */
  stop(opts?: { timeoutMs?: number; signal?: NodeJS.Signals }): Promise<ExitInfo & { killed: boolean }>;
}

export interface StartServerOptions {
  /** Shown in errors and output dumps, e.g. "node-1". */
  name?: string;
  /** Environment on top of the minimal inherited one (PATH, HOME, ...). DATABASE_URL is required. */
  env: Record<string, string>;
  /** Listen port; a free one when omitted. */
  port?: number;
  /** How long to wait for GET /readyz to answer 200. */
  readyTimeoutMs?: number;
  /** Script to run; the compiled server by default. */
  entry?: string;
  maxOutputChars?: number;
}

/**
 * The environment every server process of a test cluster shares: the test JWT secret and admin, warn-level
 * logs, a fresh DATA_DIR. Pass the same `databaseUrl` (and REDIS_URL) to every process of one cluster.
 */
export function serverProcessEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-proc-data-')),
    JWT_SECRET,
    ENCRYPTION_KEYS,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    LOG_LEVEL: 'warn',
    DB_POOL_MAX: '5',
    ...extra,
  };
}

/** Only what node needs from the parent environment: a test's own variables never leak into the server's config. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'SYSTEMROOT'];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

/**
 * Spawns `node dist/src/main.js` (or `entry`) and waits until GET /readyz answers 200. If the process exits
 * or does not become ready in time, it is killed and the error carries its output.
 */
export async function startServerProcess(opts: StartServerOptions): Promise<ServerProcess> {
  const entry = opts.entry ?? SERVER_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\` first (\`npm test\` does)`);
  if (!opts.env.DATABASE_URL) throw new Error('startServerProcess: env.DATABASE_URL is required (use createTestDatabase())');
  const name = opts.name ?? 'server';
  const port = opts.port ?? (await freePort());
  const maxOutput = opts.maxOutputChars ?? 200_000;

  let out = '';
  const append = (stream: string) => (chunk: Buffer) => {
    const text = chunk
      .toString('utf8')
      .split('\n')
      .map((line, i, all) => (i === all.length - 1 && line === '' ? '' : `[${name} ${stream}] ${line}`))
      .join('\n');
    out += text;
    if (out.length > maxOutput) out = out.slice(out.length - maxOutput);
  };

  const child = spawn(process.execPath, ['--enable-source-maps', entry], {
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...opts.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', append('out'));
  child.stderr!.on('data', append('err'));

  let exit: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once('error', (err) => {
      out += `\n[${name}] spawn error: ${err.message}\n`;
      exit = { code: null, signal: null };
      resolve(exit);
    });
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  let stopping: Promise<ExitInfo & { killed: boolean }> | null = null;
  const proc: ServerProcess = {
    name,
    port,
    baseUrl,
    url: `${baseUrl}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    child,
    exited,
    exitInfo: () => exit,
    output: () => out,
    stop({ timeoutMs = 20_000, signal = 'SIGTERM' } = {}) {
      stopping ??= (async () => {
        if (exit) return { ...exit, killed: false };
        child.kill(signal);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first !== 'timeout') return { ...first, killed: false };
        out += `\n[${name}] did not exit within ${timeoutMs} ms of ${signal}: SIGKILL\n`;
        child.kill('SIGKILL');
        return { ...(await exited), killed: true };
      })();
      return stopping;
    },
  };

  try {
    await waitReady(proc, opts.readyTimeoutMs ?? 30_000);
  } catch (err) {
    await proc.stop({ timeoutMs: 2000, signal: 'SIGKILL' });
    throw new Error(`${name} did not become ready: ${(err as Error).message}\n--- output of ${name} ---\n${out}`, { cause: err });
  }
  return proc;
}

async function waitReady(proc: ServerProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < until) {
    const exit = proc.exitInfo();
    if (exit) throw new Error(`it exited (code ${exit.code}, signal ${exit.signal})`);
    try {
      const res = await fetch(`${proc.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `GET /readyz answered ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${timeoutMs} ms (${last})`);
}

/**
 * Stops every process (in parallel) and returns how each exited. Never throws, so it is safe in afterAll;
 * prints the output of any process that did not exit cleanly.
 */
export async function stopAll(
  procs: Array<ServerProcess | undefined>,
  opts?: { timeoutMs?: number },
): Promise<Array<ExitInfo & { killed: boolean }>> {
  const live = procs.filter((p): p is ServerProcess => Boolean(p));
  const results = await Promise.all(live.map((p) => p.stop(opts)));
  live.forEach((p, i) => {
    const r = results[i];
    if (r.code !== 0 || r.killed) process.stderr.write(`\n${p.name} exited with code ${r.code} signal ${r.signal}\n${p.output()}\n`);
  });
  return results;
}

/** POSTs one operation to a server process (or any GraphQL URL); never throws on GraphQL errors. */
export async function execAt<TData, TVars>(
  target: ServerProcess | string,
  doc: TypedDocumentNode<TData, TVars> | string,
  variables?: TVars,
  token?: string | null,
): Promise<GqlResult<TData>> {
  const url = typeof target === 'string' ? target : target.url;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: typeof doc === 'string' ? doc : print(doc), variables }),
  });
  const body = (await res.json()) as { data?: TData; errors?: GqlResult<TData>['errors'] };
  return { status: res.status, data: body.data, errors: body.errors, headers: res.headers };
}

/** Like execAt, but fails on any error and returns the data. */
export async function dataAt<TData, TVars>(
  target: ServerProcess | string,
  doc: TypedDocumentNode<TData, TVars> | string,
  variables?: TVars,
  token?: string | null,
): Promise<TData> {
  const res = await execAt(target, doc, variables, token);
  if (res.errors?.length)
    throw new Error(`GraphQL errors from ${typeof target === 'string' ? target : target.name}: ${JSON.stringify(res.errors, null, 2)}`);
  return res.data as TData;
}

/** A graphql-ws client of a server process, signed in with `token`; no retries, so a close is final. Dispose it yourself. */
export function wsClientAt(target: ServerProcess, token: string | null): WsClient {
  return createClient({
    url: target.wsUrl,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}
