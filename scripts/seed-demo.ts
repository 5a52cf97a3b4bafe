import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { ConfigError, loadConfig, type Config } from '../src/config';
import type { RequestScope } from '../src/context';
import { Department } from '../src/modules/accounts/department.entity';
import { User } from '../src/modules/accounts/user.entity';
import { Role, type Viewer } from '../src/platform/auth/roles';
import { MIN_PASSWORD_LENGTH } from '../src/platform/auth/passwords';
import { connectOrm, migrate } from '../src/platform/db/orm';
import { EmbeddedDatabase, startEmbeddedPostgres } from '../src/platform/db/embedded-postgres';
import { Conflict } from '../src/platform/errors';
import { createLogger, type Logger } from '../src/platform/logger';
import { Metrics } from '../src/platform/metrics';
import { createMemoryPubSub } from '../src/platform/realtime/pubsub';
import { loadLocalSecrets } from '../src/platform/secrets';
import { createServices, type Services } from '../src/services';

/**
 * `npm run seed:demo`: a demo organisation in the database the server uses (DATABASE_URL, else the embedded
 * PostgreSQL of DATA_DIR, started for the run when it is not running). Rows are written through the
 * services as the admin, so validation, password hashing and audit entries are exactly those of any admin
 * change. Idempotent: departments (by code or name) and users (by e-mail or employee code) that exist are
 * left alone. Every account it creates has the password DEMO_PASSWORD (default `shiftdesk-demo`).
 */

const DOMAIN = 'demo.shiftdesk.local';

interface DemoDepartment {
  code: string;
  name: string;
  description: string;
}

const DEPARTMENTS: DemoDepartment[] = [
  { code: 'sales', name: '售前咨询', description: '产品咨询、价格与优惠活动' },
  { code: 'technical', name: '技术支持', description: '安装、故障排查与使用指导' },
  { code: 'order', name: '订单问题', description: '下单、支付、物流与发票' },
  { code: 'after_sales', name: '售后服务', description: '退款、退换货与维修' },
  { code: 'complaints', name: '投诉建议', description: '投诉受理与意见反馈' },
  { code: 'account', name: '账户问题', description: '登录、密码、实名认证与账户安全' },
];

interface DemoUser {
  role: Role;
  email: string;
  displayName: string;
  department?: string; // code
  employeeCode?: string;
  skills?: string[];
  maxConcurrentChats?: number;
}

const MANAGERS: DemoUser[] = [
  { department: 'sales', displayName: '周敏' },
  { department: 'technical', displayName: '吴昊' },
  { department: 'order', displayName: '郑丽' },
  { department: 'after_sales', displayName: '王强' },
  { department: 'complaints', displayName: '冯静' },
  { department: 'account', displayName: '陈刚' },
].map((m, i) => ({
  role: Role.MANAGER,
  email: `manager.${m.department}@${DOMAIN}`,
  displayName: m.displayName,
  department: m.department,
  employeeCode: `MG${String(i + 1).padStart(3, '0')}`,
  skills: ['投诉处理'],
  maxConcurrentChats: 3,
}));

/** [department, name, skills, max concurrent chats] */
const AGENT_ROWS: Array<[string, string, string[], number]> = [
  ['sales', '张伟', ['产品咨询', '优惠活动', 'english'], 6],
  ['sales', '王芳', ['产品咨询', '票务'], 5],
  ['sales', '李娜', ['优惠活动', '会员'], 5],
  ['technical', '刘洋', ['技术故障', '安装调试'], 4],
  ['technical', '陈静', ['技术故障', 'english'], 4],
  ['technical', '杨帆', ['安装调试', 'app'], 5],
  ['technical', '赵磊', ['技术故障', '账户安全'], 4],
  ['order', '黄磊', ['物流', '发票'], 6],
  ['order', '周杰', ['物流', '支付'], 6],
  ['order', '吴霞', ['票务', '物流'], 5],
  ['order', '徐丽', ['发票', '支付', 'english'], 5],
  ['after_sales', '孙浩', ['退款', '退换货'], 5],
  ['after_sales', '马超', ['退款', '维修'], 5],
  ['after_sales', '朱婷', ['退换货', '物流'], 5],
  ['after_sales', '胡军', ['退款', 'english'], 4],
  ['complaints', '郭敏', ['投诉处理', '退款'], 3],
  ['complaints', '何静', ['投诉处理', 'english'], 3],
  ['account', '林峰', ['账户安全', '密码重置'], 5],
  ['account', '罗丹', ['实名认证', '账户安全'], 5],
  ['account', '高翔', ['账户安全', '票务', 'english'], 5],
];

