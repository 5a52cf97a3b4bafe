/**
 * Over ~400 lines on purpose: one benchmark that sets up a whole peak (thousands of customer and agent sockets,
 * a CPU burner, one or two server processes with Redis, PostgreSQL's and Redis's CPU read from /proc) and
 * prints one table; its phases share the fixture and the measuring helpers, and split apart they would only
 * pass them around.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { hashPassword } from '../src/platform/auth/passwords';
import { Role } from '../src/platform/auth/roles';
import { TokenService } from '../src/platform/auth/tokens';
import { startEmbeddedPostgres } from '../src/platform/db/embedded-postgres';
import { createLogger } from '../src/platform/logger';
import { burnFraction, startBurner } from './realtime-burn';
import { describeMachine, envInt, freePort, machine, percentile, round, table } from './support';

/**
 * `npm run bench -- realtime`: one ShiftDesk process holding BENCH_CUSTOMERS (5,000) customer and BENCH_AGENTS
 * (500) agent graphql-ws connections in 1:1 conversations, each customer's made by requestService and routed
 * to an agent (maxConcurrentChats = customers ÷ agents). Customers subscribe to conversationEvents, agents to
 * inbox. Then messages at each rate of BENCH_RATES ("200,1000") per second for BENCH_SECONDS (20) each,
 * sent as the sendMessage mutation over the sender's own graphql-ws socket (90 % customer → agent, 10 %
 * agent → customer: BENCH_AGENT_SHARE), each stored and delivered; the content carries its send time, and
 * the receiver's clock (this process: sender and receiver live here) gives send-to-receive latency.
 *
 * The same run measures a bare `ws` relay (bench/realtime-relay.ts: parse, forward to the peer, answer the
 * sender; no storage, no GraphQL) with the same connections and the same send pattern, and prints the ratio.
 * Then both again as two processes with Redis (customers on process 1, agents on process 2), unless
 * BENCH_CLUSTER=0 or no Redis can be had (REDIS_URL, else `redis-server` from PATH on a free port);
 * BENCH_CLUSTER=only runs just the two processes.
 *
 * Every server is a child process (`node dist/src/main.js`, `node dist/bench/realtime-relay.js`) with
 * bench/realtime-probe.ts preloaded, which answers an IPC probe with process.memoryUsage() after a full GC:
 * memory per connection is the growth of that over the connections. One embedded PostgreSQL, started here
 * in a temporary directory, serves every ShiftDesk process (a fresh database per topology).
 *
 * The load is open-loop at a fixed aggregate rate; a server that cannot keep up is reported with the rate it
 * achieved and the backlog it left (in flight at most BENCH_MAX_IN_FLIGHT_SECONDS (5) × rate; beyond that,
 * messages are not sent and counted as such). Each phase drains for at most BENCH_DRAIN_SECONDS (15), then
 * waits at most BENCH_SETTLE_SECONDS (60) more for every send to be answered, so the next starts clean.
 * The relay does less than ShiftDesk by design: no storage, no GraphQL, and no echo of a customer's message
 * to the customer's own subscription (ShiftDesk's conversationEvents carries it; it is counted apart).
 *
 * BENCH_BURN (e.g. 0.25): while the messages flow, a child process busy-loops that fraction of every 100 ms
 * (bench/realtime-burn.ts), so the figures show the headroom left beside another busy process; its real CPU
 * is printed. CPU per message (server, PostgreSQL, Redis) is their CPU over a phase and its drain ÷ the
 * messages answered: much less sensitive to a loaded machine than latency.
 *
 * Other knobs: BENCH_WARMUP_SECONDS (3), BENCH_SETUP_CONCURRENCY (8 requestService at once),
 * BENCH_CONNECT_CONCURRENCY (100), BENCH_DB_POOL_MAX (20), CHAT_APPEND_WINDOW_MS (passed to the servers), BENCH_RELAY=0, BENCH_WARMUP_SOCKETS (10 sockets opened and
 * closed before the first memory probe), BENCH_BALANCED_BLOCK (250 second sockets per block for memory per
 * connection with the order of kinds balanced, see balancedMemory; 0: not measured). Diagnostics: BENCH_SERVER_ENTRY
 * (another build of main.js), BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or
 * "--trace-gc"), BENCH_SERVER_LOG (a file for the servers' output), BENCH_LATENCY_CSV (every message's send
 * time and latency), BENCH_HEAP_SNAPSHOT (a directory: heap snapshots once all connections are open).
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** BENCH_SERVER_ENTRY runs another build of the server (e.g. a copy of dist/ from before a change), to compare. */
const SERVER_ENTRY = process.env.BENCH_SERVER_ENTRY
  ? path.resolve(process.env.BENCH_SERVER_ENTRY)
  : path.join(REPO_ROOT, 'dist', 'src', 'main.js');
const RELAY_ENTRY = path.join(REPO_ROOT, 'dist', 'bench', 'realtime-relay.js');
const PROBE = path.join(REPO_ROOT, 'dist', 'bench', 'realtime-probe.js');
const JWT_TTL = '12h';
/** The V8 flags `npm start` runs the server with (read from package.json), so the figures are those of the real start. */
const START_NODE_FLAGS = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(/\s+/)
  .filter((arg) => /^--(max-semi-space-size=|min-semi-space-size=|heap-growing-percent=|no-allocation-site-pretenuring$)/.test(arg));
const ADMIN_PASSWORD = 'bench-admin-password';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const started = now();
const log = (msg: string) => process.stderr.write(`[realtime ${((now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);

// ---------------------------------------------------------------------------------------------- settings

interface Settings {
  customers: number;
  agents: number;
  rates: number[];
  seconds: number;
  warmupSeconds: number;
  drainSeconds: number;
  settleSeconds: number;
  maxInFlightSeconds: number;
  agentShare: number;
  setupConcurrency: number;
  connectConcurrency: number;
  cluster: boolean;
  /** BENCH_CLUSTER=only: the two processes + Redis, without the one-process run before them. */
  clusterOnly: boolean;
  relay: boolean;
  /** BENCH_BURN: the fraction of one core a busy child process holds during the load (0: none). */
  burn: number;
  dbPoolMax: number;
  /** RATE_SEND_MESSAGE_PER_MINUTE for the ShiftDesk processes, when the load needs more than the default 30. */
  sendLimitPerMinute: number | null;
  /** CHAT_APPEND_WINDOW_MS for the ShiftDesk processes, when set here (else their default). */
  appendWindowMs: string | null;
  /** Extra node arguments for the ShiftDesk processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
  serverNodeArgs: string[];
  /** Notes on anything scaled or changed from the defaults, printed with the results. */
  notes: string[];
}

function settings(): Settings {
  const notes: string[] = [];
  const rates = (process.env.BENCH_RATES || '200,1000').split(',').map((r) => Number(r.trim()));
  if (!rates.length || rates.some((r) => !Number.isInteger(r) || r < 1 || r > 100_000)) {
    throw new Error(`BENCH_RATES must be comma-separated integers from 1 to 100000 (got ${process.env.BENCH_RATES})`);
  }
  const share =
    process.env.BENCH_AGENT_SHARE === undefined || process.env.BENCH_AGENT_SHARE === '' ? 0.1 : Number(process.env.BENCH_AGENT_SHARE);
  if (!(share >= 0 && share <= 1)) throw new Error('BENCH_AGENT_SHARE must be a number from 0 to 1');
  const s: Settings = {
    customers: envInt('BENCH_CUSTOMERS', 5000),
    agents: envInt('BENCH_AGENTS', 500),
    rates,
    seconds: envInt('BENCH_SECONDS', 20),
    warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 3, 0),
    drainSeconds: envInt('BENCH_DRAIN_SECONDS', 15),
    settleSeconds: envInt('BENCH_SETTLE_SECONDS', 60, 0),
    maxInFlightSeconds: envInt('BENCH_MAX_IN_FLIGHT_SECONDS', 5),
    agentShare: share,
    setupConcurrency: envInt('BENCH_SETUP_CONCURRENCY', 8),
    connectConcurrency: envInt('BENCH_CONNECT_CONCURRENCY', 100),
    cluster: process.env.BENCH_CLUSTER !== '0' && process.env.BENCH_CLUSTER !== 'false',
    clusterOnly: process.env.BENCH_CLUSTER === 'only',
    relay: process.env.BENCH_RELAY !== '0' && process.env.BENCH_RELAY !== 'false',
    burn: burnFraction(),
    serverNodeArgs: [...START_NODE_FLAGS, ...(process.env.BENCH_SERVER_NODE_ARGS || '').split(/\s+/).filter(Boolean)],
    dbPoolMax: envInt('BENCH_DB_POOL_MAX', 20),
    sendLimitPerMinute: null,
    appendWindowMs: process.env.CHAT_APPEND_WINDOW_MS || null,
    notes,
  };
  if (s.appendWindowMs !== null) notes.push(`the servers run with CHAT_APPEND_WINDOW_MS=${s.appendWindowMs}`);
  // Every process holds at most customers + agents sockets, plus its own files, pools and pipes.
  const limit = fdLimit();
  const needed = s.customers + s.agents + 300;
  if (limit.soft !== Infinity && limit.soft < needed) {
    const fit = Math.max(2, limit.soft - 300);
    const customers = Math.max(1, Math.floor((fit * s.customers) / (s.customers + s.agents)));
    const agents = Math.max(1, Math.min(s.agents, fit - customers));
    notes.push(
      `SCALED DOWN: ulimit -n is ${limit.soft} here (hard ${limit.hard}), ${needed} descriptors are needed for ${s.customers} + ${s.agents} sockets; ` +
        `this process cannot raise its own limit, so the run uses ${customers} customers and ${agents} agents (raise \`ulimit -n\` before npm run bench for the full size)`,
    );
    s.customers = customers;
    s.agents = agents;
  }
  if (s.customers < s.agents)
    throw new Error('BENCH_CUSTOMERS must be at least BENCH_AGENTS (1:1 conversations, every agent holds one or more)');
  // Each sender's messages per minute at the highest rate (the load is spread evenly over the conversations).
  const top = Math.max(...s.rates);
  const perMinute = Math.max((top * (1 - s.agentShare) * 60) / s.customers, (top * s.agentShare * 60) / s.agents);
  const DEFAULT_SEND_LIMIT = 30;
  if (perMinute * 2 > DEFAULT_SEND_LIMIT) {
    s.sendLimitPerMinute = Math.ceil(perMinute * 3);
    notes.push(
      `at ${top}/s each sender sends up to ${round(perMinute, 1)} messages a minute, near or over the default limit of ${DEFAULT_SEND_LIMIT}: ` +
        `the servers run with RATE_SEND_MESSAGE_PER_MINUTE=${s.sendLimitPerMinute}`,
    );
  }
  return s;
}

