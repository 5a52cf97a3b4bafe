import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { print } from 'graphql';
import { Client as WsClient, createClient } from 'graphql-ws';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import {
  CreateDepartmentDocument,
  CreateUserDocument,
  LoginDocument,
  OnInboxDocument,
  PresenceDocument,
  RequestServiceDocument,
  SendMessageDocument,
} from '../generated/graphql';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestDatabase, eventually, hasRedis } from '../support/harness';
import { expectEveryMessageOnce, followConversation, range, sleep } from '../support/conversation-follower';
import { freePort, waitForPort } from '../support/ports';
import { dataAt, execAt, REPO_ROOT, serverProcessEnv, ServerProcess, startServerProcess, stopAll } from '../support/processes';

const hasNginx = spawnSync('nginx', ['-v']).status === 0;
const describeWithNginx = (hasNginx && hasRedis) || process.env.CI === 'true' ? describe : describe.skip;

/**
 * deploy/nginx/shiftdesk.conf with the test's ports: nginx listens on `listenPort`, and the upstream's servers
 * (shiftdesk-1:4000, … in compose) are the test's processes. Everything else is the shipped file as it is.
 */
function renderNginxConf(listenPort: number, backends: number[]): string {
  const shipped = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx', 'shiftdesk.conf'), 'utf8');
  const servers = shipped.match(/^\s*server shiftdesk-\d+:4000[^\n]*\n/gm) ?? [];
  if (servers.length < 2 || !/^\s*listen 8080;/m.test(shipped))
    throw new Error('deploy/nginx/shiftdesk.conf: expected `listen 8080;` and shiftdesk-N:4000 servers');
  const options = servers[0]!.replace(/^\s*server shiftdesk-\d+:4000/, '').trimEnd();
  const upstream = backends.map((port) => `    server 127.0.0.1:${port}${options}\n`).join('');
  return shipped.replace(servers.join(''), upstream).replace(/^(\s*)listen 8080;/m, `$1listen 127.0.0.1:${listenPort};`);
}

