/*
 * The composition root (over 400 lines on purpose): every service of every module is constructed here, once, with
 * exactly the parts it uses, so the wiring of the whole server reads top to bottom in one place.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';
import type { Config } from './config';
import { TokenService } from './platform/auth/tokens';
import { SessionCache } from './platform/auth/session-cache';
import type { Logger } from './platform/logger';
import type { Metrics } from './platform/metrics';
import { PreparedStatements } from './platform/db/prepared';
import type { PubSubPort } from './platform/realtime/pubsub';
import { UNGUARDED, type RedisBreaker } from './platform/redis-breaker';
import { RateLimiters } from './platform/rate-limit';
import { HotCache } from './platform/cache/hot-cache';
import { AccountService } from './modules/accounts/account.service';
import { UserLocaleService } from './modules/accounts/user-locale.service';
import { AuditService } from './modules/audit/audit.service';
import { NotificationService } from './modules/notifications/notification.service';
import { ScheduleService } from './modules/scheduling/schedule.service';
import { ShiftService } from './modules/scheduling/shift.service';
import { PresenceService } from './modules/presence/presence.service';
import { MemoryPresenceStore, RedisPresenceStore } from './modules/presence/presence.store';
import { PresenceHistory } from './modules/presence/presence-history';
import { Scheduler } from './platform/scheduler';
import { BoardService } from './modules/scheduling/board.service';
import { LeaveService } from './modules/leave/leave.service';
import { UploadService } from './modules/uploads/upload.service';
import { SwapService } from './modules/swaps/swap.service';
import { RoutingService } from './modules/conversations/routing.service';
import { ChatService } from './modules/conversations/chat.service';
import { ConversationLifecycleService } from './modules/conversations/lifecycle.service';
import { AgentPool } from './modules/conversations/agent-pool';
import { ConversationQueue } from './modules/conversations/conversation-queue.service';
import { QueueEstimates } from './modules/conversations/queue-estimates';
import { QueueDrain } from './modules/conversations/queue-drain.service';
import { HandOver } from './modules/conversations/hand-over';
import { ConversationSweeps } from './modules/conversations/conversation-sweeps.service';
import { ShiftHandoverService } from './modules/conversations/shift-handover.service';
import { FirstReplySweep } from './modules/conversations/first-reply.sweep';
import { QuickReplyService } from './modules/quick-replies/quick-reply.service';
import { FaqService } from './modules/knowledge/faq.service';
import { FaqPhrasingService } from './modules/knowledge/faq-phrasing.service';
import { FaqLearningService } from './modules/knowledge/faq-learning.service';
import { MessageClassifier } from './modules/knowledge/classifier';
import { TicketService } from './modules/tickets/ticket.service';
import { PiiDetector } from './modules/records/pii-detector';
import { maskText } from './modules/records/masking';
import { PiiTagger, RecordTextMasker } from './modules/records/pii-tagger';
import { PiiBackfill } from './modules/records/pii-backfill';
import { DataKeyStore } from './modules/records/data-keys';
import { TextProtector } from './modules/records/text-protector';
import { KeyRotation } from './modules/records/key-rotation';
import { RevealService } from './modules/records/reveal.service';
import { ErasureService } from './modules/records/erasure.service';
import type { Keyring } from './modules/records/keyring';
import type { JobQueue } from './platform/jobs/job-queue';
import { QualityInspection } from './modules/quality/quality-inspection.service';
import { QualityReviewService } from './modules/quality/quality-review.service';
import { QualityReportService } from './modules/quality/quality-report.service';
import { AdherenceService } from './modules/quality/adherence.service';
import { ForecastService } from './modules/staffing/forecast.service';
import { StaffingPlanService } from './modules/staffing/staffing-plan.service';
import { ProposalService } from './modules/staffing/proposal.service';
import { ConnectedClients } from './modules/operations/connected-clients';
import { DashboardService } from './modules/operations/dashboard.service';
import { DashboardPublisher } from './modules/operations/dashboard-publisher';
import { IntervalLease } from './modules/operations/interval-lease';
import { AlertEvaluator } from './modules/operations/alert-evaluator';
import { AlertService } from './modules/operations/alert.service';
import { ErrorRateSampler } from './modules/operations/error-rate';
import { WebhookDispatcher } from './modules/operations/webhook-delivery';
import { WebhookService } from './modules/integrations/webhook.service';
import { WebhookDeliveryService } from './modules/integrations/webhook-delivery.service';
import path from 'node:path';
import { RecordSearchService } from './modules/records/search.service';
import { RecordExportService } from './modules/records/export.service';
import { ArchiveService } from './modules/records/archive.service';
import { TranscriptService } from './modules/records/transcript';
import { ApiKeyService } from './modules/integrations/api-key.service';
import { ApiKeyAuthenticator } from './modules/integrations/api-key-auth';
import { ChannelService } from './modules/integrations/channel.service';

/** The long-lived parts of one server process, built once at start-up and handed to every request. */
export interface Services {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  orm: MikroORM;
  pubsub: PubSubPort;
  /** Present when REDIS_URL is set. */
  redis: Redis | null;
  /** The circuit breaker around Redis commands (rate limits, presence, publishing); present with Redis. */
  redisBreaker: RedisBreaker | null;
  /** Background jobs in PostgreSQL (pg-boss): define kinds while building services; started by app.ts. */
  jobs: JobQueue;
  tokens: TokenService;
  /** Verified tokens and signed-in users, so a request with a valid token runs no SQL to authenticate. */
  sessions: SessionCache;
  /** Hot reads (departments, shift types, published FAQs, settings), invalidated on every process on change. */
  cache: HotCache;
  audit: AuditService;
  accounts: AccountService;
  userLocales: UserLocaleService;
  notifications: NotificationService;
  shifts: ShiftService;
  schedules: ScheduleService;
  presence: PresenceService;
  board: BoardService;
  uploads: UploadService;
  leave: LeaveService;
  swaps: SwapService;
  routing: RoutingService;
  /** The line of waiting requests: positions, estimates, what waiting customers and supervisors are told. */
  conversationQueue: ConversationQueue;
  /** Free seats offered to the queue (events and a periodic sweep). */
  queueDrain: QueueDrain;
  chat: ChatService;
  /** Transfers and ratings. */
  lifecycle: ConversationLifecycleService;
  /** Idle warning and close, offline grace. */
  conversationSweeps: ConversationSweeps;
  /** Hands an agent's conversations over once their shift has ended (SHIFT_END_GRACE_SECONDS). */
  shiftHandover: ShiftHandoverService;
  /** Moves a conversation nobody answered within FIRST_REPLY_TIMEOUT_SECONDS, once, and tells supervisors. */
  firstReply: FirstReplySweep;
  quickReplies: QuickReplyService;
  /** The FAQ knowledge base and its search index (bestAnswer for auto-answers). */
  faqs: FaqService;
  /** FAQ phrasings (相似问法) and suggestions; learning from service (sendFaq and linked quick replies, its sweep, unansweredQuestions). */
  faqPhrasings: FaqPhrasingService;
  faqLearning: FaqLearningService;
  classifier: MessageClassifier;
  /** Tickets, their SLAs (and the SLA sweep) and auto-assignment. */
  tickets: TicketService;
  /** Finds personal data in texts (PII_RULES_FILE); the ORM's PiiTagger fills piiTypes with it on every write. */
  pii: PiiDetector;
  /** Masks and seals rows stored before protection existed. */
  piiBackfill: PiiBackfill;
  /** Per-subject data keys, wrapped by the master keys of ENCRYPTION_KEYS (cached unwrapped). */
  dataKeys: DataKeyStore;
  /** Masks texts with personal data and seals their originals; opens them for revealText. */
  protector: TextProtector;
  /** Re-wraps data keys with the current master key; encryptionStatus. */
  keyRotation: KeyRotation;
  reveal: RevealService;
  /** forgetCustomer (crypto-shredding) and requestDataErasure. */
  erasure: ErasureService;
  /** Contact forecast (and its overrides), the Erlang C staffing plan, schedule proposals (HiGHS). */
  forecasts: ForecastService;
  staffingPlans: StaffingPlanService;
  proposals: ProposalService;
  /** Records: search, exports (a job), transcripts, the archive run. */
  records: { search: RecordSearchService; exports: RecordExportService; archive: ArchiveService; transcripts: TranscriptService };
  scheduler: Scheduler;
  /** Quality (QUALITY_RULES_FILE): inspection of every message, reviews and their weekly sample, reports; adherence. */
  quality: {
    inspection: QualityInspection;
    reviews: QualityReviewService;
    reports: QualityReportService;
    adherence: AdherenceService;
  };
  /** WebSocket clients per role in the whole cluster (each process reports its own to Redis). */
  connectedClients: ConnectedClients;
  /** serviceDashboard: live figures and the today / week reports. */
  dashboard: DashboardService;
  /** Pushes serviceDashboardUpdated once per watched department and interval for the cluster. */
  dashboardPublisher: DashboardPublisher;
  /** Alert rules (ALERT_RULES_FILE) evaluated by one process at a time; alerts, acknowledgements, webhooks. */
  alertEvaluator: AlertEvaluator;
  alerts: AlertService;
  /** API keys: createApiKey & co., and signing keys in (cached like sessions, every use checked and counted). */
  apiKeys: { keys: ApiKeyService; auth: ApiKeyAuthenticator };
  /** channelInbound and linkChannelIdentity. */
  channels: ChannelService;
  /** Outbound webhooks: management (webhooks) and the outbox's delivery through the job queue (webhookDelivery). */
  webhooks: WebhookService;
  webhookDelivery: WebhookDeliveryService;
}