function fdLimit(): { soft: number; hard: number } {
  const read = (flag: string) => {
    const out = spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).stdout.trim();
    return out === 'unlimited' ? Infinity : Number(out) || 1024;
  };
  return { soft: read('-Sn'), hard: read('-Hn') };
}

// -------------------------------------------------------------------------------------------- cleanups

/** Everything started is registered here and undone in reverse order, on success, failure or Ctrl-C. */
class Cleanup {
  private readonly fns: Array<{ name: string; fn: () => Promise<unknown> | unknown }> = [];
  private running: Promise<void> | null = null;

  add(name: string, fn: () => Promise<unknown> | unknown): () => Promise<void> {
    const entry = { name, fn };
    this.fns.push(entry);
    // Returns an early "undo now" that also takes the entry off the list.
    return async () => {
      const i = this.fns.indexOf(entry);
      if (i >= 0) this.fns.splice(i, 1);
      await entry.fn();
    };
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.fns.length) {
        const { name, fn } = this.fns.pop()!;
        try {
          await fn();
        } catch (err) {
          process.stderr.write(`cleanup of ${name} failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }
}

// ------------------------------------------------------------------------------------- child processes

interface MemProbe {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Physical size of V8's young generation (semi-spaces), in bytes. */
  newSpace: number;
  gc: boolean;
}

interface ServerChild {
  name: string;
  pid: number;
  port: number;
  child: ChildProcess;
  output(): string;
  probe(): Promise<MemProbe>;
  /** Writes a V8 heap snapshot of the server process to `file` (diagnostics). */
  heapSnapshot(file: string): Promise<void>;
  stop(): Promise<void>;
}

/** Only what node needs from this environment: the bench's own variables never leak into a server's config. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

async function startChild(
  cleanup: Cleanup,
  opts: { name: string; script: string; env: Record<string, string>; readyPath: string; readyTimeoutMs: number; nodeArgs?: string[] },
): Promise<ServerChild> {
  if (!existsSync(opts.script)) throw new Error(`${opts.script} does not exist: run \`npm run build\` first (npm run bench does)`);
  const port = await freePort();
  const args = ['--expose-gc', ...(opts.nodeArgs ?? []), '-r', PROBE, opts.script];
  // The servers hold as many sockets as the load generator: raise their soft limit to the hard one if needed.
  const { soft, hard } = fdLimit();
  const raise = soft !== Infinity && soft < hard;
  const child = raise
    ? spawn(
        '/bin/sh',
        ['-c', `ulimit -n ${hard === Infinity ? 'unlimited' : hard} 2>/dev/null; exec "$@"`, 'sh', process.execPath, ...args],
        {
          cwd: REPO_ROOT,
          env: { ...baseEnv(), ...opts.env, PORT: String(port), HOST: '127.0.0.1' },
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        },
      )
    : spawn(process.execPath, args, {
        cwd: REPO_ROOT,
        env: { ...baseEnv(), ...opts.env, PORT: String(port), HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
  let out = '';
  // BENCH_SERVER_LOG: a file that also receives every server process's output (e.g. with --trace-gc in BENCH_SERVER_NODE_ARGS).
  const logFile = process.env.BENCH_SERVER_LOG;
  const append = (chunk: Buffer) => {
    if (logFile)
      appendFileSync(logFile, chunk.toString('utf8').replace(/^(?=.)/gm, `[${opts.name} ${((now() - started) / 1000).toFixed(1)} s] `));
    out += chunk.toString('utf8');
    if (out.length > 100_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      out += `\nspawn error: ${err.message}\n`;
      exited = { code: null, signal: null };
      resolve();
    });
  });

  const probes = new Map<number, (p: MemProbe) => void>();
  let probeId = 0;
  child.on('message', (m: { type?: string; id?: number } & MemProbe) => {
    if ((m?.type === 'probe' || m?.type === 'heapsnapshot') && typeof m.id === 'number') probes.get(m.id)?.(m);
  });
  const ask = <T>(message: Record<string, unknown>, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const id = ++probeId;
      const timer = setTimeout(() => {
        probes.delete(id);
        reject(new Error(`${opts.name}: no answer to ${String(message.type)} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      probes.set(id, (p) => {
        clearTimeout(timer);
        probes.delete(id);
        resolve(p as T);
      });
      child.send({ ...message, id });
    });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    })());
  cleanup.add(opts.name, stop);

  const server: ServerChild = {
    name: opts.name,
    pid: child.pid!,
    port,
    child,
    output: () => out,
    stop,
    probe: async () => {
      const m = await ask<MemProbe>({ type: 'probe' }, 30_000);
      log(
        `${opts.name}: RSS ${MiB(m.rss)} MiB, heap ${MiB(m.heapUsed)} MiB, young generation ${MiB(m.newSpace)} MiB, external ${MiB(m.external)} MiB`,
      );
      return m;
    },
    heapSnapshot: async (file) => {
      await ask({ type: 'heapsnapshot', file }, 300_000);
    },
  };

  const until = now() + opts.readyTimeoutMs;
  let last = 'no answer yet';
  while (now() < until) {
    if (exited) break;
    try {
      const res = await fetch(`http://127.0.0.1:${port}${opts.readyPath}`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return server;
      last = `${opts.readyPath} answered ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`${opts.name} did not become ready (${exited ? `exited: ${JSON.stringify(exited)}` : last})\n--- output ---\n${out}`);
}

// -------------------------------------------------------------------------------------- CPU accounting

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of a process in ms, and its parent pid (from /proc/<pid>/stat); null when it is gone. */
function procStat(pid: number): { cpuMs: number; ppid: number } | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(fields[1]), cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK };
  } catch {
    return null;
  }
}

/**
 * CPU of a process and all its children (PostgreSQL: the postmaster and its backends), never going down: a
 * child that exited keeps the CPU it was last seen with (else the sum would drop when a backend ends).
 * Read every 250 ms while a phase runs (`watchTree`), so short-lived children are seen too.
 */
const treeSeen = new Map<number, Map<number, number>>();
function treeCpuMs(rootPid: number | null): number {
  if (!rootPid) return 0;
  const root = procStat(rootPid);
  if (!root) return 0;
  let seen = treeSeen.get(rootPid);
  if (!seen) treeSeen.set(rootPid, (seen = new Map()));
  seen.set(rootPid, root.cpuMs);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st && st.ppid === rootPid) seen.set(Number(entry), Math.max(st.cpuMs, seen.get(Number(entry)) ?? 0));
  }
  let total = 0;
  for (const ms of seen.values()) total += ms;
  return total;
}

function watchTree(rootPid: number | null): () => void {
  const timer = setInterval(() => treeCpuMs(rootPid), 250);
  return () => clearInterval(timer);
}

function machineCpu(): { busy: number; total: number } {
  const [, ...nums] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const v = nums.map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

// ---------------------------------------------------------------------------------- graphql-ws client

type OpHandlers = { next?: (payload: GqlPayload) => void; error?: (payload: unknown) => void; complete?: () => void };
interface GqlPayload {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/**
 * A minimal graphql-transport-ws client (the protocol graphql-ws speaks): one socket, many operations.
 * Lighter than graphql-ws's client, so 5,500 of them leave the load generator's CPU to the load.
 */
/**
 * Opens a socket, sends `hello` and resolves once a message passes `isAck`; fails (and terminates the socket)
 * on a close before it or after `timeoutMs`. The ShiftDesk and relay clients differ only in these messages.
 */
function handshake(
  url: string,
  opts: { protocol?: string; hello: unknown; isAck: (msg: unknown) => boolean; ackName: string; timeoutMs: number },
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = opts.protocol
      ? new WebSocket(url, opts.protocol, { perMessageDeflate: false })
      : new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', () => undefined); // 'close' follows and says what happened
    const fail = (why: string) => {
      clearTimeout(timer);
      ws.off('message', first);
      ws.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no ${opts.ackName} within ${opts.timeoutMs} ms`), opts.timeoutMs);
    const first = (data: WebSocket.RawData) => {
      if (!opts.isAck(JSON.parse(String(data)))) return;
      clearTimeout(timer);
      ws.off('message', first);
      ws.off('close', onClose);
      resolve(ws);
    };
    const onClose = (code: number, reason: Buffer) => fail(`closed with ${code} ${String(reason)} before ${opts.ackName}`);
    ws.on('message', first);
    ws.once('close', onClose);
    ws.once('open', () => ws.send(JSON.stringify(opts.hello)));
  });
}

class GqlSocket {
  private readonly ops = new Map<string, OpHandlers>();
  private seq = 0;
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  static async open(url: string, token: string, timeoutMs = 30_000): Promise<GqlSocket> {
    const ws = await handshake(url, {
      protocol: 'graphql-transport-ws',
      hello: { type: 'connection_init', payload: { authorization: `Bearer ${token}` } },
      isAck: (msg) => (msg as { type?: string }).type === 'connection_ack',
      ackName: 'connection_ack',
      timeoutMs,
    });
    return new GqlSocket(ws);
  }

  subscribe(query: string, variables: Record<string, unknown>, handlers: OpHandlers): string {
    const id = (++this.seq).toString(36);
    this.ops.set(id, handlers);
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    return id;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }

  private onMessage(raw: string): void {
    const msg = JSON.parse(raw) as { type: string; id?: string; payload?: unknown };
    switch (msg.type) {
      case 'next':
        this.ops.get(msg.id!)?.next?.(msg.payload as GqlPayload);
        break;
      case 'error': {
        const h = this.ops.get(msg.id!);
        this.ops.delete(msg.id!);
        h?.error?.(msg.payload);
        break;
      }
      case 'complete': {
        const h = this.ops.get(msg.id!);
        this.ops.delete(msg.id!);
        h?.complete?.();
        break;
      }
      case 'ping':
        this.ws.send('{"type":"pong"}');
        break;
    }
  }
}

/** A client of the bare relay. */
class RelaySocket {
  private readonly acks = new Map<number, (code: string | null) => void>();
  private seq = 0;
  closed: { code: number; reason: string } | null = null;
  onMsg: ((body: string) => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { t: string; id?: number; body?: string };
      if (msg.t === 'ok') {
        const ack = this.acks.get(msg.id!);
        this.acks.delete(msg.id!);
        ack?.(null);
      } else if (msg.t === 'msg') {
        this.onMsg?.(msg.body ?? '');
      }
    });
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  static async open(url: string, userId: string, timeoutMs = 30_000): Promise<RelaySocket> {
    const ws = await handshake(url, {
      hello: { t: 'init', u: userId },
      isAck: (msg) => (msg as { t?: string }).t === 'ack',
      ackName: 'ack',
      timeoutMs,
    });
    return new RelaySocket(ws);
  }

  send(to: string, body: string, ack: (code: string | null) => void): void {
    const id = ++this.seq;
    this.acks.set(id, ack);
    this.ws.send(JSON.stringify({ t: 'msg', id, to, body }));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }
}

/** Runs fn(0..n-1) with at most `concurrency` at once; the first failure stops the rest and is thrown. */
async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>, progress?: (done: number) => void): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  let done = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null && next < n) {
      const i = next++;
      try {
        out[i] = await fn(i);
      } catch (err) {
        failed ??= err;
        return;
      }
      done += 1;
      progress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  if (failed !== null) throw failed;
  return out;
}

/**
 * pool() in two steps with `between` after the first tenth: the memory of the rest is then the cost of a
 * connection alone, without what the first connections of a kind allocate once (pool connections, code).
 */
async function poolInTwo<T>(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
  progress: (done: number) => void,
  between: () => Promise<void>,
): Promise<T[]> {
  const first = Math.max(1, Math.round(n / 10));
  const head = await pool(first, concurrency, fn, progress);
  await between();
  const rest = await pool(
    n - first,
    concurrency,
    (i) => fn(first + i),
    (done) => progress(first + done),
  );
  return [...head, ...rest];
}

const every = (step: number, what: string, total: number) => (done: number) => {
  if (done % step === 0 || done === total) log(`${what}: ${done}/${total}`);
};

// ------------------------------------------------------------------------------------------ the load

/** One 1:1 conversation: customer i (index), agent j (index) and, for ShiftDesk, the conversation's id. */
interface Conv {
  customer: number;
  agent: number;
  id: string;
}

/** How a topology carries one message; `ack` is called once with null (stored / relayed) or an error code. */
interface Transport {
  send(conv: Conv, fromAgent: boolean, content: string, ack: (code: string | null) => void): void;
}

/** Every message gets a number k; its content is `m:<k>:<send time, ms since the epoch>`. */
class Recorder {
  readonly sentAt: Float64Array;
  readonly latency: Float64Array;
  readonly ackLatency: Float64Array;
  k = 0;
  phaseStart = 0;
  phaseDelivered = 0;
  delivered = 0;
  duplicates = 0;
  stray = 0;
  echoes = 0;
  /** Sends not yet answered (over all phases), and sends answered without an error. */
  inFlight = 0;
  ackedOk = 0;

