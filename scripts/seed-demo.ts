import 'reflect-metadata';
import { parseKeyring } from '../src/modules/records/keyring';
import { JobQueue } from '../src/platform/jobs/job-queue';
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
import { Faq, FaqScope } from '../src/modules/knowledge/faq.entity';
import { Conflict, InvalidInput } from '../src/platform/errors';
import { createLogger, type Logger } from '../src/platform/logger';
import { Metrics } from '../src/platform/metrics';
import { createMemoryPubSub } from '../src/platform/realtime/pubsub';
import { loadLocalSecrets } from '../src/platform/secrets';
import { createServices, type Services } from '../src/services';
import { DEMO_SHIFTS, scheduleAroundTheClock } from './demo-roster';

/**
 * `npm run seed:demo`: a demo organisation in the database the server uses (DATABASE_URL, else the embedded
 * PostgreSQL of DATA_DIR, started for the run when it is not running). Rows are written through the
 * services as the admin, so validation, password hashing and audit entries are exactly those of any admin
 * change. Idempotent: departments (by code or name), users (by e-mail or employee code) and FAQs (by question)
 * that exist are left alone. Every account it creates has the password DEMO_PASSWORD (default `shiftdesk-demo`).
 * The demo agents are scheduled around the clock for today and the next 7 days (see demo-roster.ts), so a
 * customer's request is answered as soon as one of them signs in.
 * Over 400 lines on purpose: half of it is the demo data itself (departments, people, FAQs), kept beside the seeding.
 */

const DOMAIN = 'demo.shiftdesk.local';

/** The password of every account the seed creates, unless DEMO_PASSWORD says otherwise. */
export const DEFAULT_DEMO_PASSWORD = 'shiftdesk-demo';

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
  return {
    role: Role.AGENT,
    email: `${code.toLowerCase()}@${DOMAIN}`,
    displayName,
    department,
    employeeCode: code,
    skills,
    maxConcurrentChats,
  };
});

const CUSTOMERS: DemoUser[] = ['李明', '王磊', '张丽', '刘芳', '陈晨', 'Emily Carter', '赵雪', '孙悦', '周宇', '吴桐'].map(
  (displayName, i) => ({
    role: Role.CUSTOMER,
    email: `customer${String(i + 1).padStart(2, '0')}@${DOMAIN}`,
    displayName,
  }),
);

/** The one admin the seed adds beside the first admin, so every role has an account with a known password. */
const DEMO_ADMIN: DemoUser = { role: Role.ADMIN, email: `admin@${DOMAIN}`, displayName: '演示管理员', employeeCode: 'ADMIN002' };

const ALL_USERS: DemoUser[] = [DEMO_ADMIN, ...MANAGERS, ...AGENTS, ...CUSTOMERS];

/**
 * Published FAQs, one per category, so searchFaqs and the auto-answers of requestService and createTicket have
 * something to find: [category (of config/knowledge.json), question, answer, tags, department code (a DEPARTMENT
 * FAQ; else PUBLIC)]. Tags
 * repeat the words customers use, which lifts a match (bestAnswer) past AUTO_ANSWER_THRESHOLD's 0.8.
 */
