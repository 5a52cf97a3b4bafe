/**
 * Every environment variable of ShiftDesk, validated in one place (over 400 lines on purpose): one `spec` entry per
 * variable with its default and description, and the typed Config built from them, so `.env.example`, the README's
 * table and the code cannot drift apart. Rule files (PII, classifier, knowledge, lexicon, quality, alerts) are parsed
 * by their modules; this file only finds and reads them.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { bool, cleanEnv, makeValidator, num, port, str, EnvError } from 'envalid';
import { IANAZone } from 'luxon';
import dotenv from 'dotenv';
import { ClassifierRules, parseClassifierRules } from './modules/knowledge/classifier';
import { KnowledgeSettings, parseKnowledgeSettings, readJsonFile, shippedConfigFile } from './modules/knowledge/knowledge.settings';
import { Lexicon, parseLexicon } from './modules/knowledge/lexicon';
import { parsePiiRules, PiiRules } from './modules/records/pii-rules';
import { Keyring, parseKeyring } from './modules/records/keyring';
import { Role } from './platform/auth/roles';
import { Locale, SUPPORTED_LOCALES } from './platform/i18n/locales';

import { parseQualitySettings, QualitySettings } from './modules/quality/quality.settings';
import { AlertSettings, parseAlertSettings } from './modules/operations/alert-rules';
import { parseBusinessHours, parseSlaPolicy, parseTicketCategories, TicketSettings } from './modules/tickets/ticket.settings';
import { serviceLevelProblem, StaffingSettings, targetSecondsProblem } from './modules/staffing/staffing.settings';

const timeZone = makeValidator<string>((value) => {
  if (!IANAZone.isValidZone(value)) throw new EnvError(`not an IANA time zone: ${value}`);
  return value;
});

const optionalUrl = makeValidator<string>((value) => {
  if (value === '') return '';
  try {
    new URL(value);
  } catch {
    throw new EnvError(`not a URL: ${value}`);
  }
  return value;
});

/** 0 means "any free port" (tests, benchmarks). */
const listenPort = makeValidator<number>((value) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new EnvError(`not a port number: ${value}`);
  return n;
});

const secret = makeValidator<string>((value) => {
  if (value !== '' && value.length < 32) throw new EnvError('must be at least 32 characters');
  return value;
});

const positiveInt = makeValidator<number>((value) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new EnvError(`not a whole number of at least 1: ${value}`);
  return n;
});

const wholeNumber = makeValidator<number>((value) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new EnvError(`not a whole number of at least 0: ${value}`);
  return n;
});

const fraction = makeValidator<number>((value) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new EnvError(`not a number between 0 and 1: ${value}`);
  return n;
});

/** A number passing `problem` (null: fine), else the problem as the error. */
const checked = (problem: (n: number) => string | null) =>
  makeValidator<number>((value) => {
    const n = value.trim() === '' ? NaN : Number(value);
    const why = problem(n);
    if (why) throw new EnvError(why);
    return n;
  });
const serviceLevelShare = checked(serviceLevelProblem);
const serviceLevelSeconds = checked(targetSecondsProblem);
const occupancy = checked((n) => (n > 0 && n <= 1 ? null : `must be a share above 0 and at most 1, not ${n}`));
const shrinkageShare = checked((n) => (n >= 0 && n < 1 ? null : `must be a share from 0 to below 1, not ${n}`));
const appendWindowMs = checked((n) =>
  Number.isInteger(n) && n >= 0 && n <= 50 ? null : `must be a whole number of ms from 0 to 50, not ${n}`,
);
const daysPerWeek = checked((n) => (Number.isInteger(n) && n >= 1 && n <= 7 ? null : `must be a whole number from 1 to 7, not ${n}`));
/** Empty (or unset): 0, "none"; otherwise a whole number of at least 1. */
const optionalPositiveInt = makeValidator<number>((value) => {
  if (value.trim() === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new EnvError(`not a whole number of at least 1: ${value}`);
  return n;
});

/** Express's `trust proxy` names for address ranges. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Which peers may set X-Forwarded-For: off (empty or false), `true` (any, only behind a proxy that
 * overwrites the header), a number of proxy hops, or addresses, subnets (CIDR) and range names, comma-separated.
 */
const trustProxy = makeValidator<boolean | number | string[]>((value) => {
  const v = value.trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address);
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
    if (!PROXY_RANGES.has(entry) && !(family && validBits && extra === undefined)) {
      throw new EnvError(`not an address, CIDR subnet, loopback, linklocal or uniquelocal: ${entry}`);
    }
  }
  return entries;
});