  constructor(readonly capacity: number) {
    this.sentAt = new Float64Array(capacity);
    this.latency = new Float64Array(capacity).fill(-1);
    this.ackLatency = new Float64Array(capacity).fill(-1);
  }

  /** The addressee received a message: latency from the send time its content carries. */
  receive(content: string): void {
    const at = now();
    const colon = content.indexOf(':', 2);
    const k = content.startsWith('m:') && colon > 0 ? Number(content.slice(2, colon)) : NaN;
    if (!Number.isInteger(k) || k < 0 || k >= this.k) {
      this.stray += 1;
      return;
    }
    if (this.latency[k] >= 0) {
      this.duplicates += 1;
      return;
    }
    this.latency[k] = at - Number(content.slice(colon + 1));
    this.delivered += 1;
    if (k >= this.phaseStart) this.phaseDelivered += 1;
  }
}

const agentSide = (k: number, share: number) => share > 0 && (Math.imul(k + 1, 2654435761) >>> 0) / 2 ** 32 < share;

interface Snapshot {
  t: number;
  /** CPU of the BENCH_BURN process (ms), 0 without one. */
  burn?: number;
  gen: NodeJS.CpuUsage;
  servers: number[];
  pg: number;
  redis: number;
  machine: { busy: number; total: number };
  sql: number | null;
}

interface PhaseResult {
  targetRate: number;
  seconds: number;
  sent: number;
  notSent: number;
  sentPerSecond: number;
  deliveredPerSecond: number;
  deliveredInWindow: number;
  backlogAtEnd: number;
  delivered: number;
  notDelivered: number;
  ackErrors: Record<string, number>;
  unacked: number;
  drainSeconds: number;
  /** Time waited after the drain for the server to answer every send (so the next phase starts clean), and what was still unanswered. */
  settleSeconds: number;
  unansweredAfterSettle: number;
  /** Delivered at ≥ 95 % of the rate, with nothing lost. */
  keptUp: boolean;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  ackMs: { p50: number; p99: number };
  /** % of one core; machineBusy: % of all cores; others: what processes outside this benchmark used (% of one core). */
  cpu: { servers: number[]; postgres: number; redis: number; generator: number; machineBusy: number; others: number };
  generatorLoopDelayP99Ms: number;
  sqlPerMessage: number | null;
  /** % of one core the BENCH_BURN process took during the window (0 without one). */
  burnCpu: number;
  /** CPU ms per message answered, over the window and the drain: servers (all processes), PostgreSQL, Redis. */
  cpuMsPerMessage: { server: number; postgres: number; redis: number };
}

interface LoadContext {
  s: Settings;
  transport: Transport;
  rec: Recorder;
  convs: Conv[];
  order: Uint32Array;
  snapshot: () => Promise<Snapshot>;
  /** The BENCH_BURN process, while the load runs. */
  burnPid?: number;
  /** PostgreSQL's postmaster, whose backends are watched while a phase runs. */
  treePid?: number | null;
}

async function runPhase(ctx: LoadContext, rate: number, seconds: number): Promise<PhaseResult> {
  const { s, transport, rec, convs, order } = ctx;
  const total = Math.round(rate * seconds);
  const maxInFlight = Math.max(1000, rate * s.maxInFlightSeconds);
  const firstK = rec.k;
  rec.phaseStart = firstK;
  rec.phaseDelivered = 0;
  let sent = 0;
  let notSent = 0;
  let ackErrorCount = 0;
  const ackErrors: Record<string, number> = {};
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const ackedBefore = rec.ackedOk;
  const snapshot = async () => ({ ...(await ctx.snapshot()), burn: ctx.burnPid ? (procStat(ctx.burnPid)?.cpuMs ?? 0) : 0 });
  const unwatch = watchTree(ctx.treePid ?? null);
  const before = await snapshot();
  loop.enable();
  const t0 = now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - t0) * rate) / 1000));
      while (sent + notSent < due) {
        if (rec.inFlight >= maxInFlight) {
          notSent += 1;
          continue;
        }
        const k = rec.k++;
        const conv = convs[order[k % order.length]];
        const sentAt = now();
        rec.sentAt[k] = sentAt;
        rec.inFlight += 1;
        sent += 1;
        let answered = false;
        transport.send(conv, agentSide(k, s.agentShare), `m:${k}:${sentAt.toFixed(3)}`, (code) => {
          if (answered) return;
          answered = true;
          rec.inFlight -= 1;
          if (code === null) {
            rec.ackLatency[k] = now() - sentAt;
            rec.ackedOk += 1;
          } else {
            ackErrorCount += 1;
            ackErrors[code] = (ackErrors[code] ?? 0) + 1;
          }
        });
      }
      if (sent + notSent >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 5);
  });
  const windowEnd = now();
  loop.disable();
  const deliveredInWindow = rec.phaseDelivered;
  const backlogAtEnd = sent - ackErrorCount - deliveredInWindow;
  const after = await snapshot();

  // Drain: until every message sent is delivered or refused, or the drain time runs out.
  const drainUntil = now() + s.drainSeconds * 1000;
  while (now() < drainUntil && (rec.phaseDelivered + ackErrorCount < sent || rec.inFlight > 0)) await sleep(20);
  const drainSeconds = (now() - windowEnd) / 1000;
  const unacked = rec.inFlight;
  // Settle: a server that fell behind still works through its backlog; the next phase should not inherit it.
  const settleFrom = now();
  const settleUntil = settleFrom + s.settleSeconds * 1000;
  while (now() < settleUntil && rec.inFlight > 0) await sleep(50);
  const settleSeconds = (now() - settleFrom) / 1000;
  // Every message of the phase answered (or given up on): the CPU each cost, the drain included.
  const drained = await snapshot();
  unwatch();
  const answered = rec.ackedOk - ackedBefore + ackErrorCount;
  const perMessage = (ms: number) => (answered ? round(ms / answered, 3) : NaN);

  const lat: number[] = [];
  const acks: number[] = [];
  for (let k = firstK; k < firstK + sent; k++) {
    if (rec.latency[k] >= 0) lat.push(rec.latency[k]);
    if (rec.ackLatency[k] >= 0) acks.push(rec.ackLatency[k]);
  }
  // BENCH_LATENCY_CSV: a file that receives every message of every phase (send time, latency), to look for stalls.
  if (process.env.BENCH_LATENCY_CSV) {
    const lines: string[] = [];
    for (let k = firstK; k < firstK + sent; k++)
      lines.push(`${rate},${k},${((rec.sentAt[k] - started) / 1000).toFixed(3)},${rec.latency[k].toFixed(1)}`);
    appendFileSync(process.env.BENCH_LATENCY_CSV, lines.join('\n') + '\n');
  }
  lat.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const windowSeconds = (windowEnd - t0) / 1000;
  const wallMs = after.t - before.t;
  const pct = (ms: number) => round((ms / wallMs) * 100, 0);
  const genCpu = (after.gen.user - before.gen.user + after.gen.system - before.gen.system) / 1000;
  return {
    targetRate: rate,
    seconds,
    sent,
    notSent,
    sentPerSecond: round(sent / windowSeconds, 1),
    deliveredPerSecond: round(deliveredInWindow / windowSeconds, 1),
    deliveredInWindow,
    backlogAtEnd,
    delivered: lat.length,
    notDelivered: sent - lat.length,
    ackErrors,
    unacked,
    drainSeconds: round(drainSeconds, 1),
    settleSeconds: round(settleSeconds, 1),
    unansweredAfterSettle: rec.inFlight,
    keptUp: notSent === 0 && lat.length === sent && deliveredInWindow >= 0.95 * rate * windowSeconds,
    latencyMs: {
      p50: round(percentile(lat, 50), 1),
      p90: round(percentile(lat, 90), 1),
      p99: round(percentile(lat, 99), 1),
      max: round(lat.length ? lat[lat.length - 1] : NaN, 1),
    },
    ackMs: { p50: round(percentile(acks, 50), 1), p99: round(percentile(acks, 99), 1) },
    cpu: {
      servers: after.servers.map((v, i) => pct(v - before.servers[i])),
      postgres: pct(after.pg - before.pg),
      redis: pct(after.redis - before.redis),
      generator: pct(genCpu),
      machineBusy: round(((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) * 100, 0),
      others: Math.max(
        0,
        round(
          ((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) * os.cpus().length * 100 -
            ((after.servers.reduce((a, v, i) => a + v - before.servers[i], 0) +
              after.pg -
              before.pg +
              after.redis -
              before.redis +
              genCpu) /
              wallMs) *
              100,
          0,
        ),
      ),
    },
    generatorLoopDelayP99Ms: round(loop.percentile(99) / 1e6, 1),
    burnCpu: pct((after.burn ?? 0) - (before.burn ?? 0)),
    cpuMsPerMessage: {
      server: perMessage(drained.servers.reduce((a, v, i) => a + v - before.servers[i], 0)),
      postgres: perMessage(drained.pg - before.pg),
      redis: perMessage(drained.redis - before.redis),
    },
    sqlPerMessage: after.sql !== null && before.sql !== null && sent ? round((after.sql - before.sql) / sent, 2) : null,
  };
}

async function runLoad(ctx: LoadContext, label: string): Promise<{ warmup: PhaseResult | null; phases: PhaseResult[] }> {
  const burner = ctx.s.burn > 0 ? startBurner(ctx.s.burn) : null;
  if (burner) log(`${label}: BENCH_BURN=${ctx.s.burn}: a process busy ${ctx.s.burn * 100} ms of every 100 ms (pid ${burner.pid})`);
  try {
    return await runPhases({ ...ctx, burnPid: burner?.pid }, label);
  } finally {
    await burner?.stop();
  }
}

async function runPhases(ctx: LoadContext, label: string): Promise<{ warmup: PhaseResult | null; phases: PhaseResult[] }> {
  let warmup: PhaseResult | null = null;
  if (ctx.s.warmupSeconds > 0) {
    const rate = Math.min(100, ctx.s.rates[0]);
    log(`${label}: warm-up, ${rate}/s for ${ctx.s.warmupSeconds} s (not counted)`);
    warmup = await runPhase(ctx, rate, ctx.s.warmupSeconds);
  }
  const phases: PhaseResult[] = [];
  for (const rate of ctx.s.rates) {
    log(`${label}: ${rate} messages/s for ${ctx.s.seconds} s`);
    const r = await runPhase(ctx, rate, ctx.s.seconds);
    log(
      `${label}: ${rate}/s → sent ${r.sent} (${r.notSent} not sent), delivered ${r.deliveredPerSecond}/s in the window, ` +
        `backlog ${r.backlogAtEnd}, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${JSON.stringify(r.ackErrors)}, ` +
        `CPU per message: server ${r.cpuMsPerMessage.server} ms, PostgreSQL ${r.cpuMsPerMessage.postgres} ms, Redis ${r.cpuMsPerMessage.redis} ms`,
    );
    phases.push(r);
  }
  return { warmup, phases };
}

/** Conversation order for the load: round-robin over a fixed shuffle, so consecutive messages hit different agents. */
function shuffledOrder(n: number): Uint32Array {
  const order = new Uint32Array(n).map((_, i) => i);
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// ------------------------------------------------------------------------------------------ topologies

interface MemoryFigures {
  /** Server processes' memory after a full GC, before and after the connections (and their conversations). */
  perProcess: Array<{
    name: string;
    connections: number;
    rssBeforeMiB: number;
    rssAfterMiB: number;
    heapBeforeMiB: number;
    heapAfterMiB: number;
  }>;
  /** (RSS growth over all processes) ÷ connections, counting only the steps that open connections. */
  rssPerConnectionKiB: number;
  heapPerConnectionKiB: number;
  /** RSS growth while the conversations were created (ShiftDesk only): not a connection cost, shown apart. */
  conversationsRssMiB?: number;
  /** ShiftDesk: the same per connection, agents (socket + inbox) and customers (socket + conversationEvents) apart. */
  /** youngGeneration: the young generation's growth over the same step (V8's allocation area, not a connection's). */
  agentsPerConnectionKiB?: { rss: number; heap: number; youngGeneration: number };
  customersPerConnectionKiB?: { rss: number; heap: number; youngGeneration: number };
  /** ShiftDesk: the same over the connections after the first tenth of each kind (see poolInTwo). */
  marginal?: {
    perConnection: { rss: number; heap: number };
    agents: { rss: number; heap: number };
    customers: { rss: number; heap: number };
  };
  /** ShiftDesk: second sockets of both kinds opened in blocks A C C A once all are connected (see balancedMemory). */
  balanced?: {
    block: number;
    agents: { rss: number; heap: number; youngGeneration: number };
    customers: { rss: number; heap: number; youngGeneration: number };
  };
}

function marginalMemory(
  s: Settings,
  m: { mem1: MemProbe[]; mem3: MemProbe[]; memAgentsHead: MemProbe[]; memCustomersHead: MemProbe[] },
  growth: (a: MemProbe[], b: MemProbe[], key: 'rss' | 'heapUsed') => number,
): NonNullable<MemoryFigures['marginal']> {
  const agents = s.agents - Math.max(1, Math.round(s.agents / 10));
  const customers = s.customers - Math.max(1, Math.round(s.customers / 10));
  const kib = (bytes: number, n: number) => round(bytes / Math.max(1, n) / 1024, 1);
  const of = (key: 'rss' | 'heapUsed') => ({
    agents: growth(m.memAgentsHead, m.mem1, key),
    customers: growth(m.memCustomersHead, m.mem3, key),
  });
  const rss = of('rss');
  const heap = of('heapUsed');
  return {
    perConnection: {
      rss: kib(rss.agents + rss.customers, agents + customers),
      heap: kib(heap.agents + heap.customers, agents + customers),
    },
    agents: { rss: kib(rss.agents, agents), heap: kib(heap.agents, agents) },
    customers: { rss: kib(rss.customers, customers), heap: kib(heap.customers, customers) },
  };
}

/**
 * Memory per connection of each kind with the order balanced: the figures above open all agents first, into a
 * process whose allocator arenas and heap pages are still untouched, and the customers after the 5,000
 * conversations, into memory those left free, so the agents are charged for what came first. Here, once every
 * connection is open, second sockets (another tab) of connected agents (socket, session, `inbox`) and of
 * customers (socket, session, `conversationEvents`) open in four blocks, agents / customers / customers /
 * agents, each block between two probes (after a full GC), into the same state; then they close again. A second
 * socket of an agent adds no presence entry (one per agent): that lives in the figures above.
 */
async function balancedMemory(
  servers: ServerChild[],
  agentUrl: string,
  customerUrl: string,
  users: Users,
  convs: Conv[],
  block: number,
  concurrency: number,
): Promise<NonNullable<MemoryFigures['balanced']>> {
  const noop = { next: () => undefined, error: (err: unknown) => log(`second socket: error ${JSON.stringify(err)}`) };
  const extra: GqlSocket[] = [];
  const openBlock = async (kind: 'agents' | 'customers', from: number) =>
    pool(block, concurrency, async (i) => {
      const sock =
        kind === 'agents'
          ? await GqlSocket.open(agentUrl, users.agentTokens[from + i])
          : await GqlSocket.open(customerUrl, users.customerTokens[convs[from + i].customer]);
      extra.push(sock);
      if (kind === 'agents') sock.subscribe(INBOX, {}, noop);
      else sock.subscribe(EVENTS, { conversationId: convs[from + i].id }, noop);
    });
  const sum = { agents: { rss: 0, heap: 0, young: 0 }, customers: { rss: 0, heap: 0, young: 0 } };
  try {
    let before = await Promise.all(servers.map((p) => p.probe()));
    for (const [kind, from] of [
      ['agents', 0],
      ['customers', 0],
      ['customers', block],
      ['agents', block],
    ] as const) {
      await openBlock(kind, from);
      await sleep(1000);
      const after = await Promise.all(servers.map((p) => p.probe()));
      sum[kind].rss += after.reduce((t, m, n) => t + m.rss - before[n].rss, 0);
      sum[kind].heap += after.reduce((t, m, n) => t + m.heapUsed - before[n].heapUsed, 0);
      sum[kind].young += after.reduce((t, m, n) => t + m.newSpace - before[n].newSpace, 0);
      before = after;
    }
  } finally {
    for (const sock of extra) sock.close();
    await sleep(1000);
  }
  const kib = (bytes: number) => round(bytes / (2 * block) / 1024, 1);
  return {
    block,
    agents: { rss: kib(sum.agents.rss), heap: kib(sum.agents.heap), youngGeneration: kib(sum.agents.young) },
    customers: { rss: kib(sum.customers.rss), heap: kib(sum.customers.heap), youngGeneration: kib(sum.customers.young) },
  };
}

interface TopologyResult {
  name: string;
  processes: number;
  customers: number;
  agents: number;
  conversations: number;
  setupSeconds: { conversations?: number; connectAgents: number; connectCustomers: number };
  memory: MemoryFigures;
  warmup: PhaseResult | null;
  phases: PhaseResult[];
  unexpectedCloses: number;
  stored?: { messages: number; acked: number };
  extra?: Record<string, unknown>;
}

const MiB = (b: number) => round(b / 2 ** 20, 1);

interface Users {
  departmentId: string;
  agentIds: string[];
  customerIds: string[];
  agentTokens: string[];
  customerTokens: string[];
}

/** Agents and customers straight into the tables (one statement each), and a token for each. */
async function seedUsers(databaseUrl: string, s: Settings, jwtSecret: string): Promise<Users> {
  const pg = new PgClient({ connectionString: databaseUrl });
  await pg.connect();
  try {
    const departmentId = randomUUID();
    await pg.query(`INSERT INTO departments (id, name, code) VALUES ($1, '在线客服', 'bench_online')`, [departmentId]);
    const hash = await hashPassword('bench-user-password');
    const maxChats = Math.ceil(s.customers / s.agents);
    if (maxChats > 50) throw new Error(`${s.customers} customers over ${s.agents} agents is ${maxChats} chats each; the schema allows 50`);
    const agents = Array.from({ length: s.agents }, (_, i) => ({
      id: randomUUID(),
      email: `agent${i}@bench.local`,
      display_name: `坐席${String(i + 1).padStart(4, '0')}`,
      employee_code: `KF${String(i + 1).padStart(5, '0')}`,
    }));
    const customers = Array.from({ length: s.customers }, (_, i) => ({
      id: randomUUID(),
      email: `customer${i}@bench.local`,
      display_name: `顾客${i + 1}`,
    }));
    await pg.query(
      `INSERT INTO users (id, email, display_name, employee_code, role, department_id, password_hash, max_concurrent_chats)
       SELECT id, email, display_name, employee_code, 'AGENT', $2, $3, $4
         FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, email text, display_name text, employee_code text)`,
      [JSON.stringify(agents), departmentId, hash, maxChats],
    );
    await pg.query(
      `INSERT INTO users (id, email, display_name, role, password_hash)
       SELECT id, email, display_name, 'CUSTOMER', $2 FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, email text, display_name text)`,
      [JSON.stringify(customers), hash],
    );
    const tokens = new TokenService(jwtSecret, JWT_TTL);
    const issue = async (ids: string[], role: Role) => {
      const out: string[] = [];
      for (const userId of ids) out.push((await tokens.issue({ userId, role, version: 1 })).token);
      return out;
    };
    return {
      departmentId,
      agentIds: agents.map((a) => a.id),
      customerIds: customers.map((c) => c.id),
      agentTokens: await issue(
        agents.map((a) => a.id),
        Role.AGENT,
      ),
      customerTokens: await issue(
        customers.map((c) => c.id),
        Role.CUSTOMER,
      ),
    };
  } finally {
    await pg.end();
  }
}

async function countStored(databaseUrl: string): Promise<number> {
  const pg = new PgClient({ connectionString: databaseUrl });
  await pg.connect();
  try {
    const { rows } = await pg.query(`SELECT count(*)::int AS n FROM messages WHERE content LIKE 'm:%'`);
    return rows[0].n as number;
  } finally {
    await pg.end();
  }
}

/** WAL position and the conversations table's update counters: what PostgreSQL wrote for the messages. */
async function writeCounters(databaseUrl: string): Promise<{ walLsn: string; updates: number; hotUpdates: number }> {
  const pg = new PgClient({ connectionString: databaseUrl });
  await pg.connect();
  try {
    const { rows } = await pg.query(
      `SELECT pg_current_wal_lsn()::text AS lsn, n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot
         FROM pg_stat_user_tables WHERE relname = 'conversations'`,
    );
    return { walLsn: rows[0].lsn as string, updates: rows[0].upd as number, hotUpdates: rows[0].hot as number };
  } finally {
    await pg.end();
  }
}

/** Bytes of WAL between two positions (`X/Y` hexadecimal). */
function walBytes(from: string, to: string): number {
  const at = (lsn: string) => {
    const [hi, lo] = lsn.split('/').map((x) => BigInt(`0x${x}`));
    return (hi << 32n) + lo;
  };
  return Number(at(to) - at(from));
}

async function sqlCount(port: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const line = text.split('\n').find((l) => l.startsWith('shiftdesk_sql_queries_total'));
    return line ? Number(line.split(' ').pop()) : null;
  } catch {
    return null;
  }
}

interface Infra {
  s: Settings;
  cleanup: Cleanup;
  postmasterPid: () => number | null;
  redisPid: number | null;
  jwtSecret: string;
  dataDir: string;
}

const BENCH_ENCRYPTION_KEYS = `k1:${randomBytes(32).toString('base64')}`;

const INBOX = `subscription Inbox { inbox { type conversationId message { id seq senderRole content createdAt } at } }`;
const EVENTS = `subscription Events($conversationId: ID!) {
  conversationEvents(conversationId: $conversationId) { type conversationId message { id seq senderRole content createdAt } at } }`;
const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id seq createdAt } }`;
const REQUEST = `mutation Request($input: RequestServiceInput!) { requestService(input: $input) { status conversation { id agentId } } }`;

async function runShiftDesk(infra: Infra, opts: { name: string; databaseUrl: string; redisUrl: string | null }): Promise<TopologyResult> {
  const { s, cleanup } = infra;
  const cluster = Boolean(opts.redisUrl);
  const env = (n: number): Record<string, string> => ({
    DATABASE_URL: opts.databaseUrl,
    DATA_DIR: mkdtempSync(path.join(infra.dataDir, `server-${n}-`)),
    JWT_SECRET: infra.jwtSecret,
    // Every process of a cluster needs the same keyring (start-up refuses another key under a used id).
    ENCRYPTION_KEYS: BENCH_ENCRYPTION_KEYS,
    ADMIN_PASSWORD,
    LOG_LEVEL: 'warn',
    ROUTING_REQUIRE_SHIFT: 'false',
    // The chats here stay busy for the whole run; idle warnings and closes are not what is measured.
    IDLE_WARNING_SECONDS: '3600',
    IDLE_CLOSE_SECONDS: '7200',
    // Nor reassignments for want of a first reply (the agents here answer 10 % of the messages, at random).
    FIRST_REPLY_TIMEOUT_SECONDS: '7200',
    SHUTDOWN_GRACE_MS: '2000',
    DB_POOL_MAX: String(s.dbPoolMax),
    PLAYGROUND: 'false',
    ...(s.sendLimitPerMinute ? { RATE_SEND_MESSAGE_PER_MINUTE: String(s.sendLimitPerMinute) } : {}),
    ...(s.appendWindowMs !== null ? { CHAT_APPEND_WINDOW_MS: s.appendWindowMs } : {}),
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
  });
  log(`${opts.name}: starting ${cluster ? 'two server processes' : 'the server process'}`);
  // The first migrates the fresh database; the second (cluster) starts on a migrated one.
  const servers: ServerChild[] = [
    await startChild(cleanup, {
      name: `${opts.name} process 1`,
      script: SERVER_ENTRY,
      env: env(1),
      readyPath: '/readyz',
      readyTimeoutMs: 120_000,
      nodeArgs: s.serverNodeArgs,
    }),
  ];
  if (cluster)
    servers.push(
      await startChild(cleanup, {
        name: `${opts.name} process 2`,
        script: SERVER_ENTRY,
        env: env(2),
        readyPath: '/readyz',
        readyTimeoutMs: 120_000,
        nodeArgs: s.serverNodeArgs,
      }),
    );
  const customerServer = servers[0];
  const agentServer = servers[servers.length - 1];
  const sockets: GqlSocket[] = [];
  try {
    log(`${opts.name}: inserting ${s.agents} agents and ${s.customers} customers, issuing tokens`);
    const users = await seedUsers(opts.databaseUrl, s, infra.jwtSecret);

    // Warm both servers' code paths a little before the first memory reading.
    for (const server of servers) {
      for (let i = 0; i < 20; i++) await gqlHttp(server.port, 'query { me { id } }', {}, users.agentTokens[i % users.agentTokens.length]);
    }
    // And the WebSocket path, with a few sockets opened and closed again: what the first connection of a
    // process allocates once (code, pools, buffers) is not a cost per connection.
    for (const server of servers)
      await warmUpSockets(server.port, users.agentTokens.slice(-Math.min(envInt('BENCH_WARMUP_SOCKETS', 10), s.agents)));
    const mem0 = await Promise.all(servers.map((p) => p.probe()));

    // Agents: one socket each, subscribed to their inbox (it carries assignments and customers' messages).
    const rec = new Recorder(Math.ceil(s.rates.reduce((a, r) => a + r * s.seconds, 0) + Math.min(100, s.rates[0]) * s.warmupSeconds) + 16);
    const assignedSeen = new Array<number>(s.agents).fill(0);
    let t = now();
    let memAgentsHead: MemProbe[] = [];
    const agentSockets = await poolInTwo(
      s.agents,
      s.connectConcurrency,
      async (j) => {
        const sock = await GqlSocket.open(`ws://127.0.0.1:${agentServer.port}/graphql`, users.agentTokens[j]);
        sockets.push(sock);
        sock.subscribe(
          INBOX,
          {},
          {
            next: (p) => {
              const e = p.data?.inbox as { type: string; message?: { content: string } | null } | undefined;
              if (!e) return;
              if (e.type === 'MESSAGE' && e.message) rec.receive(e.message.content);
              else if (e.type === 'ASSIGNED') assignedSeen[j] += 1;
            },
            error: (err) => log(`agent ${j}: inbox error ${JSON.stringify(err)}`),
          },
        );
        return sock;
      },
      every(Math.max(1, Math.ceil(s.agents / 5)), `${opts.name}: agents connected`, s.agents),
      async () => {
        await sleep(1000);
        memAgentsHead = await Promise.all(servers.map((p) => p.probe()));
      },
    );
    const connectAgents = (now() - t) / 1000;
    await sleep(1000);
    const mem1 = await Promise.all(servers.map((p) => p.probe()));

    // Conversations: every customer asks for service (over HTTP, to process 1) and is routed to an agent.
    log(`${opts.name}: ${s.customers} × requestService (concurrency ${s.setupConcurrency})`);
    t = now();
    const agentIndex = new Map(users.agentIds.map((id, j) => [id, j]));
    const results = await pool(
      s.customers,
      s.setupConcurrency,
      async (i) => {
        for (let attempt = 1; ; attempt++) {
          const res = await gqlHttp<{ requestService: { status: string; conversation: { id: string; agentId: string | null } | null } }>(
            customerServer.port,
            REQUEST,
            { input: { topic: '订单咨询', message: `你好，我的订单 ${i} 还没有发货` } },
            users.customerTokens[i],
          );
          if (res.data) return res.data.requestService;
          const code = res.errors?.[0]?.extensions?.code;
          // CONFLICT: a race of the routing; SERVICE_UNAVAILABLE: a statement timed out on a machine busy elsewhere.
          if (attempt >= 3 || (code !== 'CONFLICT' && code !== 'SERVICE_UNAVAILABLE'))
            throw new Error(`requestService failed for customer ${i}: ${JSON.stringify(res.errors)}`);
        }
      },
      every(Math.max(1, Math.ceil(s.customers / 10)), `${opts.name}: conversations`, s.customers),
    );
    const setupConversations = (now() - t) / 1000;
    const convs: Conv[] = [];
    const statuses: Record<string, number> = {};
    results.forEach((r, i) => {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === 'ASSIGNED' && r.conversation?.agentId)
        convs.push({ customer: i, agent: agentIndex.get(r.conversation.agentId)!, id: r.conversation.id });
    });
    log(`${opts.name}: ${JSON.stringify(statuses)} in ${setupConversations.toFixed(1)} s`);
    // Proof the agents' subscriptions are live: each saw the ASSIGNED events of its conversations.
    const waitUntil = now() + 15_000;
    while (now() < waitUntil && assignedSeen.reduce((a, b) => a + b, 0) < convs.length) await sleep(100);
    const assignedEvents = assignedSeen.reduce((a, b) => a + b, 0);
    const mem2 = await Promise.all(servers.map((p) => p.probe()));

    // Customers: one socket each (process 1), subscribed to their conversation's events.
    t = now();
    const customerSockets = new Array<GqlSocket | undefined>(s.customers);
    const byCustomer = new Map(convs.map((c) => [c.customer, c]));
    let memCustomersHead: MemProbe[] = [];
    await poolInTwo(
      s.customers,
      s.connectConcurrency,
      async (i) => {
        const sock = await GqlSocket.open(`ws://127.0.0.1:${customerServer.port}/graphql`, users.customerTokens[i]);
        sockets.push(sock);
        customerSockets[i] = sock;
        const conv = byCustomer.get(i);
        if (conv) {
          sock.subscribe(
            EVENTS,
            { conversationId: conv.id },
            {
              next: (p) => {
                const e = p.data?.conversationEvents as
                  { type: string; message?: { senderRole: string | null; content: string } | null } | undefined;
                if (e?.type !== 'MESSAGE' || !e.message) return;
                if (e.message.senderRole === 'CUSTOMER')
                  rec.echoes += 1; // their own message, echoed to their own subscription
                else rec.receive(e.message.content);
              },
              error: (err) => log(`customer ${i}: conversationEvents error ${JSON.stringify(err)}`),
            },
          );
        }
      },
      every(Math.max(1, Math.ceil(s.customers / 5)), `${opts.name}: customers connected`, s.customers),
      async () => {
        await sleep(1000);
        memCustomersHead = await Promise.all(servers.map((p) => p.probe()));
      },
    );
    const connectCustomers = (now() - t) / 1000;
    await sleep(1000);
    const mem3 = await Promise.all(servers.map((p) => p.probe()));
    if (process.env.BENCH_HEAP_SNAPSHOT) {
      for (const [n, p] of servers.entries()) {
        const file = path.resolve(process.env.BENCH_HEAP_SNAPSHOT, `${opts.name.replace(/\W+/g, '-')}-${n + 1}.heapsnapshot`);
        await p.heapSnapshot(file);
        log(`heap snapshot of ${p.name}: ${file}`);
      }
    }

    const connections = s.agents + s.customers;
    const growth = (a: MemProbe[], b: MemProbe[], key: 'rss' | 'heapUsed' | 'newSpace') =>
      a.reduce((sum, m, i) => sum + (b[i][key] - m[key]), 0);
    const memory: MemoryFigures = {
      perProcess: servers.map((p, n) => ({
        name: p.name,
        connections: (p === agentServer ? s.agents : 0) + (p === customerServer ? s.customers : 0),
        rssBeforeMiB: MiB(mem0[n].rss),
        rssAfterMiB: MiB(mem3[n].rss),
        heapBeforeMiB: MiB(mem0[n].heapUsed),
        heapAfterMiB: MiB(mem3[n].heapUsed),
      })),
      rssPerConnectionKiB: round((growth(mem0, mem1, 'rss') + growth(mem2, mem3, 'rss')) / connections / 1024, 1),
      heapPerConnectionKiB: round((growth(mem0, mem1, 'heapUsed') + growth(mem2, mem3, 'heapUsed')) / connections / 1024, 1),
      conversationsRssMiB: MiB(growth(mem1, mem2, 'rss')),
      agentsPerConnectionKiB: {
        rss: round(growth(mem0, mem1, 'rss') / s.agents / 1024, 1),
        heap: round(growth(mem0, mem1, 'heapUsed') / s.agents / 1024, 1),
        youngGeneration: round(growth(mem0, mem1, 'newSpace') / s.agents / 1024, 1),
      },
      customersPerConnectionKiB: {
        rss: round(growth(mem2, mem3, 'rss') / s.customers / 1024, 1),
        heap: round(growth(mem2, mem3, 'heapUsed') / s.customers / 1024, 1),
        youngGeneration: round(growth(mem2, mem3, 'newSpace') / s.customers / 1024, 1),
      },
      marginal: marginalMemory(s, { mem1, mem3, memAgentsHead, memCustomersHead }, growth),
    };
    const block = Math.min(envInt('BENCH_BALANCED_BLOCK', 250, 0), Math.floor(s.agents / 2), Math.floor(convs.length / 2));
    if (block > 0) {
      log(`${opts.name}: second sockets in blocks of ${block} (agents, customers, customers, agents) for memory per connection`);
      memory.balanced = await balancedMemory(
        servers,
        `ws://127.0.0.1:${agentServer.port}/graphql`,
        `ws://127.0.0.1:${customerServer.port}/graphql`,
        users,
        convs,
        block,
        s.connectConcurrency,
      );
    }

    const transport: Transport = {
      send(conv, fromAgent, content, ack) {
        const sock = fromAgent ? agentSockets[conv.agent] : customerSockets[conv.customer]!;
        let done = false;
        const once = (code: string | null) => {
          if (done) return;
          done = true;
          ack(code);
        };
        // The message number is unique: a fine clientMessageId.
        sock.subscribe(
          SEND,
          { input: { conversationId: conv.id, content, clientMessageId: content.slice(0, content.indexOf(':', 2)) } },
          {
            next: (p) => once(p.errors?.length ? String(p.errors[0].extensions?.code ?? 'ERROR') : null),
            error: (errs) => once(String((errs as Array<{ extensions?: { code?: string } }>)?.[0]?.extensions?.code ?? 'ERROR')),
            complete: () => once('NO_RESULT'),
          },
        );
      },
    };
    const pgPid = infra.postmasterPid();
    const snapshot = async (): Promise<Snapshot> => {
      const sql = await Promise.all(servers.map((p) => sqlCount(p.port)));
      return {
        t: now(),
        gen: process.cpuUsage(),
        servers: servers.map((p) => procStat(p.pid)?.cpuMs ?? 0),
        pg: treeCpuMs(pgPid),
        redis: infra.redisPid ? (procStat(infra.redisPid)?.cpuMs ?? 0) : 0,
        machine: machineCpu(),
        sql: sql.some((v) => v === null) ? null : sql.reduce((a, b) => a! + b!, 0),
      };
    };
    const writesBefore = await writeCounters(opts.databaseUrl);
    const load = await runLoad({ s, transport, rec, convs, order: shuffledOrder(convs.length), snapshot, treePid: pgPid }, opts.name);
    const stored = await countStored(opts.databaseUrl);
    // Backends report their table counters when idle (within ~10 s); the WAL position is exact at once.
    const walAfter = (await writeCounters(opts.databaseUrl)).walLsn;
    await sleep(11_000);
    const writesAfter = await writeCounters(opts.databaseUrl);
    const updates = writesAfter.updates - writesBefore.updates;
    const written = rec.ackedOk;
    log(
      `${opts.name}: PostgreSQL wrote ${round(walBytes(writesBefore.walLsn, walAfter) / Math.max(1, written), 0)} bytes of WAL per message; ` +
        `${updates} updates of conversations, ${round(((writesAfter.hotUpdates - writesBefore.hotUpdates) / Math.max(1, updates)) * 100, 0)} % HOT (no index entries)`,
    );
    const acked = rec.ackedOk;
    const unexpectedCloses = sockets.filter((x) => x.closed).length;
    return {
      name: opts.name,
      processes: servers.length,
      customers: s.customers,
      agents: s.agents,
      conversations: convs.length,
      setupSeconds: {
        conversations: round(setupConversations, 1),
        connectAgents: round(connectAgents, 1),
        connectCustomers: round(connectCustomers, 1),
      },
      memory,
      ...load,
      unexpectedCloses,
      stored: { messages: stored, acked },
      extra: {
        requestService: statuses,
        assignedEventsSeen: assignedEvents,
        echoesToSender: rec.echoes,
        duplicates: rec.duplicates,
        stray: rec.stray,
      },
    };
  } catch (err) {
    for (const p of servers) process.stderr.write(`\n--- last output of ${p.name} ---\n${p.output().slice(-5000)}\n`);
    throw err;
  } finally {
    for (const sock of sockets) sock.close();
    await sleep(500);
    for (const sock of sockets) sock.ws.terminate();
    await Promise.all(servers.map((p) => p.stop()));
  }
}