const FAQ_ROWS: Array<[string, string, string, string[], string?]> = [
  [
    '购票',
    '如何购买演出门票？',
    '在 App 或网站搜索演出，选择场次、票档和数量，填写观演人信息后提交订单，并在 15 分钟内完成支付。出票后可在“我的-订单”中查看。',
    ['购票流程', '下单'],
  ],
  [
    '支付',
    '支付成功了但订单显示未支付怎么办？',
    '支付结果同步可能有几分钟延迟，请稍后刷新订单。30 分钟后仍显示未支付的，款项会在 1–3 个工作日内原路退回；也可以提交工单并附上支付截图，我们帮您核实。',
    ['支付失败', '掉单'],
  ],
  [
    '退票退款',
    '如何申请退票？',
    '在“我的-订单”中打开订单详情，点击“申请退票”并选择原因提交。演出开始 48 小时前可退，按距开演的时间收取 0–20% 手续费；审核通过后票款 1–7 个工作日内原路退回。',
    ['退票', '申请退票', '退票手续费', '退款'],
  ],
  [
    '改签转赠',
    '门票可以转赠给朋友吗？',
    '非实名演出的电子票可在订单详情中点击“转赠”，输入朋友的手机号，对方在 24 小时内领取即可；实名制演出的门票不能转赠。',
    ['转赠', '送票'],
  ],
  [
    '实名制',
    '观演人信息填错了能修改吗？',
    '实名制演出下单后观演人信息无法修改，填错的请在退票期限内退票后重新购买；非实名演出可在出票前联系客服修改。',
    ['观演人', '身份证', '修改信息'],
  ],
  [
    '电子票与取票',
    '电子票在哪里查看？',
    '出票后在 App 的“票夹”中查看电子票二维码，入场时出示给工作人员扫码即可。截图的二维码可能失效，请以 App 内实时显示的为准。',
    ['电子票', '二维码', '票夹'],
  ],
  [
    '入场观演',
    '儿童需要买票吗？',
    '身高 1.2 米以上的儿童需要购票并凭票入场；1.2 米以下的儿童能否入场以演出详情页的说明为准，部分演出谢绝儿童入场。',
    ['儿童票', '身高'],
  ],
  [
    '发票',
    '如何开具发票？',
    '演出结束后 30 天内，在订单详情中点击“申请发票”，填写抬头和税号即可；电子发票在 7 个工作日内发送到您的邮箱。',
    ['开票', '电子发票'],
  ],
  [
    '会员与优惠',
    '优惠券为什么用不了？',
    '请检查订单金额是否达到使用门槛、演出是否在适用范围内、优惠券是否已过期。每个订单限用一张优惠券。',
    ['优惠券', '满减'],
  ],
  [
    '账户安全',
    '忘记密码怎么办？',
    '在登录页点击“忘记密码”，用绑定的手机号接收验证码后设置新密码。手机号已停用的，可以通过人脸识别或提交工单申诉找回账号。',
    ['忘记密码', '找回密码', '找回账号', '登录'],
    'account',
  ],
  [
    '演出变更',
    '演出取消了怎么退款？',
    '演出取消后平台会自动为已购票的用户全额退款，无需申请；票款在 7 个工作日内原路退回，并以短信通知。',
    ['演出取消', '全额退款'],
  ],
  [
    '配送',
    '纸质票什么时候寄出？',
    '纸质票一般在演出前 7–10 天统一寄出，顺丰包邮；寄出后可在订单详情中查看快递单号和物流进度。',
    ['纸质票', '快递', '物流'],
  ],
];

const FAQS = FAQ_ROWS.map(([category, question, answer, tags, department]) => ({ category, question, answer, tags, department }));

/**
 * Similar questions (相似问法) of each demo FAQ, worded as customers ask (docs/knowledge.md, phrasings): searched
 * like the question, and listed in `Faq.phrasings`. Added with the FAQ, so an FAQ already there keeps its own.
 */
const DEMO_PHRASINGS: Record<string, string[]> = {
  '如何购买演出门票？': ['怎么买票', '第一次买票要怎么操作'],
  '支付成功了但订单显示未支付怎么办？': ['钱扣了订单还是待付款', '付完款显示没付'],
  '如何申请退票？': ['门票可以退吗', '买的票不想要了怎么退'],
  '门票可以转赠给朋友吗？': ['票能送给别人吗', '可以把票转给朋友吗'],
  '观演人信息填错了能修改吗？': ['身份证号填错了怎么办', '观演人能改吗'],
  '电子票在哪里查看？': ['我的票在哪看', '入场二维码在哪里'],
  '儿童需要买票吗？': ['小孩要买票吗', '带孩子去要不要票'],
  '如何开具发票？': ['怎么开发票', '能开发票报销吗'],
  '优惠券为什么用不了？': ['券用不了', '优惠码无效怎么回事'],
  '忘记密码怎么办？': ['密码忘了', '登不上去了'],
  '演出取消了怎么退款？': ['演出取消了钱怎么退', '不演了能退钱吗'],
  '纸质票什么时候寄出？': ['纸质票啥时候发货', '票什么时候寄给我'],
};