/** Debian's nginx with the shipped configuration in a temp prefix, in the foreground, not as root. */
class Nginx {
  private child: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly prefix: string,
    readonly port: number,
  ) {}

  static async start(backends: number[]): Promise<Nginx> {
    const prefix = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-nginx-'));
    const nginx = new Nginx(prefix, await freePort());
    mkdirSync(path.join(prefix, 'temp'));
    writeFileSync(path.join(prefix, 'shiftdesk.conf'), renderNginxConf(nginx.port, backends));
    const temp = (name: string) => `${name}_temp_path ${path.join(prefix, 'temp', name)};`;
    writeFileSync(
      path.join(prefix, 'nginx.conf'),
      [
        'worker_processes 1;',
        `pid ${path.join(prefix, 'nginx.pid')};`,
        `error_log ${path.join(prefix, 'error.log')} warn;`,
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        `  include ${path.join(prefix, 'shiftdesk.conf')};`,
        '}',
      ].join('\n'),
    );
    // Run as an unprivileged user even when the tests run as root: the configuration must not need root.
    const asRoot = process.getuid?.() === 0;
    const ids = asRoot ? { uid: 65534, gid: 65534 } : {};
    if (asRoot) {
      chmodSync(prefix, 0o755);
      for (const p of [prefix, path.join(prefix, 'temp'), path.join(prefix, 'nginx.conf'), path.join(prefix, 'shiftdesk.conf')])
        chownSync(p, 65534, 65534);
    }
    const args = ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')];
    const check = spawnSync('nginx', [...args, '-t'], { encoding: 'utf8', ...ids });
    if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
    nginx.child = spawn('nginx', [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    nginx.child.stderr!.on('data', (b: Buffer) => (nginx.output += b.toString()));
    await waitForPort(nginx.port, 5000, 'nginx');
    return nginx;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  log(): string {
    try {
      return this.output + readFileSync(path.join(this.prefix, 'error.log'), 'utf8');
    } catch {
      return this.output;
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGQUIT'); // graceful
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(force);
  }
}

async function wsConnections(node: ServerProcess): Promise<number> {
  const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
  return Number(/^shiftdesk_websocket_connections (\d+)/m.exec(text)?.[1] ?? NaN);
}

describeWithNginx('two ShiftDesk processes behind the shipped nginx configuration', () => {
  let nodes: ServerProcess[] = [];
  let nginx: Nginx;
  let databaseUrl: string;
  let admin: string;
  let departmentId: string;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    const env = () =>
      serverProcessEnv(databaseUrl, {
        REDIS_URL: process.env.TEST_REDIS_URL!,
        ROUTING_REQUIRE_SHIFT: 'false',
        RATE_SEND_MESSAGE_PER_MINUTE: '100000',
        TRUST_PROXY: 'loopback',
      });
    nodes = await Promise.all([1, 2].map((n) => startServerProcess({ name: `node-${n}`, env: env(), readyTimeoutMs: 60_000 })));
    nginx = await Nginx.start(nodes.map((n) => n.port));
    admin = (await dataAt(nginx.url, LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).login.token;
    departmentId = (await dataAt(nginx.url, CreateDepartmentDocument, { input: { name: '技术支持', code: 'technical' } }, admin))
      .createDepartment.id;
  }, 150_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await nginx?.stop();
    await stopAll(nodes);
  }, 60_000);

  /** A graphql-ws client through nginx; no retries of its own (the test reconnects, as an app would). */
  function wsThroughNginx(token: string): WsClient {
    const c = createClient({
      url: nginx.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(c);
    return c;
  }

  async function person(role: 'AGENT' | 'CUSTOMER', extra: { departmentId?: string; maxConcurrentChats?: number } = {}) {
    const email = `${role.toLowerCase()}-${Math.random().toString(36).slice(2, 10)}@test.local`;
    const { createUser } = await dataAt(
      nginx.url,
      CreateUserDocument,
      { input: { email, password: 'password-123', displayName: email.split('@')[0], role, ...extra } },
      admin,
    );
    return { id: createUser.id, token: (await dataAt(nginx.url, LoginDocument, { email, password: 'password-123' })).login.token };
  }

  it('serves HTTP through nginx, passing the W3C trace context on, and keeps /metrics off the balancer', async () => {
    const traceId = 'a'.repeat(31) + 'b';
    const res = await fetch(nginx.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${'c'.repeat(16)}-01` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-trace-id')).toBe(traceId);
    // /metrics stays each process's own, not the balancer's.
    expect((await fetch(nginx.url.replace('/graphql', '/metrics'))).status).toBe(404);
  });

  it('chat over graphql-ws through nginx: a process is killed, its client reconnects through nginx to the other and resumes by afterSeq, nothing lost or doubled', async () => {
    const agent = await person('AGENT', { departmentId, maxConcurrentChats: 5 });
    const customer = await person('CUSTOMER');

    // The agent's socket (their inbox keeps them online) lands on one process…
    const agentSocket = wsThroughNginx(agent.token);
    agentSocket.subscribe({ query: print(OnInboxDocument) }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await eventually(
      async () => (await dataAt(nginx.url, PresenceDocument, { agentIds: [agent.id] }, admin)).presence[0].online,
      10_000,
      'the agent online',
    );
    const { requestService } = await dataAt(
      nginx.url,
      RequestServiceDocument,
      { input: { topic: 'technical', message: '系统报错了' } },
      customer.token,
    );
    expect(requestService).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: agent.id } });
    const conversationId = requestService.conversation!.id;

    let killed = false;
    /** Follows the conversation from seq 0 on `first`; when the socket dies, reconnects through nginx from the last seq seen. */
    const follower = (token: string, first: WsClient) =>
      followConversation({ conversationId, first, reconnect: () => wsThroughNginx(token), killed: () => killed });
    const agentView = follower(agent.token, agentSocket);
    // …and the customer's on the other: least_conn sends a new connection where fewer are open.
    const customerView = follower(customer.token, wsThroughNginx(customer.token));
    await eventually(() => agentView.seqs.length === 1 && customerView.seqs.length === 1, 10_000, 'the replay of seq 1');
    expect(await Promise.all(nodes.map(wsConnections))).toEqual([1, 1]);

    const PER_SIDE = 30;
    const acks = new Map<string, number>();
    async function talk(who: { token: string }, tag: string, sent: { count: number }) {
      for (let i = 0; i < PER_SIDE; i++) {
        const clientMessageId = `${tag}-${i}`;
        for (let attempt = 0; ; attempt++) {
          try {
            const res = await execAt(
              nginx.url,
              SendMessageDocument,
              { input: { conversationId, content: `${tag} message ${i}`, clientMessageId } },
              who.token,
            );
            if (res.errors?.length) throw new Error(JSON.stringify(res.errors));
            acks.set(clientMessageId, res.data!.sendMessage.seq);
            break;
          } catch (err) {
            // nginx answers 502 (HTML) for a request the killed process took and never answered: send it again.
            if (attempt >= 50) throw err;
            await sleep(50);
          }
        }
        sent.count += 1;
        await sleep(15); // a person's pace, so the kill lands mid-conversation rather than after the last send
      }
    }
    const customerSent = { count: 0 };
    const agentSent = { count: 0 };
    const talking = Promise.all([talk(customer, 'customer', customerSent), talk(agent, 'agent', agentSent)]);
    await eventually(() => customerSent.count >= 10 && agentSent.count >= 10, 30_000, 'ten messages from each side');

    killed = true;
    const victim = nodes[0];
    expect((await victim.stop({ signal: 'SIGKILL' })).signal).toBe('SIGKILL');
    await talking;

    const lastSeq = 1 + 2 * PER_SIDE;
    await expectEveryMessageOnce([agentView, customerView], lastSeq, async () => {
      const res = await execAt(
        nginx.url,
        SendMessageDocument,
        { input: { conversationId, content: 'marker', clientMessageId: 'marker' } },
        customer.token,
      );
      return res.data!.sendMessage.seq;
    });
    // Exactly the client whose socket was on the killed process moved, once, after what it had seen.
    const moved = [agentView, customerView].filter((v) => v.resumedFrom.length > 0);
    expect(moved).toHaveLength(1);
    expect(moved[0].resumedFrom).toHaveLength(1);
    expect(moved[0].resumedFrom[0]).toBeGreaterThan(1);
    expect(await wsConnections(nodes[1])).toBe(2);

    const pg = new PgClient({ connectionString: databaseUrl });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ seq: number; client_message_id: string | null }>(
        'SELECT seq, client_message_id FROM messages WHERE conversation_id = $1 ORDER BY seq',
        [conversationId],
      );
      expect(rows.map((r) => r.seq)).toEqual(range(1, lastSeq + 1)); // the last one the marker
      for (const tag of ['customer', 'agent']) {
        expect(rows.filter((r) => r.client_message_id?.startsWith(`${tag}-`)).map((r) => r.client_message_id)).toEqual(
          range(0, PER_SIDE - 1).map((i) => `${tag}-${i}`),
        );
      }
    } finally {
      await pg.end();
    }
    expect(nginx.log()).not.toMatch(/\[emerg\]/);
  }, 120_000);
});