async function runRelay(infra: Infra, opts: { name: string; redisUrl: string | null }): Promise<TopologyResult> {
  const { s, cleanup } = infra;
  const cluster = Boolean(opts.redisUrl);
  const env: Record<string, string> = opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {};
  log(`${opts.name}: starting`);
  const servers: ServerChild[] = [
    await startChild(cleanup, { name: `${opts.name} process 1`, script: RELAY_ENTRY, env, readyPath: '/readyz', readyTimeoutMs: 30_000 }),
  ];
  if (cluster)
    servers.push(
      await startChild(cleanup, { name: `${opts.name} process 2`, script: RELAY_ENTRY, env, readyPath: '/readyz', readyTimeoutMs: 30_000 }),
    );
  const customerServer = servers[0];
  const agentServer = servers[servers.length - 1];
  const sockets: RelaySocket[] = [];
  try {
    const rec = new Recorder(Math.ceil(s.rates.reduce((a, r) => a + r * s.seconds, 0) + Math.min(100, s.rates[0]) * s.warmupSeconds) + 16);
    const mem0 = await Promise.all(servers.map((p) => p.probe()));
    let t = now();
    const agentSockets = await pool(s.agents, s.connectConcurrency, async (j) => {
      const sock = await RelaySocket.open(`ws://127.0.0.1:${agentServer.port}/relay`, `a${j}`);
      sock.onMsg = (body) => rec.receive(body);
      sockets.push(sock);
      return sock;
    });
    const connectAgents = (now() - t) / 1000;
    t = now();
    const customerSockets = await pool(s.customers, s.connectConcurrency, async (i) => {
      const sock = await RelaySocket.open(`ws://127.0.0.1:${customerServer.port}/relay`, `c${i}`);
      sock.onMsg = (body) => rec.receive(body);
      sockets.push(sock);
      return sock;
    });
    const connectCustomers = (now() - t) / 1000;
    await sleep(1000);
    const mem1 = await Promise.all(servers.map((p) => p.probe()));
    log(`${opts.name}: ${s.agents + s.customers} connected`);
    // The same pairing ShiftDesk's routing makes: customer i with agent i mod agents.
    const convs: Conv[] = Array.from({ length: s.customers }, (_, i) => ({ customer: i, agent: i % s.agents, id: '' }));
    const connections = s.agents + s.customers;
    const growth = (key: 'rss' | 'heapUsed') => mem0.reduce((sum, m, i) => sum + (mem1[i][key] - m[key]), 0);
    const memory: MemoryFigures = {
      perProcess: servers.map((p, n) => ({
        name: p.name,
        connections: (p === agentServer ? s.agents : 0) + (p === customerServer ? s.customers : 0),
        rssBeforeMiB: MiB(mem0[n].rss),
        rssAfterMiB: MiB(mem1[n].rss),
        heapBeforeMiB: MiB(mem0[n].heapUsed),
        heapAfterMiB: MiB(mem1[n].heapUsed),
      })),
      rssPerConnectionKiB: round(growth('rss') / connections / 1024, 1),
      heapPerConnectionKiB: round(growth('heapUsed') / connections / 1024, 1),
    };
    const transport: Transport = {
      send(conv, fromAgent, content, ack) {
        if (fromAgent) agentSockets[conv.agent].send(`c${conv.customer}`, content, ack);
        else customerSockets[conv.customer].send(`a${conv.agent}`, content, ack);
      },
    };
    const snapshot = async (): Promise<Snapshot> => ({
      t: now(),
      gen: process.cpuUsage(),
      servers: servers.map((p) => procStat(p.pid)?.cpuMs ?? 0),
      pg: 0,
      redis: infra.redisPid ? (procStat(infra.redisPid)?.cpuMs ?? 0) : 0,
      machine: machineCpu(),
      sql: null,
    });
    const load = await runLoad({ s, transport, rec, convs, order: shuffledOrder(convs.length), snapshot }, opts.name);
    return {
      name: opts.name,
      processes: servers.length,
      customers: s.customers,
      agents: s.agents,
      conversations: convs.length,
      setupSeconds: { connectAgents: round(connectAgents, 1), connectCustomers: round(connectCustomers, 1) },
      memory,
      ...load,
      unexpectedCloses: sockets.filter((x) => x.closed).length,
      extra: { duplicates: rec.duplicates, stray: rec.stray },
    };
  } catch (err) {
    for (const p of servers) process.stderr.write(`\n--- last output of ${p.name} ---\n${p.output().slice(-5000)}\n`);
    throw err;
  } finally {
    for (const sock of sockets) sock.close();
    await sleep(500);
    for (const sock of sockets) sock.ws.terminate();
    await Promise.all(servers.map((p) => p.stop()));
  }
}