const AGENTS: DemoUser[] = AGENT_ROWS.map(([department, displayName, skills, maxConcurrentChats], i) => {
  const code = `KF${String(i + 1).padStart(3, '0')}`;
  return { role: Role.AGENT, email: `${code.toLowerCase()}@${DOMAIN}`, displayName, department, employeeCode: code, skills, maxConcurrentChats };
});

const CUSTOMERS: DemoUser[] = ['李明', '王磊', '张丽', '刘芳', '陈晨', 'Emily Carter', '赵雪', '孙悦', '周宇', '吴桐'].map((displayName, i) => ({
  role: Role.CUSTOMER,
  email: `customer${String(i + 1).padStart(2, '0')}@${DOMAIN}`,
  displayName,
}));

/** The one admin the seed adds beside the first admin, so every role has an account with a known password. */
const DEMO_ADMIN: DemoUser = { role: Role.ADMIN, email: `admin@${DOMAIN}`, displayName: '演示管理员', employeeCode: 'ADMIN002' };

const ALL_USERS: DemoUser[] = [DEMO_ADMIN, ...MANAGERS, ...AGENTS, ...CUSTOMERS];

type Outcome = 'created' | 'exists' | 'skipped';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL || 'warn');
  const password = process.env.DEMO_PASSWORD || 'shiftdesk-demo';
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`DEMO_PASSWORD must be at least ${MIN_PASSWORD_LENGTH} characters`);

  const needsLocalSecrets = !config.jwtSecret || !config.databaseUrl;
  const secrets = needsLocalSecrets ? loadLocalSecrets(config.dataDir) : null;
  const db = await openDatabase(config, secrets?.pgPassword ?? null, logger);
  let orm: MikroORM | null = null;
  try {
    orm = await connectOrm({ url: db.url, poolMax: 4, logger });
    await migrate(orm, db.url, logger);
    const services = createServices({
      config,
      logger,
      metrics: new Metrics(),
      orm,
      pubsub: createMemoryPubSub(),
      redis: null,
      jwtSecret: config.jwtSecret ?? secrets!.jwtSecret,
    });
    await seed(services, orm, config, password, db.where);
  } finally {
    await orm?.close().catch(() => undefined);
    await db.stop();
  }
}

