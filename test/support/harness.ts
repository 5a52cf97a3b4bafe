import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { Client as WsClient, createClient } from 'graphql-ws';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { startShiftDesk, ShiftDesk } from '../../src/app';
import { createLogger, Logger } from '../../src/platform/logger';

export const ADMIN_EMAIL = 'admin@test.local';
export const ADMIN_PASSWORD = 'admin-password-1';
export const JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';
/** One keyring for every test server, as every process of a cluster must share one (32 bytes, base64). */
export const ENCRYPTION_KEYS = 'k1:dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktMDEyMzQ=';

export const hasRedis = Boolean(process.env.TEST_REDIS_URL);
/** Redis suites run wherever Redis is (always in CI, where global-setup fails without it). */
export const describeWithRedis = hasRedis ? describe : describe.skip;

/** A fresh, empty database on the run's PostgreSQL; the server migrates it on start like production. */
export async function createTestDatabase(): Promise<string> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set: run the tests through jest (global-setup starts PostgreSQL)');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new PgClient({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Environment a test server runs with; anything here can be overridden per test. */
export function testEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-test-data-')),
    JWT_SECRET,
    ENCRYPTION_KEYS,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DB_POOL_MAX: '10',
    ...extra,
  };
}

export interface GqlResult<T> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
  headers: Headers;
}

/** Every TestApp started in this test file and not yet stopped: the checks after each test look at them. */
export const liveApps = new Set<TestApp>();

export class TestApp {
  readonly wsUrl: string;
  private adminTokenCache: string | null = null;
  private readonly clients = new Set<WsClient>();

  constructor(
    readonly shiftdesk: ShiftDesk,
    readonly databaseUrl: string,
  ) {
    this.wsUrl = this.url.replace(/^http/, 'ws');
  }

  get url(): string {
    return `http://127.0.0.1:${this.shiftdesk.port}/graphql`;
  }

  get services() {
    return this.shiftdesk.services;
  }