async function warmUpSockets(port: number, tokens: string[]): Promise<void> {
  const socks = await Promise.all(tokens.map((token) => GqlSocket.open(`ws://127.0.0.1:${port}/graphql`, token)));
  for (const sock of socks) {
    sock.subscribe(INBOX, {}, {});
    for (let i = 0; i < 5; i++) await new Promise<void>((complete) => sock.subscribe('query { me { id } }', {}, { complete }));
  }
  await Promise.all(
    socks.map(
      (sock) =>
        new Promise<void>((closed) => {
          sock.ws.once('close', () => closed());
          sock.close();
        }),
    ),
  );
  await sleep(1000);
}

async function gqlHttp<T>(
  port: number,
  query: string,
  variables: unknown,
  token: string,
): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

// --------------------------------------------------------------------------------------------- Redis

async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
  const until = now() + timeoutMs;
  while (now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

async function startRedis(cleanup: Cleanup): Promise<{ url: string; pid: number | null; source: string } | null> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, pid: null, source: 'REDIS_URL' };
  if (spawnSync('redis-server', ['--version']).status !== 0) return null;
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  cleanup.add('redis-server', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  if (!(await waitForPort(port, 10_000))) throw new Error('redis-server did not start');
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid ?? null, source: `redis-server from PATH on port ${port}` };
}