async function seed(services: Services, orm: MikroORM, config: Config, password: string, where: string): Promise<void> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`Seeding the ShiftDesk demo organisation into ${where}`);

  // The server creates the first admin on its first start; a fresh DATA_DIR gets it here the same way.
  const generated = await services.accounts.ensureFirstAdmin(orm.em.fork(), config.adminEmail, config.adminPassword, services.logger);
  if (generated) {
    out(`\n  Created the first admin account (as the server would on its first start).`);
    out(`    e-mail:   ${config.adminEmail}\n    password: ${generated}\n  Keep it now: it is not shown again.\n`);
  }

  const admin = await actingAdmin(orm, config.adminEmail);
  const traceId = `seed-demo-${randomUUID().slice(0, 8)}`;
  const scope = (): RequestScope => ({ viewer: admin, em: orm.em.fork(), traceId, logger: services.logger.child({ traceId }), ip: '127.0.0.1' });

  // Departments, matched by code first, then by name.
  const departmentIds = new Map<string, string>();
  const departmentOutcomes = new Map<string, Outcome>();
  const existingDepartments = await orm.em.fork().find(Department, {});
  for (const d of DEPARTMENTS) {
    const found = existingDepartments.find((e) => e.code === d.code) ?? existingDepartments.find((e) => e.name === d.name);
    if (found) {
      departmentIds.set(d.code, found.id);
      departmentOutcomes.set(d.code, 'exists');
      continue;
    }
    const created = await services.accounts.createDepartment(scope(), d);
    departmentIds.set(d.code, created.id);
    departmentOutcomes.set(d.code, 'created');
  }

  // Users, skipped when the e-mail or the employee code is already taken.
  const existingUsers = await orm.em.fork().find(User, {}, { fields: ['id', 'email', 'employeeCode'] });
  const emails = new Set(existingUsers.map((u) => u.email.toLowerCase()));
  const codes = new Map(existingUsers.filter((u) => u.employeeCode).map((u) => [u.employeeCode!, u.email]));
  const outcomes = new Map<string, { outcome: Outcome; note?: string }>();
  for (const u of ALL_USERS) {
    if (emails.has(u.email)) {
      outcomes.set(u.email, { outcome: 'exists', note: 'already there; left unchanged' });
      continue;
    }
    if (u.employeeCode && codes.has(u.employeeCode)) {
      outcomes.set(u.email, { outcome: 'skipped', note: `${u.employeeCode} already belongs to ${codes.get(u.employeeCode)}` });
      continue;
    }
    try {
      await services.accounts.createUser(scope(), {
        email: u.email,
        password,
        displayName: u.displayName,
        role: u.role,
        departmentId: u.department ? departmentIds.get(u.department)! : null,
        employeeCode: u.employeeCode ?? null,
        skills: u.skills ?? [],
        maxConcurrentChats: u.maxConcurrentChats ?? null,
      });
      outcomes.set(u.email, { outcome: 'created' });
    } catch (err) {
      // Someone else created it between our read and our insert: as good as existing.
      if (err instanceof Conflict) outcomes.set(u.email, { outcome: 'exists', note: err.message });
      else throw err;
    }
  }

  // Summary.
  const deptName = (code?: string) => (code ? DEPARTMENTS.find((d) => d.code === code)!.name : '');
  const count = (o: Outcome, list: Iterable<Outcome>) => [...list].filter((x) => x === o).length;
  const userOutcomes = [...outcomes.values()].map((x) => x.outcome);
  const deptOutcomes = [...departmentOutcomes.values()];
  out('');
  out(`Departments: ${deptOutcomes.length} (${count('created', deptOutcomes)} created, ${count('exists', deptOutcomes)} already there)`);
  out(`Users:       ${outcomes.size} (${count('created', userOutcomes)} created, ${count('exists', userOutcomes)} already there, ${count('skipped', userOutcomes)} skipped)`);
  out(`Audit:       every change is in the audit log with traceId ${traceId}, actor ${admin.email}`);
  out('');
  for (const d of DEPARTMENTS) out(`  ${d.code.padEnd(12)} ${d.name}  ${departmentOutcomes.get(d.code)}`);
  out('');
  out(`  ${'role'.padEnd(8)} ${'code'.padEnd(8)} ${'e-mail'.padEnd(42)} ${'name'.padEnd(12)} ${'department'.padEnd(8)} skills`);
  for (const u of ALL_USERS) {
    const o = outcomes.get(u.email)!;
    const status = o.outcome === 'created' ? '' : `  [${o.outcome}${o.note ? `: ${o.note}` : ''}]`;
    out(
      `  ${u.role.padEnd(8)} ${(u.employeeCode ?? '').padEnd(8)} ${u.email.padEnd(42)} ${padWide(u.displayName, 12)} ${padWide(deptName(u.department), 8)} ` +
        `${(u.skills ?? []).join(', ')}${status}`,
    );
  }
  out('');
  out(`Password of every demo account created by this script: ${password}`);
  out(`(Accounts marked [exists] kept the password they had. The first admin is ${config.adminEmail}.)`);

  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const agent = AGENTS.find((a) => a.skills?.includes('退款'))!;
  out('');
  out(`Try it: start the server (npm start), open http://${host}:${config.port}/graphql in a browser, and paste:`);
  out(`
# 1. Sign in as an agent (no headers needed); copy the token.
mutation SignIn {
  login(email: "${agent.email}", password: "${password}") { token expiresAt user { displayName employeeCode role } }
}

# 2. Headers tab: {"Authorization": "Bearer <token>"}. Who am I, in which department, with which skills?
query Me {
  me { displayName employeeCode skills maxConcurrentChats department { name code } }
}

# 3. Sign in as a manager (${MANAGERS.find((m) => m.department === agent.department)!.email}) or an admin, then: agents who handle refunds
query RefundAgents {
  users(filter: { role: AGENT, skill: "退款" }, first: 20) {
    nodes { displayName employeeCode skills department { name } }
    pageInfo { hasNextPage endCursor }
  }
}

# 4. As an admin (${DEMO_ADMIN.email}): what the seed did, newest first
query SeedAudit {
  auditLog(filter: { action: "user.create" }, first: 5) {
    nodes { summary traceId createdAt actor { email } }
  }
}
`);
}