export function createServices(deps: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  orm: MikroORM;
  pubsub: PubSubPort;
  redis: Redis | null;
  redisBreaker?: RedisBreaker | null;
  jobs: JobQueue;
  keyring: Keyring;
  jwtSecret: string;
}): Services {
  const { keyring, ...shared } = deps;
  const pii = new PiiDetector(deps.config.pii.rules);
  const dataKeys = new DataKeyStore(keyring, () => deps.orm.em.fork());
  const protector = new TextProtector(pii, dataKeys, deps.metrics, deps.logger, () => deps.orm.em.fork());
  deps.orm.em.getEventManager().registerSubscriber(new PiiTagger(protector));
  deps.orm.em.getEventManager().registerSubscriber(new RecordTextMasker(deps.config.pii.rules));
  const piiBackfill = new PiiBackfill(protector, () => deps.orm.em.fork(), deps.logger);
  const keyRotation = new KeyRotation(dataKeys, () => deps.orm.em.fork(), deps.logger);
  const tokens = new TokenService(deps.jwtSecret, deps.config.jwtTtl);
  const redisGuard = deps.redisBreaker ?? UNGUARDED;
  const sessions = new SessionCache(tokens, deps.pubsub, deps.redis, deps.logger, { ttlMs: deps.config.sessionCacheMs, guard: redisGuard });
  const limiters = new RateLimiters(deps.redis, redisGuard);
  const cache = new HotCache(deps.pubsub, deps.logger, deps.config.cache, deps.metrics.registry);
  const audit = new AuditService();
  const statements = new PreparedStatements(deps.orm.em, deps.metrics, { logger: deps.logger, ms: deps.config.slowSqlMs });
  const accounts = new AccountService(
    tokens,
    audit,
    sessions,
    limiters,
    {
      maxFailures: deps.config.loginMaxFailures,
      windowSeconds: deps.config.loginWindowSeconds,
      registerPerHour: deps.config.registerCustomerPerHour,
    },
    cache,
    statements,
  );
  const userLocales = new UserLocaleService(sessions);
  const notifications = new NotificationService(deps.pubsub, audit);
  const shifts = new ShiftService(audit, cache);
  const presenceStore = deps.redis ? new RedisPresenceStore(deps.redis, redisGuard) : new MemoryPresenceStore();
  const presenceHistory = new PresenceHistory(() => deps.orm.em.fork(), deps.logger);
  const presenceLimiter = limiters.create('set-presence', deps.config.service.ratePerMinute.setPresence, 60);
  const presence = new PresenceService(presenceStore, deps.pubsub, deps.logger, deps.config.presence, presenceHistory, presenceLimiter);
  const board = new BoardService(presence);
  const uploads = new UploadService(deps.config.dataDir);
  const leave = new LeaveService(audit, notifications, deps.config.businessTz);
  const schedules = new ScheduleService(audit, leave, deps.config.businessTz);
  const swaps = new SwapService(audit, notifications, leave, {
    minNoticeHours: deps.config.swaps.minNoticeHours,
    minRestHours: deps.config.staffing.minRestHours,
    maxWeeklyHours: deps.config.staffing.maxWeeklyHours,
  });
  uploads.addReadPolicy((em, viewer, upload) => leave.mayReadAttachment(em, viewer, upload.id));
  const quickReplies = new QuickReplyService(audit);
  const faqs = new FaqService(
    audit,
    deps.config.knowledge,
    deps.logger,
    () => deps.orm.em.fork(),
    cache,
    (text) => maskText(text, deps.config.pii.rules),
  );
  const classifier = new MessageClassifier(deps.config.classifier.rules);
  const assist = { faqs, classifier, notifications, autoAnswerThreshold: deps.config.knowledge.autoAnswerThreshold };
  const conversationsFork = () => deps.orm.em.fork();
  const agentPool = new AgentPool(deps.config.service, presence, conversationsFork);
  const estimates = new QueueEstimates(agentPool);
  const conversationQueue = new ConversationQueue(deps.config.service, deps.pubsub, estimates, deps.logger, conversationsFork);
  const queueDrain = new QueueDrain(presence, agentPool, conversationQueue, deps.logger, conversationsFork);
  const qualityInspection = new QualityInspection(deps.config.quality, classifier, deps.pubsub, deps.metrics, deps.logger, () =>
    deps.orm.em.fork(),
  );
  const chat = new ChatService(deps.pubsub, queueDrain, limiters, deps.config.service, statements, protector, qualityInspection);
  const routing = new RoutingService(
    deps.config.service,
    agentPool,
    conversationQueue,
    estimates,
    chat,
    conversationsFork,
    assist,
    protector,
  );
  const faqPhrasings = new FaqPhrasingService(audit, faqs);
  const faqLearning = new FaqLearningService(
    faqs,
    (scope, input) => chat.send(scope, input),
    deps.config.businessTz,
    deps.logger,
    () => deps.orm.em.fork(),
  );
  const handOver = new HandOver(deps.config.businessTz, deps.pubsub, agentPool, queueDrain, chat);
  const lifecycle = new ConversationLifecycleService(
    deps.config.service.ratePerMinute,
    presence,
    agentPool,
    queueDrain,
    handOver,
    chat,
    limiters,
  );
  const conversationSweeps = new ConversationSweeps(
    deps.config.service,
    presence,
    agentPool,
    handOver,
    chat,
    deps.logger,
    conversationsFork,
  );
  const shiftHandover = new ShiftHandoverService(deps.config.service, handOver, agentPool, notifications, audit, conversationsFork);
  const firstReply = new FirstReplySweep(deps.config.service, handOver, agentPool, notifications, audit, conversationsFork);
  const tickets = new TicketService(
    audit,
    notifications,
    deps.config.tickets,
    deps.config.businessTz,
    deps.logger,
    () => deps.orm.em.fork(),
    assist,
  );
  const reveal = new RevealService(protector, audit, limiters, deps.config.encryption);
  const erasure = new ErasureService(dataKeys, accounts, audit, notifications, limiters);
  const scheduler = new Scheduler(deps.logger);
  const quality = {
    inspection: qualityInspection,
    reviews: new QualityReviewService(deps.config.quality, audit, deps.config.businessTz, deps.logger, () => deps.orm.em.fork()),
    reports: new QualityReportService(deps.config.quality, deps.config.businessTz),
    adherence: new AdherenceService(presenceHistory, { businessTz: deps.config.businessTz, graceMs: deps.config.quality.adherenceGraceMs }),
  };
  const forecasts = new ForecastService(audit, deps.config.staffing, deps.config.businessTz, deps.config.tickets.calendar);
  const staffingPlans = new StaffingPlanService(forecasts, leave, deps.config.staffing, deps.config.businessTz);
  const proposals = new ProposalService(
    forecasts,
    staffingPlans,
    schedules,
    leave,
    audit,
    deps.config.staffing,
    deps.config.businessTz,
    deps.config.tickets.calendar,
  );
  const ops = deps.config.operations;
  const fork = () => deps.orm.em.fork();
  const connectedClients = new ConnectedClients(deps.metrics, deps.redis, ops.dashboardRefreshMs);
  const dashboard = new DashboardService(presence, connectedClients, deps.config.businessTz);
  const lease = new IntervalLease(deps.redis, fork);
  const dashboardPublisher = new DashboardPublisher(
    dashboard,
    deps.pubsub,
    deps.redis,
    lease,
    deps.metrics,
    deps.logger,
    fork,
    ops.dashboardRefreshMs,
  );
  const webhooks = new WebhookDispatcher(ops.alerts.webhooks, deps.jobs, fork, deps.metrics, deps.logger, ops.webhook);
  const alertEvaluator = new AlertEvaluator(
    ops.alerts,
    dashboard,
    notifications,
    deps.pubsub,
    webhooks,
    new ErrorRateSampler(deps.metrics),
    lease,
    deps.metrics,
    deps.logger,
    fork,
    ops.alertEvaluateMs,
    ops.webhook.locale,
  );
  const alerts = new AlertService(audit, dashboard);
  const records = {
    search: new RecordSearchService(deps.config.pii.rules),
    exports: new RecordExportService(
      audit,
      deps.jobs,
      deps.pubsub,
      deps.config.pii.rules,
      { dir: path.join(deps.config.dataDir, 'exports'), ttlMs: deps.config.records.exportTtlMs },
      deps.logger,
      fork,
    ),
    archive: new ArchiveService(audit, deps.config.records.archive, deps.logger, fork),
    transcripts: new TranscriptService(chat, deps.config.pii.rules),
  };
  const apiKeys = {
    keys: new ApiKeyService(audit, sessions, deps.config.apiKeys.rotationOverlapMs),
    auth: new ApiKeyAuthenticator(fork, sessions, audit, limiters, deps.logger, {
      cacheTtlMs: deps.config.sessionCacheMs,
      usesPerMinute: deps.config.apiKeys.usesPerMinute,
    }),
  };
  const channels = new ChannelService(audit, routing, chat, fork, Math.floor(deps.config.dbPoolMax / 4));
  const webhookDelivery = new WebhookDeliveryService(deps.jobs, dataKeys, notifications, audit, fork, deps.logger, deps.config.webhooks);
  const outboundWebhooks = new WebhookService(audit, dataKeys, webhookDelivery, deps.config.webhooks);
  return {
    ...shared,
    redisBreaker: deps.redisBreaker ?? null,
    dataKeys,
    protector,
    keyRotation,
    reveal,
    erasure,
    tokens,
    sessions,
    cache,
    audit,
    accounts,
    userLocales,
    notifications,
    shifts,
    schedules,
    presence,
    board,
    uploads,
    leave,
    swaps,
    quickReplies,
    routing,
    conversationQueue,
    queueDrain,
    chat,
    lifecycle,
    conversationSweeps,
    shiftHandover,
    firstReply,
    faqs,
    classifier,
    tickets,
    pii,
    piiBackfill,
    scheduler,
    quality,
    forecasts,
    staffingPlans,
    proposals,
    faqPhrasings,
    faqLearning,
    connectedClients,
    dashboard,
    dashboardPublisher,
    alertEvaluator,
    alerts,
    records,
    apiKeys,
    channels,
    webhooks: outboundWebhooks,
    webhookDelivery,
  };
}