  /** POSTs one operation; resolves with status, data, errors and headers (never throws on GraphQL errors). */
  async exec<TData, TVars>(
    doc: TypedDocumentNode<TData, TVars> | string,
    variables?: TVars,
    token?: string | null,
    headers: Record<string, string> = {},
  ): Promise<GqlResult<TData>> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: JSON.stringify({ query: typeof doc === 'string' ? doc : print(doc), variables }),
    });
    const body = (await res.json()) as { data?: TData; errors?: GqlResult<TData>['errors'] };
    return { status: res.status, data: body.data, errors: body.errors, headers: res.headers };
  }

  /** Like exec, but fails the test on any error and returns the data. */
  async data<TData, TVars>(doc: TypedDocumentNode<TData, TVars> | string, variables?: TVars, token?: string | null): Promise<TData> {
    const res = await this.exec(doc, variables, token);
    if (res.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors, null, 2)}`);
    return res.data as TData;
  }

  async login(email: string, password: string): Promise<string> {
    const data = await this.data<{ login: { token: string } }, unknown>(
      'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }',
      { email, password },
    );
    return data.login.token;
  }

  async adminToken(): Promise<string> {
    this.adminTokenCache ??= await this.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    return this.adminTokenCache;
  }

  async createDepartment(name: string, code: string): Promise<{ id: string; name: string; code: string }> {
    const data = await this.data<{ createDepartment: { id: string; name: string; code: string } }, unknown>(
      'mutation ($input: CreateDepartmentInput!) { createDepartment(input: $input) { id name code } }',
      { input: { name, code } },
      await this.adminToken(),
    );
    return data.createDepartment;
  }

  /** Creates a user as the admin and signs them in. */
  async createUser(input: {
    role: 'ADMIN' | 'MANAGER' | 'AGENT' | 'CUSTOMER';
    departmentId?: string | null;
    email?: string;
    displayName?: string;
    employeeCode?: string;
    skills?: string[];
    maxConcurrentChats?: number;
    password?: string;
  }): Promise<{ id: string; email: string; password: string; token: string }> {
    const email = input.email ?? `${input.role.toLowerCase()}-${randomBytes(4).toString('hex')}@test.local`;
    const password = input.password ?? 'password-123';
    const data = await this.data<{ createUser: { id: string } }, unknown>(
      'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
      {
        input: {
          email,
          password,
          displayName: input.displayName ?? email.split('@')[0],
          role: input.role,
          departmentId: input.departmentId ?? null,
          employeeCode: input.employeeCode ?? null,
          skills: input.skills ?? null,
          maxConcurrentChats: input.maxConcurrentChats ?? null,
        },
      },
      await this.adminToken(),
    );
    return { id: data.createUser.id, email, password, token: await this.login(email, password) };
  }

  /** A real graphql-ws client; closed by stop(). */
  ws(
    token: string | null,
    opts: {
      connectionParams?: Record<string, unknown>;
      retryAttempts?: number;
      /** on the HTTP upgrade request */ headers?: Record<string, string>;
    } = {},
  ): WsClient {
    const headers = opts.headers;
    const client = createClient({
      url: this.wsUrl,
      webSocketImpl: headers
        ? class extends WebSocket {
            constructor(url: string, protocols?: string | string[]) {
              super(url, protocols, { headers });
            }
          }
        : WebSocket,
      lazy: true,
      retryAttempts: opts.retryAttempts ?? 0,
      connectionParams: opts.connectionParams ?? (token ? { authorization: `Bearer ${token}` } : {}),
    });
    this.clients.add(client);
    return client;
  }

  async stop(): Promise<void> {
    liveApps.delete(this);
    await Promise.all([...this.clients].map((c) => c.dispose()));
    await this.shiftdesk.stop();
  }
}

/** Starts a ShiftDesk server in this process on its own fresh database. */
export async function startTestApp(
  opts: {
    redis?: boolean;
    env?: Record<string, string>;
    databaseUrl?: string;
    /** e.g. a pino logger writing to memory, to read the logs */ logger?: Logger;
  } = {},
): Promise<TestApp> {
  const databaseUrl = opts.databaseUrl ?? (await createTestDatabase());
  const extra: Record<string, string> = { ...(opts.env ?? {}) };
  if (opts.redis) {
    if (!process.env.TEST_REDIS_URL) throw new Error('this test needs Redis');
    extra.REDIS_URL = process.env.TEST_REDIS_URL;
  }
  const config = loadConfig(testEnv(databaseUrl, extra));
  const shiftdesk = await startShiftDesk(config, { logger: opts.logger ?? createLogger(config.logLevel) });
  const app = new TestApp(shiftdesk, databaseUrl);
  liveApps.add(app);
  return app;
}

/**
 * Subscribes and collects events; `next()` waits for the next one (failing after `timeoutMs`),
 * `done` resolves when the server completes or errors the subscription.
 */
export function subscribe<TData, TVars>(client: WsClient, doc: TypedDocumentNode<TData, TVars> | string, variables?: TVars) {
  const queue: Array<{ data?: TData | null; errors?: readonly any[] }> = [];
  const waiters: Array<{
    resolve: (v: { data?: TData | null; errors?: readonly any[] }) => void;
    reject: (err: Error) => void;
    timer: NodeJS.Timeout;
  }> = [];
  let error: unknown = null;
  let ended = false;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  // When the subscription ends, those still waiting fail at once and their timers go: a timer left behind (a
  // loop waiting minutes for the next event) kept the jest worker alive after its suite.
  const end = () => {
    ended = true;
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error('the subscription ended'));
    }
    finished();
  };
  const unsubscribe = client.subscribe<TData>(
    { query: typeof doc === 'string' ? doc : print(doc), variables: variables as Record<string, unknown> | undefined },
    {
      next: (value) => {
        const w = waiters.shift();
        if (w) {
          clearTimeout(w.timer);
          w.resolve(value as never);
        } else queue.push(value as never);
      },
      error: (err) => {
        error = err;
        end();
      },
      complete: () => end(),
    },
  );
  return {
    unsubscribe,
    done,
    get error() {
      return error;
    },
    received: queue,
    next(timeoutMs = 5000): Promise<{ data?: TData | null; errors?: readonly any[] }> {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (ended) return Promise.reject(new Error('the subscription ended'));
      return new Promise((resolve, reject) => {
        // A waiter that timed out must leave the line, or it would swallow the next event.
        const waiter = {
          resolve,
          reject,
          timer: setTimeout(() => {
            const i = waiters.indexOf(waiter);
            if (i >= 0) waiters.splice(i, 1);
            reject(new Error(`no event within ${timeoutMs} ms`));
          }, timeoutMs),
        };
        waiters.push(waiter);
      });
    },
  };
}

/** Waits until `check` passes (polling), for conditions that settle asynchronously such as socket closes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

/** Everything a subscription (from `subscribe`) delivers within `ms`: to count events, each of which must arrive exactly once. */
export async function drain<T>(sub: ReturnType<typeof subscribe<T, unknown>>, ms: number): Promise<T[]> {
  const out: T[] = [];
  const end = Date.now() + ms;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) return out;
    try {
      const e = await sub.next(left);
      if (e.data) out.push(e.data);
    } catch {
      return out;
    }
  }
}