/** The admin the seed acts as: ADMIN_EMAIL when it is an active admin, else the oldest active admin. */
async function actingAdmin(orm: MikroORM, adminEmail: string): Promise<Viewer & { email: string }> {
  const em = orm.em.fork();
  const admin =
    (await em.findOne(User, { email: adminEmail, role: Role.ADMIN, active: true })) ??
    (await em.findOne(User, { role: Role.ADMIN, active: true }, { orderBy: { createdAt: 'asc' } }));
  if (!admin) throw new Error('no active admin in the database to act as');
  return { id: admin.id, role: Role.ADMIN, departmentId: admin.departmentId, email: admin.email };
}

interface OpenDatabase {
  url: string;
  where: string;
  stop(): Promise<void>;
}

/** DATABASE_URL; else the embedded PostgreSQL of DATA_DIR, reused when running, started (and later stopped) when not. */
async function openDatabase(config: Config, pgPassword: string | null, logger: Logger): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, where: `DATABASE_URL (${redact(config.databaseUrl)})`, stop: async () => undefined };
  }
  const url = `postgresql://postgres:${encodeURIComponent(pgPassword!)}@127.0.0.1:${config.embeddedPgPort}/shiftdesk`;
  const dir = path.join(config.dataDir, 'pg');
  if (await isListening(url)) {
    return { url, where: `the running embedded PostgreSQL of ${config.dataDir} (port ${config.embeddedPgPort})`, stop: async () => undefined };
  }
  const embedded: EmbeddedDatabase = await startEmbeddedPostgres({ dir, port: config.embeddedPgPort, password: pgPassword!, logger });
  return {
    url: embedded.url,
    where: `the embedded PostgreSQL of ${config.dataDir} (started for this run on port ${config.embeddedPgPort}, stopped afterwards)`,
    stop: () => embedded.stop(),
  };
}

/** true when PostgreSQL answers with these credentials; false when nothing listens; throws on anything else. */
async function isListening(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ECONNREFUSED') return false;
    throw new Error(
      `something answers on ${redact(url)} but the seed cannot use it (is EMBEDDED_PG_PORT the port of this DATA_DIR's PostgreSQL?)`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Pads to a display width, counting CJK characters as two columns. */
function padWide(s: string, width: number): string {
  const w = [...s].reduce((n, ch) => n + (/[\u1100-\uffff]/.test(ch) ? 2 : 1), 0);
  return s + ' '.repeat(Math.max(0, width - w));
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else console.error('seed:demo failed:', err);
    process.exit(1);
  },
);