type Outcome = 'created' | 'exists' | 'skipped';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL || 'warn');
  const password = process.env.DEMO_PASSWORD || DEFAULT_DEMO_PASSWORD;
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`DEMO_PASSWORD must be at least ${MIN_PASSWORD_LENGTH} characters`);

  const needsLocalSecrets = !config.jwtSecret || !config.databaseUrl || !config.encryption.keyring;
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
      keyring: config.encryption.keyring ?? parseKeyring(secrets!.encryptionKeys),
      // The seed queues no background jobs: a queue that never starts.
      jobs: new JobQueue(db.url, logger, config.jobs),
      jwtSecret: config.jwtSecret ?? secrets!.jwtSecret,
    });
    await seed(services, orm, config, password, db.where);
  } finally {
    await orm?.close().catch(() => undefined);
    await db.stop();
  }
}

/** Seeds the demo organisation through `services` (also used by the README walkthrough's test); prints through `write`. */
export async function seed(
  services: Services,
  orm: MikroORM,
  config: Config,
  password: string,
  where: string,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<void> {
  const out = (line = '') => write(`${line}\n`);
  out(`Seeding the ShiftDesk demo organisation into ${where}`);

  // The server creates the first admin on its first start; a fresh DATA_DIR gets it here the same way.
  const generated = await services.accounts.ensureFirstAdmin(orm.em.fork(), config.adminEmail, config.adminPassword, services.logger);
  if (generated) {
    out(`\n  Created the first admin account (as the server would on its first start).`);
    out(`    e-mail:   ${config.adminEmail}\n    password: ${generated}\n  Keep it now: it is not shown again.\n`);
  }

  const admin = await actingAdmin(orm, config.adminEmail);
  const traceId = `seed-demo-${randomUUID().slice(0, 8)}`;
  const scope = (): RequestScope => ({
    viewer: admin,
    em: orm.em.fork(),
    traceId,
    logger: services.logger.child({ traceId }),
    ip: '127.0.0.1',
  });

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

  // FAQs, matched by question (whatever their status now); published as they are created.
  const existingFaqs = new Set((await orm.em.fork().find(Faq, {}, { fields: ['question'] })).map((f) => f.question));
  const faqOutcomes = new Map<string, { outcome: Outcome; note?: string }>();
  let phrasingsAdded = 0;
  for (const f of FAQS) {
    if (existingFaqs.has(f.question)) {
      faqOutcomes.set(f.question, { outcome: 'exists', note: 'already there; left unchanged' });
      continue;
    }
    try {
      const faq = await services.faqs.create(scope(), {
        question: f.question,
        answer: f.answer,
        category: f.category,
        tags: f.tags,
        scope: f.department ? FaqScope.DEPARTMENT : FaqScope.PUBLIC,
        departmentId: f.department ? departmentIds.get(f.department)! : null,
      });
      await services.faqs.publish(scope(), faq.id);
      for (const text of DEMO_PHRASINGS[f.question] ?? []) {
        try {
          await services.faqPhrasings.add(scope(), faq.id, text);
          phrasingsAdded++;
        } catch (err) {
          // Another lexicon can make a phrasing read as another FAQ's question: the FAQ stands without it.
          if (!(err instanceof InvalidInput || err instanceof Conflict)) throw err;
        }
      }
      faqOutcomes.set(f.question, { outcome: 'created' });
    } catch (err) {
      // A KNOWLEDGE_CONFIG_FILE without this category: the FAQ does not fit this desk.
      if (err instanceof InvalidInput) faqOutcomes.set(f.question, { outcome: 'skipped', note: err.message });
      else throw err;
    }
  }

  // The roster: every demo agent (created now or before) on the three demo shifts, today and the next 7 days.
  const demoAgents = await orm.em
    .fork()
    .find(User, { email: { $in: AGENTS.map((a) => a.email) }, role: Role.AGENT, active: true }, { fields: ['id'] });
  const roster = await scheduleAroundTheClock(
    services,
    scope,
    demoAgents.map((a) => a.id),
    config.businessTz,
  );

  // Summary.
  const deptName = (code?: string) => (code ? DEPARTMENTS.find((d) => d.code === code)!.name : '');
  const count = (o: Outcome, list: Iterable<Outcome>) => [...list].filter((x) => x === o).length;
  const userOutcomes = [...outcomes.values()].map((x) => x.outcome);
  const deptOutcomes = [...departmentOutcomes.values()];
  out('');
  out(`Departments: ${deptOutcomes.length} (${count('created', deptOutcomes)} created, ${count('exists', deptOutcomes)} already there)`);
  out(
    `Users:       ${outcomes.size} (${count('created', userOutcomes)} created, ${count('exists', userOutcomes)} already there, ${count('skipped', userOutcomes)} skipped)`,
  );
  const faqStates = [...faqOutcomes.values()].map((x) => x.outcome);
  out(
    `FAQs:        ${faqOutcomes.size} (${count('created', faqStates)} created, ${count('exists', faqStates)} already there, ${count('skipped', faqStates)} skipped), ` +
      `${phrasingsAdded} similar questions added to those created`,
  );
  out(
    `Roster:      ${demoAgents.length} agents on ${DEMO_SHIFTS.map((s) => `${s.startTime}–${s.endTime}`).join(', ')} from ${roster.dates[0]} to ` +
      `${roster.dates[roster.dates.length - 1]} (${config.businessTz}): ${roster.schedulesCreated} schedules created, ${roster.schedulesSkipped} already there` +
      `${roster.shiftsCreated ? `, ${roster.shiftsCreated} shifts created` : ''}`,
  );
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
  for (const f of FAQS) {
    const o = faqOutcomes.get(f.question)!;
    const status = o.outcome === 'created' ? '' : `  [${o.outcome}${o.note ? `: ${o.note}` : ''}]`;
    out(`  ${padWide(f.category, 12)} ${f.department ? `${deptName(f.department)} ` : ''}${f.question}${status}`);
  }
  out('');
  out(`Password of every demo account created by this script: ${password}`);
  out(`(Accounts marked [exists] kept the password they had. The first admin is ${config.adminEmail}.)`);

  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const agent = AGENTS.find((a) => a.skills?.includes('退款'))!;
  out('');
  out(`Try it: start the server (npm start), open http://${host}:${config.port}/graphql in a browser, and paste:`);
  out(`(For a whole chat, an agent and a customer in two browser windows, see "Your first chat, in two tabs" in the README.)`);
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

# 5. As a customer (${CUSTOMERS[0].email}): search the knowledge base, in your own words
query SearchFaqs {
  searchFaqs(query: "怎么退票", limit: 3) { score matchedTerms faq { question answer category } }
}

# 5b. Each FAQ holds similar questions (相似问法), searched like its own: 門票可以退嗎 finds 如何申请退票？ by one
query SimilarQuestions {
  searchFaqs(query: "門票可以退嗎", limit: 3) { score faq { question phrasings { text } } }
}

# 6. Still as the customer: a ticket that a published FAQ answers gets the answer at once, and a question
mutation OpenTicket {
  createTicket(input: { subject: "申请退票", description: "下周的演唱会去不了了", category: "售后服务" }) {
    id priority status assignee { displayName } autoAnswer { state faq { question } } comments { kind body }
  }
}

# 7. ...which the customer answers (helped: true resolves the ticket; false leaves it with its agent)
mutation Helped {
  ticketAnswerHelped(ticketId: "<the ticket's id>", helped: true) { status resolution autoAnswer { state } }
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
    return {
      url,
      where: `the running embedded PostgreSQL of ${config.dataDir} (port ${config.embeddedPgPort})`,
      stop: async () => undefined,
    };
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

// Run as a script (npm run seed:demo), not when a test imports seed().
if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
      else console.error('seed:demo failed:', err);
      process.exit(1);
    },
  );
}