const logLevel = str({ choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' });

/** Every setting ShiftDesk reads, with its default. `.env.example` and the README list the same. */
const spec = {
  PORT: listenPort({ default: 4000, desc: 'HTTP and WebSocket port (0: any free port)' }),
  HOST: str({ default: '0.0.0.0', desc: 'interface to listen on' }),
  HTTP_KEEP_ALIVE_SECONDS: positiveInt({
    default: 65,
    desc: 'an idle HTTP connection stays open this long; keep it above the load balancer’s upstream idle timeout (nginx: 60 s)',
  }),
  DATA_DIR: str({ default: './.data', desc: 'embedded PostgreSQL data, generated secrets, uploads' }),
  DATABASE_URL: optionalUrl({ default: '', desc: 'use this PostgreSQL instead of the embedded one' }),
  EMBEDDED_PG_PORT: port({ default: 54329, desc: 'port of the embedded PostgreSQL' }),
  DB_POOL_MAX: num({ default: 20, desc: 'PostgreSQL connections per process' }),
  REDIS_URL: optionalUrl({ default: '', desc: 'use Redis for pub/sub, presence and rate limits' }),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt({
    default: 1000,
    desc: 'a Redis command not answered within this fails, and the in-process fallback answers',
  }),
  DB_TIMEOUT_MS: wholeNumber({
    default: 3000,
    desc: 'a statement (HTTP, WebSocket or background work; migrations excepted), or a new PostgreSQL connection, not answered within this fails with SERVICE_UNAVAILABLE; 0: no limit',
  }),
  SLOW_SQL_MS: wholeNumber({
    default: 200,
    desc: 'SQL statements slower than this are logged at warn with the trace id (values redacted); 0: off',
  }),
  REDIS_BREAKER_FAILURES: positiveInt({
    default: 5,
    desc: 'consecutive failed Redis commands that open the circuit breaker (commands then fail at once)',
  }),
  REDIS_BREAKER_HALF_OPEN_MS: positiveInt({
    default: 5000,
    desc: 'how long the open breaker waits before letting one Redis command through to test it',
  }),
  CACHE_MAX_ENTRIES: positiveInt({
    default: 5000,
    desc: 'entries of the in-process cache of hot reads (departments, shift types, FAQs, settings)',
  }),
  CACHE_TTL_SECONDS: positiveInt({
    default: 300,
    desc: 'longest a cached hot read is served (bounds an invalidation lost while Redis is down)',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl({
    default: '',
    desc: 'OTLP/HTTP collector base URL (spans go to <url>/v1/traces); empty: tracing off and the SDK not loaded',
  }),
  JWT_SECRET: secret({ default: '', desc: 'HS256 key; generated once into DATA_DIR when unset' }),
  JWT_TTL: str({ default: '12h', desc: 'token lifetime (e.g. 30m, 12h, 7d)' }),
  SESSION_CACHE_SECONDS: wholeNumber({
    default: 30,
    desc: 'how long a process trusts a signed-in user it has read, unless a revocation event drops it first (bounds a revocation lost while Redis is down); 0: read the user on every request',
  }),
  WS_SESSION_RECHECK_SECONDS: positiveInt({
    default: 30,
    desc: 'how often the users of open WebSockets are read again (revocations close sockets at once; this catches a lost event)',
  }),
  WS_MAX_CONNECTIONS_PER_USER: positiveInt({ default: 10, desc: 'open WebSockets per user and process; more are closed with 4429' }),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: positiveInt({
    default: 100,
    desc: 'operations running at once on one WebSocket; more are refused with BAD_USER_INPUT',
  }),
  WS_HEARTBEAT_SECONDS: positiveInt({
    default: 12,
    desc: 'how often a WebSocket that received nothing is pinged; one still silent an interval later is closed',
  }),
  API_KEY_ROTATION_OVERLAP_SECONDS: wholeNumber({
    default: 86400,
    desc: 'after rotateApiKey, how long the old secret keeps working (0: it stops at once)',
  }),
  API_KEY_USES_PER_MINUTE: positiveInt({ default: 600, desc: 'root fields one API key may run per minute; more get RATE_LIMITED' }),
  ADMIN_EMAIL: str({ default: 'admin@shiftdesk.local', desc: 'first admin account' }),
  ADMIN_PASSWORD: str({ default: '', desc: 'first admin password; random and printed once when unset' }),
  BUSINESS_TZ: timeZone({ default: 'Asia/Shanghai', desc: 'business time zone' }),
  LOG_LEVEL: logLevel,
  LOGIN_MAX_FAILURES: num({ default: 5, desc: 'failed logins per e-mail (and 4x per IP) before RATE_LIMITED' }),
  LOGIN_WINDOW_SECONDS: num({ default: 900, desc: 'window of LOGIN_MAX_FAILURES' }),
  TRUST_PROXY: trustProxy({
    default: false,
    desc: 'peers whose X-Forwarded-For gives the client address: empty (none), true, hop count, or addresses/CIDRs/loopback,linklocal,uniquelocal',
  }),
  RATE_REGISTER_CUSTOMER_PER_HOUR: positiveInt({ default: 20, desc: 'registerCustomer calls per client address and hour' }),
  GRAPHQL_MAX_DEPTH: num({ default: 10 }),
  GRAPHQL_MAX_COST: num({ default: 5000 }),
  GRAPHQL_MAX_ALIASES: num({ default: 15 }),
  GRAPHQL_MAX_TOKENS: num({ default: 2000 }),
  GRAPHQL_MAX_DIRECTIVES: num({ default: 50 }),
  PRESENCE_HEARTBEAT_TTL_SECONDS: num({ default: 90, desc: 'a heartbeat keeps an agent online this long' }),
  PRESENCE_SWEEP_SECONDS: num({ default: 10, desc: 'how often lapsed presence is swept (and connection leases renewed at 3x)' }),
  ROUTING_REQUIRE_SHIFT: bool({ default: true, desc: 'only agents on a shift now get customers (off for teams without schedules)' }),
  QUEUE_MAX_LENGTH: num({ default: 1000, desc: 'waiting customers beyond this get NO_CAPACITY' }),
  QUEUE_AGEING_SECONDS: num({ default: 120, desc: 'each full interval waited raises the effective priority one level' }),
  PRIORITY_RULES: str({ default: '', desc: 'JSON [{"pattern": "投诉|故障", "priority": "URGENT"}]; empty: the built-in rules' }),
  IDLE_WARNING_SECONDS: num({ default: 60, desc: 'customer silent this long after the agent wrote: warning' }),
  IDLE_CLOSE_SECONDS: num({ default: 120, desc: 'customer silent this long after the agent wrote: the chat ends (IDLE)' }),
  AGENT_OFFLINE_GRACE_SECONDS: num({ default: 120, desc: 'an offline agent keeps their chats this long before they are moved' }),
  SHIFT_END_GRACE_SECONDS: positiveInt({
    default: 600,
    desc: 'an agent whose shift ended (no following shift) keeps their chats this long before they are handed over',
  }),
  FIRST_REPLY_TIMEOUT_SECONDS: positiveInt({
    default: 120,
    desc: 'an agent who has not answered a new chat within this long loses it to a colleague (once); supervisors are told',
  }),
  RATE_SEND_MESSAGE_PER_MINUTE: num({ default: 30 }),
  CHAT_APPEND_WINDOW_MS: appendWindowMs({
    // 5: at 1,000 messages/s PostgreSQL's CPU per message 0.22 -> 0.17 ms for ~4 ms more latency (docs/benchmarks.md).
    default: 5,
    desc: 'sends arriving within this long of the first go to PostgreSQL in one statement (group commit); 0: those arriving while one runs',
  }),
  RATE_END_CONVERSATION_PER_MINUTE: num({ default: 10 }),
  RATE_RATE_CONVERSATION_PER_MINUTE: num({ default: 5 }),
  RATE_SET_PRESENCE_PER_MINUTE: positiveInt({
    default: 30,
    desc: 'setPresenceStatus calls per agent per minute: a client flapping its status is refused, not routed each time',
  }),
  KNOWLEDGE_CONFIG_FILE: str({
    default: '',
    desc: 'FAQ categories, stop words and search weights (JSON); empty: the shipped config/knowledge.json',
  }),
  KNOWLEDGE_LEXICON_FILE: str({
    default: '',
    desc: 'domain lexicon: canonical term → colloquial forms, synonyms, typos (JSON; a cycle or an empty term stops start-up); empty: the shipped config/lexicon.json',
  }),
  KNOWLEDGE_SEGMENTER: str({
    choices: ['jieba', 'intl'],
    default: 'jieba',
    desc: 'Chinese word segmentation: jieba (@node-rs/jieba) or intl (Intl.Segmenter)',
  }),
  AUTO_ANSWER_THRESHOLD: fraction({
    default: 0.8,
    desc: 'a first message or new ticket whose best FAQ scores at least this (0–1) is answered with it at once',
  }),
  CLASSIFIER_RULES_FILE: str({
    default: '',
    desc: 'classifyMessage keywords, patterns and rules (JSON); empty: the shipped config/classifier.json',
  }),
  PII_RULES_FILE: str({
    default: '',
    desc: 'personal-data rules: patterns, checks and mask shapes per type (JSON); empty: the shipped config/pii.json',
  }),
  ENCRYPTION_KEYS: str({
    default: '',
    desc: 'master keys wrapping the per-customer data keys: k1:<base64 of 32 bytes>,k2:…;current=k2 (default current: the last); generated once into DATA_DIR when unset',
  }),
  REVEAL_ROLES: str({
    default: 'CUSTOMER,MANAGER,ADMIN',
    desc: 'roles that may call revealText (each in its scope); add AGENT to let agents reveal texts of their own conversations and tickets',
  }),
  REVEAL_AGENT_DEPARTMENTS: str({
    default: '',
    desc: 'with AGENT in REVEAL_ROLES: codes of the departments whose agents may reveal; empty: every department',
  }),
  RATE_REVEAL_TEXT_PER_HOUR: positiveInt({ default: 60, desc: 'revealText calls per user and hour' }),

  QUALITY_RULES_FILE: str({
    default: '',
    desc: 'quality inspection rules, review checklist and weekly sample size (JSON); empty: the shipped config/quality.json',
  }),
  ADHERENCE_GRACE_MINUTES: wholeNumber({
    default: 5,
    desc: 'adherence: coming online this long after a shift starts is not a late start, leaving this long before it ends not an early leave',
  }),
  ARCHIVE_AFTER_DAYS: positiveInt({ default: 180, desc: 'ended conversations older than this move to the archive tables' }),
  RETAIN_DAYS: optionalPositiveInt({
    default: 0,
    desc: 'archived conversations are purged this many days after they ended (audited); empty: kept for ever',
  }),
  ARCHIVE_EVERY_MINUTES: positiveInt({ default: 60, desc: 'how often the archive run starts (one at a time in a cluster)' }),
  ARCHIVE_BATCH_SIZE: positiveInt({ default: 200, desc: 'conversations moved per transaction by the archive run' }),
  EXPORT_TTL_HOURS: positiveInt({ default: 24, desc: 'an export file can be downloaded this long, then it is deleted' }),
  TICKET_CATEGORIES: str({
    default: '',
    desc: 'JSON {"技术支持": "technical", …}: ticket category → department code; empty: the built-in map',
  }),
  TICKET_SLA: str({
    default: '',
    desc: 'JSON {"urgent": {"firstResponse": 5, "resolution": 60}, …} in minutes; priorities left out keep their defaults',
  }),
  TICKET_BUSINESS_HOURS: str({
    default: '',
    desc: 'JSON {"weekdays": [1,2,3,4,5], "hours": ["09:00-18:00"], "holidays": [], "zone": …}; empty: SLAs run 24×7',
  }),
  TICKET_REOPEN_WINDOW_DAYS: positiveInt({ default: 7, desc: 'a resolved ticket may be reopened this many days after its resolution' }),
  TICKET_AGENT_LIMIT: positiveInt({ default: 20, desc: 'open tickets one agent holds at most (auto-assignment and assignTicket)' }),
  TICKET_SLA_SWEEP_SECONDS: positiveInt({
    default: 30,
    desc: 'how often SLA warnings and breaches are looked for (and ticket queues drained)',
  }),
  FORECAST_HISTORY_WEEKS: positiveInt({ default: 8, desc: 'weeks of conversations and tickets the contact forecast learns from' }),
  SERVICE_LEVEL_TARGET: serviceLevelShare({
    default: 0.8,
    desc: 'share of contacts to answer within SERVICE_LEVEL_SECONDS (0–1, exclusive)',
  }),
  SERVICE_LEVEL_SECONDS: serviceLevelSeconds({ default: 20, desc: 'the service level’s answer time in seconds (1–3600)' }),
  MAX_OCCUPANCY: occupancy({ default: 0.85, desc: 'highest share of time an agent’s chat seats may be busy in a plan (0–1]' }),
  SHRINKAGE: shrinkageShare({ default: 0.3, desc: 'share of scheduled time not spent on contacts (breaks, meetings) [0–1)' }),
  MIN_REST_HOURS: wholeNumber({ default: 11, desc: 'rest between two shifts of an agent (proposals and swaps)' }),
  MAX_DAYS_PER_WEEK: daysPerWeek({ default: 6, desc: 'days an agent works per week (Monday–Sunday) at most (proposals)' }),
  MAX_WEEKLY_HOURS: positiveInt({
    default: 44,
    desc: 'hours an agent is scheduled per week (Monday–Sunday) at most (proposals and swaps)',
  }),
  PROPOSAL_TIME_LIMIT_SECONDS: positiveInt({
    default: 10,
    desc: 'proposeSchedule’s solver stops after this long with the best schedule found',
  }),
  SWAP_MIN_NOTICE_HOURS: wholeNumber({
    default: 24,
    desc: 'a swap must be requested and approved at least this long before each of its shifts starts',
  }),
  UPLOAD_SWEEP_SECONDS: positiveInt({
    default: 600,
    desc: 'how often DATA_DIR/uploads is searched for files without a row (left by a crash mid-upload)',
  }),
  JOB_POLL_SECONDS: positiveInt({
    default: 2,
    desc: 'how often each process asks the job queue (pg-boss) for background jobs such as exports and webhook deliveries',
  }),
  UPLOAD_ORPHAN_GRACE_SECONDS: positiveInt({
    default: 3600,
    desc: 'a file without a row is removed once it is this old (longer than any upload takes)',
  }),
  DASHBOARD_REFRESH_SECONDS: positiveInt({
    default: 5,
    desc: 'how often serviceDashboardUpdated pushes the live figures (computed once per department for the whole cluster)',
  }),
  ALERT_RULES_FILE: str({ default: '', desc: 'alert rules and webhooks (JSON); empty: the shipped config/alerts.json' }),
  ALERT_EVALUATE_SECONDS: positiveInt({
    default: 15,
    desc: 'how often alert rules are evaluated (by one process of the cluster at a time)',
  }),
  ALERT_WEBHOOK_ATTEMPTS: positiveInt({ default: 5, desc: 'attempts of one webhook delivery before it is given up' }),
  ALERT_WEBHOOK_RETRY_DELAY_SECONDS: positiveInt({
    default: 5,
    desc: 'delay before the first retry of a webhook delivery; doubles with each retry',
  }),
  ALERT_WEBHOOK_TIMEOUT_MS: positiveInt({ default: 5000, desc: 'a webhook receiver that has not answered within this fails the attempt' }),
  ALERT_LOCALE: str({
    choices: [...SUPPORTED_LOCALES],
    default: 'zh-CN',
    desc: 'language of the alert texts pushed to DingTalk, WeCom and generic alert webhooks (and of alerts.summary in SQL)',
  }),
  WEBHOOK_ALLOW_PRIVATE: bool({
    default: false,
    desc: 'let webhooks (createWebhook) reach loopback, private and link-local addresses (tests, closed networks)',
  }),
  WEBHOOK_ATTEMPTS: positiveInt({ default: 8, desc: 'attempts of one event delivery to a webhook before it is given up' }),
  WEBHOOK_RETRY_DELAY_SECONDS: positiveInt({
    default: 10,
    desc: 'delay before the first retry of a webhook delivery; doubles with each retry',
  }),
  WEBHOOK_TIMEOUT_MS: positiveInt({ default: 10000, desc: 'a webhook receiver that has not answered within this fails the attempt' }),
  WEBHOOK_DISABLE_AFTER_SECONDS: positiveInt({
    default: 86400,
    desc: 'a webhook whose every delivery has failed for this long is disabled and its creator notified',
  }),
  WEBHOOK_OUTBOX_POLL_MS: positiveInt({ default: 1000, desc: 'how often each process looks for new webhook events to deliver' }),
  WEBHOOK_RETENTION_DAYS: positiveInt({
    default: 30,
    desc: 'finished webhook deliveries and their events are deleted after this many days',
  }),
  NODE_ENV: str({ default: 'development', desc: 'production: webhook URLs must be https' }),
  PLAYGROUND: bool({ default: true, desc: 'serve GraphiQL at GET /graphql' }),
  INTROSPECTION: bool({
    default: true,
    desc: 'answer __schema / __type queries (the playground and codegen need them), over HTTP and WebSocket',
  }),
  METRICS_TOKEN: secret({ default: '', desc: 'when set, GET /metrics requires Authorization: Bearer <this> (at least 32 characters)' }),
  SHUTDOWN_GRACE_MS: num({ default: 10000, desc: 'how long SIGTERM waits for requests to finish' }),
};

export type Config = Readonly<{
  port: number;
  host: string;
  /** HTTP_KEEP_ALIVE_SECONDS in ms. */
  httpKeepAliveMs: number;
  dataDir: string;
  databaseUrl: string | null;
  embeddedPgPort: number;
  dbPoolMax: number;
  redisUrl: string | null;
  redisCommandTimeoutMs: number;
  /** DB_TIMEOUT_MS; 0: no limit. */
  dbTimeoutMs: number;
  /** SLOW_SQL_MS; 0: off. */
  slowSqlMs: number;
  redisBreaker: { failures: number; halfOpenAfterMs: number };
  cache: { maxEntries: number; ttlMs: number };
  /** OTEL_EXPORTER_OTLP_ENDPOINT, or null when tracing is off. */
  otlpEndpoint: string | null;
  jwtSecret: string | null;
  jwtTtl: string;
  /** SESSION_CACHE_SECONDS in ms; 0 turns the session cache off. */
  sessionCacheMs: number;
  wsSessionRecheckMs: number;
  wsMaxConnectionsPerUser: number;
  wsMaxSubscriptionsPerSocket: number;
  /** WS_HEARTBEAT_SECONDS in ms. */
  wsHeartbeatMs: number;
  /** API keys: API_KEY_ROTATION_OVERLAP_SECONDS in ms, API_KEY_USES_PER_MINUTE. */
  apiKeys: { rotationOverlapMs: number; usesPerMinute: number };
  adminEmail: string;
  adminPassword: string | null;
  businessTz: string;
  logLevel: string;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  trustProxy: boolean | number | string[];
  registerCustomerPerHour: number;
  limits: { maxDepth: number; maxCost: number; maxAliases: number; maxTokens: number; maxDirectives: number };
  presence: { heartbeatTtlMs: number; connectionLeaseMs: number; renewEveryMs: number; sweepEveryMs: number };
  service: {
    requireShift: boolean;
    queueMaxLength: number;
    ageingSeconds: number;
    priorityRules: string;
    idleWarningSeconds: number;
    idleCloseSeconds: number;
    offlineGraceSeconds: number;
    shiftEndGraceSeconds: number;
    firstReplyTimeoutSeconds: number;
    /** CHAT_APPEND_WINDOW_MS */
    appendWindowMs: number;
    ratePerMinute: { sendMessage: number; endConversation: number; rateConversation: number; setPresence: number };
  };
  knowledge: KnowledgeSettings & {
    configFile: string;
    lexiconFile: string;
    lexicon: Lexicon;
    engine: 'jieba' | 'intl';
    autoAnswerThreshold: number;
  };
  classifier: { rulesFile: string; rules: ClassifierRules };
  pii: { rulesFile: string; rules: PiiRules };
  /** keyring null: ENCRYPTION_KEYS unset, the generated one in DATA_DIR is used (app.ts). */
  encryption: { keyring: Keyring | null; revealRoles: Role[]; revealAgentDepartments: string[]; revealPerHour: number };

  quality: QualitySettings & { rulesFile: string; adherenceGraceMs: number };
  records: { archive: { afterDays: number; retainDays: number | null; batchSize: number; everyMs: number }; exportTtlMs: number };
  tickets: TicketSettings;
  staffing: StaffingSettings;
  swaps: { minNoticeHours: number };
  jobs: { pollingIntervalSeconds: number };
  uploads: { sweepEveryMs: number; orphanGraceMs: number };
  operations: {
    dashboardRefreshMs: number;
    alertEvaluateMs: number;
    alerts: AlertSettings & { rulesFile: string };
    webhook: { attempts: number; retryDelaySeconds: number; timeoutMs: number; locale: Locale };
  };
  /** Outbound webhooks (createWebhook): deliveries, retries, the failure window, the address policy. */
  webhooks: {
    attempts: number;
    retryDelaySeconds: number;
    timeoutMs: number;
    disableAfterMs: number;
    outboxPollMs: number;
    retentionMs: number;
    allowPrivate: boolean;
    requireHttps: boolean;
  };
  playground: boolean;
  introspection: boolean;
  metricsToken: string | null;
  shutdownGraceMs: number;
}>;

export class ConfigError extends Error {}

/** Reads the environment (and `.env` when present); a bad value stops start-up with the variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env === process.env && existsSync('.env')) dotenv.config({ quiet: true });
  const problems: string[] = [];
  const e = cleanEnv(env, spec, {
    reporter: ({ errors }) => {
      for (const [name, err] of Object.entries(errors)) problems.push(`${name}: ${err?.message ?? 'invalid'}`);
    },
  });
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  if (e.RETAIN_DAYS && e.RETAIN_DAYS <= e.ARCHIVE_AFTER_DAYS) {
    throw new ConfigError(`Invalid configuration:\n  RETAIN_DAYS: must be more than ARCHIVE_AFTER_DAYS (${e.ARCHIVE_AFTER_DAYS})`);
  }
  const knowledgeFile = e.KNOWLEDGE_CONFIG_FILE ? path.resolve(e.KNOWLEDGE_CONFIG_FILE) : shippedConfigFile('knowledge.json');
  const rulesFile = e.CLASSIFIER_RULES_FILE ? path.resolve(e.CLASSIFIER_RULES_FILE) : shippedConfigFile('classifier.json');
  const knowledge = fromFile('KNOWLEDGE_CONFIG_FILE', knowledgeFile, parseKnowledgeSettings);
  const lexiconFile = e.KNOWLEDGE_LEXICON_FILE ? path.resolve(e.KNOWLEDGE_LEXICON_FILE) : shippedConfigFile('lexicon.json');
  const lexicon = fromFile('KNOWLEDGE_LEXICON_FILE', lexiconFile, parseLexicon);
  const classifierRules = fromFile('CLASSIFIER_RULES_FILE', rulesFile, parseClassifierRules);
  const piiRulesFile = e.PII_RULES_FILE ? path.resolve(e.PII_RULES_FILE) : shippedConfigFile('pii.json');
  const piiRules = fromFile('PII_RULES_FILE', piiRulesFile, parsePiiRules);
  const qualityFile = e.QUALITY_RULES_FILE ? path.resolve(e.QUALITY_RULES_FILE) : shippedConfigFile('quality.json');
  const quality = fromFile('QUALITY_RULES_FILE', qualityFile, parseQualitySettings);
  const tickets = ticketSettings(e);
  const encryption = encryptionSettings(e);
  const alertRulesFile = e.ALERT_RULES_FILE ? path.resolve(e.ALERT_RULES_FILE) : shippedConfigFile('alerts.json');
  const alerts = fromFile('ALERT_RULES_FILE', alertRulesFile, parseAlertSettings);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    httpKeepAliveMs: e.HTTP_KEEP_ALIVE_SECONDS * 1000,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL || null,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    dbPoolMax: e.DB_POOL_MAX,
    redisUrl: e.REDIS_URL || null,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    dbTimeoutMs: e.DB_TIMEOUT_MS,
    slowSqlMs: e.SLOW_SQL_MS,
    redisBreaker: { failures: e.REDIS_BREAKER_FAILURES, halfOpenAfterMs: e.REDIS_BREAKER_HALF_OPEN_MS },
    cache: { maxEntries: e.CACHE_MAX_ENTRIES, ttlMs: e.CACHE_TTL_SECONDS * 1000 },
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT || null,
    jwtSecret: e.JWT_SECRET || null,
    jwtTtl: e.JWT_TTL,
    sessionCacheMs: e.SESSION_CACHE_SECONDS * 1000,
    wsSessionRecheckMs: e.WS_SESSION_RECHECK_SECONDS * 1000,
    wsMaxConnectionsPerUser: e.WS_MAX_CONNECTIONS_PER_USER,
    wsMaxSubscriptionsPerSocket: e.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
    wsHeartbeatMs: e.WS_HEARTBEAT_SECONDS * 1000,
    apiKeys: { rotationOverlapMs: e.API_KEY_ROTATION_OVERLAP_SECONDS * 1000, usesPerMinute: e.API_KEY_USES_PER_MINUTE },
    adminEmail: e.ADMIN_EMAIL.toLowerCase(),
    adminPassword: e.ADMIN_PASSWORD || null,
    businessTz: e.BUSINESS_TZ,
    logLevel: e.LOG_LEVEL,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
    trustProxy: e.TRUST_PROXY,
    registerCustomerPerHour: e.RATE_REGISTER_CUSTOMER_PER_HOUR,
    limits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxCost: e.GRAPHQL_MAX_COST,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
    },
    presence: {
      heartbeatTtlMs: e.PRESENCE_HEARTBEAT_TTL_SECONDS * 1000,
      connectionLeaseMs: e.PRESENCE_HEARTBEAT_TTL_SECONDS * 1000,
      renewEveryMs: Math.max(1000, Math.floor((e.PRESENCE_HEARTBEAT_TTL_SECONDS * 1000) / 3)),
      sweepEveryMs: e.PRESENCE_SWEEP_SECONDS * 1000,
    },
    service: {
      requireShift: e.ROUTING_REQUIRE_SHIFT,
      queueMaxLength: e.QUEUE_MAX_LENGTH,
      ageingSeconds: e.QUEUE_AGEING_SECONDS,
      priorityRules: e.PRIORITY_RULES,
      idleWarningSeconds: e.IDLE_WARNING_SECONDS,
      idleCloseSeconds: e.IDLE_CLOSE_SECONDS,
      offlineGraceSeconds: e.AGENT_OFFLINE_GRACE_SECONDS,
      shiftEndGraceSeconds: e.SHIFT_END_GRACE_SECONDS,
      firstReplyTimeoutSeconds: e.FIRST_REPLY_TIMEOUT_SECONDS,
      appendWindowMs: e.CHAT_APPEND_WINDOW_MS,
      ratePerMinute: {
        sendMessage: e.RATE_SEND_MESSAGE_PER_MINUTE,
        endConversation: e.RATE_END_CONVERSATION_PER_MINUTE,
        rateConversation: e.RATE_RATE_CONVERSATION_PER_MINUTE,
        setPresence: e.RATE_SET_PRESENCE_PER_MINUTE,
      },
    },
    knowledge: {
      ...knowledge,
      configFile: knowledgeFile,
      lexiconFile,
      lexicon,
      engine: e.KNOWLEDGE_SEGMENTER as 'jieba' | 'intl',
      autoAnswerThreshold: e.AUTO_ANSWER_THRESHOLD,
    },
    classifier: { rulesFile, rules: classifierRules },
    pii: { rulesFile: piiRulesFile, rules: piiRules },
    encryption,

    quality: { ...quality, rulesFile: qualityFile, adherenceGraceMs: e.ADHERENCE_GRACE_MINUTES * 60_000 },
    records: {
      archive: {
        afterDays: e.ARCHIVE_AFTER_DAYS,
        retainDays: e.RETAIN_DAYS || null,
        batchSize: e.ARCHIVE_BATCH_SIZE,
        everyMs: e.ARCHIVE_EVERY_MINUTES * 60_000,
      },
      exportTtlMs: e.EXPORT_TTL_HOURS * 3_600_000,
    },
    tickets,
    staffing: {
      historyWeeks: e.FORECAST_HISTORY_WEEKS,
      serviceLevelTarget: e.SERVICE_LEVEL_TARGET,
      serviceLevelSeconds: e.SERVICE_LEVEL_SECONDS,
      maxOccupancy: e.MAX_OCCUPANCY,
      shrinkage: e.SHRINKAGE,
      minRestHours: e.MIN_REST_HOURS,
      maxDaysPerWeek: e.MAX_DAYS_PER_WEEK,
      maxWeeklyHours: e.MAX_WEEKLY_HOURS,
      proposalTimeLimitSeconds: e.PROPOSAL_TIME_LIMIT_SECONDS,
    },
    swaps: { minNoticeHours: e.SWAP_MIN_NOTICE_HOURS },
    jobs: { pollingIntervalSeconds: e.JOB_POLL_SECONDS },
    uploads: { sweepEveryMs: e.UPLOAD_SWEEP_SECONDS * 1000, orphanGraceMs: e.UPLOAD_ORPHAN_GRACE_SECONDS * 1000 },
    operations: {
      dashboardRefreshMs: e.DASHBOARD_REFRESH_SECONDS * 1000,
      alertEvaluateMs: e.ALERT_EVALUATE_SECONDS * 1000,
      alerts: { ...alerts, rulesFile: alertRulesFile },
      webhook: {
        attempts: e.ALERT_WEBHOOK_ATTEMPTS,
        retryDelaySeconds: e.ALERT_WEBHOOK_RETRY_DELAY_SECONDS,
        timeoutMs: e.ALERT_WEBHOOK_TIMEOUT_MS,
        locale: e.ALERT_LOCALE,
      },
    },
    webhooks: {
      attempts: e.WEBHOOK_ATTEMPTS,
      retryDelaySeconds: e.WEBHOOK_RETRY_DELAY_SECONDS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      outboxPollMs: e.WEBHOOK_OUTBOX_POLL_MS,
      retentionMs: e.WEBHOOK_RETENTION_DAYS * 86_400_000,
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
      requireHttps: e.NODE_ENV === 'production',
    },
    playground: e.PLAYGROUND,
    introspection: e.INTROSPECTION,
    metricsToken: e.METRICS_TOKEN || null,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
  });
}

/** A JSON configuration file named by `variable`, parsed and checked; any problem is a ConfigError naming both. */
function fromFile<T>(variable: string, file: string, parse: (raw: unknown, source: string) => T): T {
  try {
    return parse(readJsonFile(file), file);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  ${variable}: ${(err as Error).message}`);
  }
}

/** ENCRYPTION_KEYS and the REVEAL_* variables; every bad one is named in one ConfigError. */
function encryptionSettings(e: {
  ENCRYPTION_KEYS: string;
  REVEAL_ROLES: string;
  REVEAL_AGENT_DEPARTMENTS: string;
  RATE_REVEAL_TEXT_PER_HOUR: number;
}): Config['encryption'] {
  const problems: string[] = [];
  let keyring: Keyring | null = null;
  try {
    keyring = e.ENCRYPTION_KEYS.trim() ? parseKeyring(e.ENCRYPTION_KEYS) : null;
  } catch (err) {
    problems.push(`ENCRYPTION_KEYS: ${(err as Error).message}`);
  }
  const list = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const roles = list(e.REVEAL_ROLES);
  const unknown = roles.filter((r) => !Object.values(Role).includes(r as Role));
  if (unknown.length) problems.push(`REVEAL_ROLES: not a role: ${unknown.join(', ')} (${Object.values(Role).join(', ')})`);
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return {
    keyring,
    revealRoles: roles as Role[],
    revealAgentDepartments: list(e.REVEAL_AGENT_DEPARTMENTS),
    revealPerHour: e.RATE_REVEAL_TEXT_PER_HOUR,
  };
}

/** The TICKET_* variables; every bad one is named in one ConfigError. */
function ticketSettings(e: {
  TICKET_CATEGORIES: string;
  TICKET_SLA: string;
  TICKET_BUSINESS_HOURS: string;
  TICKET_REOPEN_WINDOW_DAYS: number;
  TICKET_AGENT_LIMIT: number;
  TICKET_SLA_SWEEP_SECONDS: number;
  BUSINESS_TZ: string;
}): TicketSettings {
  const problems: string[] = [];
  const read = <T>(variable: string, parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      problems.push(`${variable}: ${(err as Error).message}`);
      return null as T;
    }
  };
  const categories = read('TICKET_CATEGORIES', () => parseTicketCategories(e.TICKET_CATEGORIES));
  const sla = read('TICKET_SLA', () => parseSlaPolicy(e.TICKET_SLA));
  const calendar = read('TICKET_BUSINESS_HOURS', () => parseBusinessHours(e.TICKET_BUSINESS_HOURS, e.BUSINESS_TZ));
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze({
    categories,
    sla,
    calendar,
    reopenWindowDays: e.TICKET_REOPEN_WINDOW_DAYS,
    agentLimit: e.TICKET_AGENT_LIMIT,
    sweepEveryMs: e.TICKET_SLA_SWEEP_SECONDS * 1000,
  });
}

export const configSpec = spec;
