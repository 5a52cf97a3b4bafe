import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort } from '../src/platform/net';

export { freePort };
import { startShiftDesk, ShiftDesk } from '../src/app';
import { createLogger } from '../src/platform/logger';

/** Helpers every benchmark shares: a self-contained server, the machine line, tables, percentiles. */

export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${raw})`);
  return n;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemGiB: number;
  /** 1-minute load average when the benchmark started: other work on the machine skews the figures. */
  loadAvg1m: number;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

export function describeMachine(m: Machine): string {
  return `machine: ${m.cpus} × ${m.cpuModel} (os.cpus().length = ${m.cpus}), ${m.totalMemGiB} GiB, node ${m.node} (${m.platform}), load average ${m.loadAvg1m} at start`;
}

/** The value below which `p` percent of the sorted sample lies (nearest-rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export interface BenchServer {
  app: ShiftDesk;
  url: string;
  adminEmail: string;
  adminPassword: string;
  /** Where the database lives, for the report. */
  database: 'embedded' | 'DATABASE_URL';
  stop(): Promise<void>;
}

/**
 * A ShiftDesk like `npm start` makes, in this process: DATABASE_URL when set, else an embedded PostgreSQL in a
 * temporary DATA_DIR (on a free port) that is deleted afterwards. Logging is off so it costs nothing.
 */
export async function startBenchServer(extraEnv: Record<string, string> = {}): Promise<BenchServer> {
  const usesUrl = Boolean(process.env.DATABASE_URL);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-bench-'));
  const adminPassword = process.env.ADMIN_PASSWORD || 'bench-admin-password';
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: usesUrl ? process.env.EMBEDDED_PG_PORT : String(await freePort()),
    ADMIN_PASSWORD: adminPassword,
    // Stopping (also on Ctrl-C while the load generator still runs) need not wait the production 10 s.
    SHUTDOWN_GRACE_MS: process.env.SHUTDOWN_GRACE_MS || '2000',
    ...extraEnv,
  };
  const config = loadConfig(env);
  let app: ShiftDesk;
  try {
    app = await startShiftDesk(config, { logger: createLogger('silent') });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      try {
        await app.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    })());
  // Ctrl-C during a run still stops PostgreSQL and removes the temporary DATA_DIR.
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the benchmark server\n`);
    stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  return {
    app,
    url: `http://127.0.0.1:${app.port}/graphql`,
    adminEmail: config.adminEmail,
    adminPassword,
    database: usesUrl ? 'DATABASE_URL' : 'embedded',
    stop,
  };
}

/** POSTs one GraphQL operation and fails loudly on any error. */
export async function gql<T>(url: string, query: string, variables?: unknown, token?: string): Promise<{ data: T; raw: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await res.text();
  const body = JSON.parse(raw) as { data?: T; errors?: unknown[] };
  if (res.status !== 200 || body.errors?.length) throw new Error(`GraphQL request failed (${res.status}): ${raw}`);
  return { data: body.data as T, raw };
}

/** Signs in over HTTP; the bearer token. */
export async function login(url: string, email: string, password: string): Promise<string> {
  const { data } = await gql<{ login: { token: string } }>(
    url,
    'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
    { e: email, p: password },
  );
  return data.login.token;
}

/**
 * The small desk most HTTP benchmarks start from: the admin signed in, one department, and `createUser`, which
 * creates a user (staff in that department, customers in none) and signs them in.
 */
export async function setUpDepartment(server: BenchServer, department: { name: string; code: string }) {
  const admin = await login(server.url, server.adminEmail, server.adminPassword);
  const { data } = await gql<{ createDepartment: { id: string } }>(
    server.url,
    'mutation ($input: CreateDepartmentInput!) { createDepartment(input: $input) { id } }',
    { input: department },
    admin,
  );
  const departmentId = data.createDepartment.id;
  const createUser = async (role: 'AGENT' | 'MANAGER' | 'CUSTOMER', extra: Record<string, unknown> = {}): Promise<string> => {
    const email = `${role.toLowerCase()}-${randomUUID().slice(0, 8)}@bench.local`;
    const input = {
      email,
      password: 'bench-password-1',
      displayName: email,
      role,
      departmentId: role === 'CUSTOMER' ? null : departmentId,
    };
    await gql(
      server.url,
      'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
      { input: { ...input, ...extra } },
      admin,
    );
    return login(server.url, email, 'bench-password-1');
  };
  return { admin, departmentId, createUser };
}