// ---------------------------------------------------------------------------------------------- main

export async function run(): Promise<void> {
  const s = settings();
  const m = machine();
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the benchmark's servers and PostgreSQL\n`);
    cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-bench-realtime-'));
  cleanup.add('temporary directory', () => rmSync(dataDir, { recursive: true, force: true }));
  const results: TopologyResult[] = [];
  let redisSource: string;
  try {
    log(
      `settings: ${s.customers} customers, ${s.agents} agents, rates ${s.rates.join(', ')}/s × ${s.seconds} s, agent share ${s.agentShare}`,
    );
    for (const note of s.notes) log(note);
    // One embedded PostgreSQL for every topology; each gets a database of its own.
    const pgPort = await freePort();
    const pgDir = path.join(dataDir, 'pg');
    const db = await startEmbeddedPostgres({ dir: pgDir, port: pgPort, password: 'bench-password', logger: createLogger('warn') });
    cleanup.add('embedded PostgreSQL', () => db.stop());
    const postmasterPid = () => {
      try {
        return Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
      } catch {
        return null;
      }
    };
    const dbUrl = (name: string) => db.url.replace(/\/shiftdesk$/, `/${name}`);
    const admin = new PgClient({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE bench_single');
      await admin.query('CREATE DATABASE bench_cluster');
    } finally {
      await admin.end();
    }
    const infra: Infra = { s, cleanup, postmasterPid, redisPid: null, jwtSecret: randomBytes(32).toString('hex'), dataDir };

    if (!s.clusterOnly) {
      results.push(await runShiftDesk(infra, { name: 'ShiftDesk, 1 process', databaseUrl: dbUrl('bench_single'), redisUrl: null }));
      if (s.relay) results.push(await runRelay(infra, { name: 'bare ws relay, 1 process', redisUrl: null }));
    }

    if (s.cluster) {
      const redis = await startRedis(cleanup);
      if (!redis) {
        redisSource = 'none: REDIS_URL unset and no redis-server on PATH; the cluster part is skipped';
        log(redisSource);
      } else {
        redisSource = redis.source;
        const clusterInfra = { ...infra, redisPid: redis.pid };
        results.push(
          await runShiftDesk(clusterInfra, {
            name: 'ShiftDesk, 2 processes + Redis',
            databaseUrl: dbUrl('bench_cluster'),
            redisUrl: redis.url,
          }),
        );
        if (s.relay) results.push(await runRelay(clusterInfra, { name: 'bare ws relay, 2 processes + Redis', redisUrl: redis.url }));
      }
    } else {
      redisSource = 'BENCH_CLUSTER=0: the cluster part is skipped';
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await cleanup.run();
  }
  report(m, s, results, redisSource);
}

function report(m: ReturnType<typeof machine>, s: Settings, results: TopologyResult[], redisSource: string): void {
  console.log(describeMachine(m));
  console.log(`load average at the end: ${round(os.loadavg()[0], 2)} (1 min)`);
  console.log(
    `topology: ${s.customers} customers + ${s.agents} agents (graphql-ws, one socket each), 1:1 conversations; ` +
      `sendMessage over the sender's graphql-ws socket, ${round(s.agentShare * 100, 0)} % agent → customer; ` +
      `${s.seconds} s per rate after a ${s.warmupSeconds} s warm-up; load generator: this process, one thread`,
  );
  console.log(`PostgreSQL: embedded, one per run (a database per topology); Redis: ${redisSource}`);
  for (const note of s.notes) console.log(`NOTE: ${note}`);
  console.log('');

  console.log(
    table(
      [
        'topology',
        'conns',
        'setup: conversations s',
        'connect s',
        'RSS/conn KiB',
        'heap/conn KiB',
        'RSS after MiB (per process)',
        'closed',
      ],
      results.map((r) => [
        r.name,
        r.customers + r.agents,
        r.setupSeconds.conversations ?? '-',
        round(r.setupSeconds.connectAgents + r.setupSeconds.connectCustomers, 1),
        r.memory.rssPerConnectionKiB,
        r.memory.heapPerConnectionKiB,
        r.memory.perProcess.map((p) => p.rssAfterMiB).join(' + '),
        r.unexpectedCloses,
      ]),
    ),
  );
  for (const r of results) {
    const a = r.memory.agentsPerConnectionKiB;
    const c = r.memory.customersPerConnectionKiB;
    if (a && c)
      console.log(
        `${r.name}: per agent connection (inbox) ${a.rss} KiB RSS / ${a.heap} KiB heap; per customer connection (conversationEvents) ${c.rss} / ${c.heap} KiB; creating the ${r.conversations} conversations added ${r.memory.conversationsRssMiB} MiB RSS\n` +
          `  of which V8's young generation grew (not a connection's memory): ${a.youngGeneration} KiB per agent, ${c.youngGeneration} KiB per customer connection`,
      );
    const b = r.memory.balanced;
    if (b)
      console.log(
        `${r.name}: order balanced (second sockets, blocks of ${b.block}: agents, customers, customers, agents): per agent connection ${b.agents.rss} KiB RSS / ${b.agents.heap} KiB heap; per customer connection ${b.customers.rss} / ${b.customers.heap} KiB\n` +
          `  the young generation changed meanwhile by ${b.agents.youngGeneration} KiB per agent and ${b.customers.youngGeneration} KiB per customer connection (RSS without it: ${round(b.agents.rss - b.agents.youngGeneration, 1)} and ${round(b.customers.rss - b.customers.youngGeneration, 1)} KiB)`,
      );
  }
  console.log('(memory: after a full GC in the server process, before and after opening the connections and their subscriptions)\n');

  const rows: Array<Array<string | number>> = [];
  for (const r of results) {
    for (const p of r.phases) {
      const errors = Object.entries(p.ackErrors)
        .map(([c, n]) => `${c}×${n}`)
        .join(',');
      rows.push([
        r.name,
        p.targetRate,
        p.keptUp ? 'yes' : 'NO',
        p.sentPerSecond,
        p.deliveredPerSecond,
        p.backlogAtEnd,
        p.notSent + p.notDelivered,
        p.latencyMs.p50,
        p.latencyMs.p99,
        p.latencyMs.max,
        p.ackMs.p99,
        errors || '0',
        p.cpu.servers.join('+'),
        r.name.startsWith('ShiftDesk') ? p.cpu.postgres : '-',
        r.processes > 1 ? p.cpu.redis : '-',
        p.cpuMsPerMessage.server,
        r.name.startsWith('ShiftDesk') ? p.cpuMsPerMessage.postgres : '-',
        r.processes > 1 ? p.cpuMsPerMessage.redis : '-',
        p.burnCpu,
        p.cpu.generator,
        p.cpu.others,
        p.cpu.machineBusy,
        p.sqlPerMessage ?? '-',
      ]);
    }
  }
  console.log(
    table(
      [
        'topology',
        'rate/s',
        'kept up',
        'sent/s',
        'delivered/s',
        'backlog',
        'lost',
        'p50 ms',
        'p99 ms',
        'max ms',
        'ack p99',
        'errors',
        'server CPU %',
        'PG CPU %',
        'Redis CPU %',
        'server ms/msg',
        'PG ms/msg',
        'Redis ms/msg',
        'burn CPU %',
        'gen CPU %',
        'others %',
        'machine %',
        'SQL/msg',
      ],
      rows,
    ),
  );
  console.log(
    '\ndelivered/s: messages the addressee received during the send window ÷ its length; backlog: sent − refused − delivered when sending stopped; ' +
      `lost: not sent (in flight already ${s.maxInFlightSeconds} s × rate) or never delivered (after ≤ ${s.drainSeconds} s of draining and ≤ ${s.settleSeconds} s more for the server to answer every send); ` +
      "latency: send → addressee's socket, over every delivered message of the phase, late ones included; " +
      'CPU: % of one core (server: per process; others: processes outside this benchmark); machine: % of all cores busy; ' +
      'ms/msg: CPU over the window and the drain ÷ messages answered (server: all processes); burn: the BENCH_BURN process.',
  );

  const ratios: Array<Record<string, unknown>> = [];
  const pairs: Array<[string, string]> = [
    ['ShiftDesk, 1 process', 'bare ws relay, 1 process'],
    ['ShiftDesk, 2 processes + Redis', 'bare ws relay, 2 processes + Redis'],
  ];
  const ratioRows: Array<Array<string | number>> = [];
  for (const [a, b] of pairs) {
    const x = results.find((r) => r.name === a);
    const y = results.find((r) => r.name === b);
    if (!x || !y) continue;
    x.phases.forEach((p, i) => {
      const q = y.phases[i];
      const entry = {
        pair: `${a} ÷ relay`,
        rate: p.targetRate,
        shiftDeskKeptUp: p.keptUp,
        delivered: round(p.deliveredPerSecond / q.deliveredPerSecond, 2),
        p50: round(p.latencyMs.p50 / q.latencyMs.p50, 1),
        p99: round(p.latencyMs.p99 / q.latencyMs.p99, 1),
        rssPerConnection: round(x.memory.rssPerConnectionKiB / y.memory.rssPerConnectionKiB, 1),
      };
      ratios.push(entry);
      ratioRows.push([entry.pair, entry.rate, p.keptUp ? 'yes' : 'NO', entry.delivered, entry.p50, entry.p99, entry.rssPerConnection]);
    });
  }
  if (ratioRows.length) {
    console.log('');
    console.log(table(['ratio', 'rate/s', 'ShiftDesk kept up', 'delivered/s ×', 'p50 ×', 'p99 ×', 'RSS/conn ×'], ratioRows));
    console.log(
      '(where ShiftDesk did not keep up, its latency is queueing behind its backlog: the ratio measures the overload, not the path)',
    );
  }
  for (const r of results.filter((x) => x.name.startsWith('ShiftDesk'))) {
    // The aims are stated for the highest rate (1,000/s by default).
    const top = r.phases.reduce<PhaseResult | null>((a, p) => (!a || p.targetRate > a.targetRate ? p : a), null);
    if (!top) continue;
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    const burn = s.burn > 0 ? ` with BENCH_BURN=${s.burn} (burner took ${top.burnCpu} % of a core)` : ' (no BENCH_BURN)';
    console.log(`\n${r.name} at ${top.targetRate}/s${burn}:`);
    console.log(
      `  kept up: ${top.keptUp ? 'yes' : 'NO'}; p99 ${top.latencyMs.p99} ms ≤ 50: ${verdict(top.keptUp && top.latencyMs.p99 <= 50)}`,
    );
    console.log(
      `  CPU per message: server ${top.cpuMsPerMessage.server} ms ≤ 0.35: ${verdict(top.cpuMsPerMessage.server <= 0.35)}; ` +
        `PostgreSQL ${top.cpuMsPerMessage.postgres} ms ≤ 0.2: ${verdict(top.cpuMsPerMessage.postgres <= 0.2)}` +
        (r.processes > 1 ? `; Redis ${top.cpuMsPerMessage.redis} ms` : ''),
    );
    const a = r.memory.agentsPerConnectionKiB;
    const c = r.memory.customersPerConnectionKiB;
    const b = r.memory.balanced;
    const atMostTwice = (agent: number, customer: number) => verdict(agent <= 2 * Math.max(customer, 0));
    console.log(`  memory: ${r.memory.rssPerConnectionKiB} KiB RSS per connection ≤ 24: ${verdict(r.memory.rssPerConnectionKiB <= 24)}`);
    // An agent against a customer, by the two measures that charge neither kind for the order they came in
    // (balancedMemory says why the RSS in the order opened does): the heap after a full GC holds everything an
    // agent keeps (socket, session, inbox, presence); RSS with the order balanced adds the allocator's share.
    if (a && c)
      console.log(
        `  agent ≤ 2 × customer: heap as opened ${a.heap} vs ${c.heap} KiB: ${atMostTwice(a.heap, c.heap)}` +
          (b
            ? `; RSS with the order balanced ${b.agents.rss} vs ${b.customers.rss} KiB: ${atMostTwice(b.agents.rss, b.customers.rss)}`
            : '') +
          `; RSS in the order opened (agents first, into untouched memory) ${a.rss} vs ${c.rss} KiB: ${atMostTwice(a.rss, c.rss)}`,
      );
    const m = r.memory.marginal;
    if (m)
      console.log(
        `  after the first tenth of each kind: ${m.perConnection.rss} KiB RSS / ${m.perConnection.heap} KiB heap per connection; ` +
          `agent ${m.agents.rss} / ${m.agents.heap}, customer ${m.customers.rss} / ${m.customers.heap} KiB`,
      );
    if (r.stored) console.log(`  stored: ${r.stored.messages} messages in PostgreSQL for ${r.stored.acked} acknowledged sends`);
  }
  console.log(JSON.stringify({ benchmark: 'realtime', machine: m, settings: { ...s }, redis: redisSource, results, ratios }));
}
