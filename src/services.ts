import type { MikroORM } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';
import type { Config } from './config';
import { TokenService } from './platform/auth/tokens';
import { SessionCache } from './platform/auth/session-cache';
import type { Logger } from './platform/logger';
import type { Metrics } from './platform/metrics';
import { PreparedStatements } from './platform/db/prepared';
import type { PubSubPort } from './platform/realtime/pubsub';
import { RateLimiters } from './platform/rate-limit';
import { AccountService } from './modules/accounts/account.service';
import { AuditService } from './modules/audit/audit.service';
import { NotificationService } from './modules/notifications/notification.service';
import { ScheduleService } from './modules/scheduling/schedule.service';
import { ShiftService } from './modules/scheduling/shift.service';
import { PresenceService } from './modules/presence/presence.service';
import { MemoryPresenceStore, RedisPresenceStore } from './modules/presence/presence.store';
import { Scheduler } from './platform/scheduler';
import { BoardService } from './modules/scheduling/board.service';
import { LeaveService } from './modules/leave/leave.service';
import { UploadService } from './modules/uploads/upload.service';
import { SwapService } from './modules/swaps/swap.service';
import { RoutingService } from './modules/conversations/routing.service';
import { ChatService } from './modules/conversations/chat.service';
import { ConversationLifecycleService } from './modules/conversations/lifecycle.service';
import { ShiftHandoverService } from './modules/conversations/shift-handover.service';
import { FirstReplySweep } from './modules/conversations/first-reply.sweep';
import { QuickReplyService } from './modules/quick-replies/quick-reply.service';
import { FaqService } from './modules/knowledge/faq.service';
import { MessageClassifier } from './modules/knowledge/classifier';
import { TicketService } from './modules/tickets/ticket.service';
import { PiiDetector } from './modules/records/pii-detector';
import { PiiTagger } from './modules/records/pii-tagger';
import { PiiBackfill } from './modules/records/pii-backfill';
import type { JobQueue } from './platform/jobs/job-queue';
import path from 'node:path';
import { RecordSearchService } from './modules/records/search.service';
import { RecordExportService } from './modules/records/export.service';
import { ArchiveService } from './modules/records/archive.service';
import { TranscriptService } from './modules/records/transcript';

/** The long-lived parts of one server process, built once at start-up and handed to every request. */
export interface Services {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  orm: MikroORM;
  pubsub: PubSubPort;
  /** Present when REDIS_URL is set. */
  redis: Redis | null;
  /** Background jobs in PostgreSQL (pg-boss): define kinds while building services; started by app.ts. */
  jobs: JobQueue;
  tokens: TokenService;
  /** Verified tokens and signed-in users, so a request with a valid token runs no SQL to authenticate. */
  sessions: SessionCache;
  audit: AuditService;
  accounts: AccountService;
  notifications: NotificationService;
  shifts: ShiftService;
  schedules: ScheduleService;
  presence: PresenceService;
  board: BoardService;
  uploads: UploadService;
  leave: LeaveService;
  swaps: SwapService;
  routing: RoutingService;
  chat: ChatService;
  /** Transfers, idle handling, offline grace, ratings. */
  lifecycle: ConversationLifecycleService;
  /** Hands an agent's conversations over once their shift has ended (SHIFT_END_GRACE_SECONDS). */
  shiftHandover: ShiftHandoverService;
  /** Moves a conversation nobody answered within FIRST_REPLY_TIMEOUT_SECONDS, once, and tells supervisors. */
  firstReply: FirstReplySweep;
  quickReplies: QuickReplyService;
  /** The FAQ knowledge base and its search index (bestAnswer for auto-answers). */
  faqs: FaqService;
  classifier: MessageClassifier;
  /** Tickets, their SLAs (and the SLA sweep) and auto-assignment. */
  tickets: TicketService;
  /** Finds personal data in texts (PII_RULES_FILE); the ORM's PiiTagger fills piiTypes with it on every write. */
  pii: PiiDetector;
  /** Fills piiTypes of rows stored before detection existed. */
  piiBackfill: PiiBackfill;
  /** Records: search, exports (a job), transcripts, the archive run. */
  records: { search: RecordSearchService; exports: RecordExportService; archive: ArchiveService; transcripts: TranscriptService };
  scheduler: Scheduler;
}

export function createServices(deps: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  orm: MikroORM;
  pubsub: PubSubPort;
  redis: Redis | null;
  jobs: JobQueue;
  jwtSecret: string;
}): Services {
  const pii = new PiiDetector(deps.config.pii.rules);
  deps.orm.em.getEventManager().registerSubscriber(new PiiTagger(pii));
  const piiBackfill = new PiiBackfill(pii, () => deps.orm.em.fork(), deps.logger);
  const tokens = new TokenService(deps.jwtSecret, deps.config.jwtTtl);
  const sessions = new SessionCache(tokens, deps.pubsub, deps.redis, deps.logger, { ttlMs: deps.config.sessionCacheMs });
  const limiters = new RateLimiters(deps.redis);
  const audit = new AuditService();
  const accounts = new AccountService(tokens, audit, sessions, limiters, {
    maxFailures: deps.config.loginMaxFailures,
    windowSeconds: deps.config.loginWindowSeconds,
    registerPerHour: deps.config.registerCustomerPerHour,
  });
  const notifications = new NotificationService(deps.pubsub, audit);
  const shifts = new ShiftService(audit);
  const schedules = new ScheduleService(audit, deps.config.businessTz);
  const presenceStore = deps.redis ? new RedisPresenceStore(deps.redis) : new MemoryPresenceStore();
  const presence = new PresenceService(presenceStore, deps.pubsub, deps.logger, deps.config.presence);
  const board = new BoardService(presence);
  const uploads = new UploadService(deps.config.dataDir);
  const leave = new LeaveService(audit, notifications, deps.config.businessTz);
  schedules.useLeaveLookup(leave);
  const swaps = new SwapService(audit, notifications, leave);
  uploads.addReadPolicy((em, viewer, upload) => leave.mayReadAttachment(em, viewer, upload.id));
  const quickReplies = new QuickReplyService(audit);
  const faqs = new FaqService(audit, deps.config.knowledge, deps.logger, () => deps.orm.em.fork());
  const classifier = new MessageClassifier(deps.config.classifier.rules);
  const assist = { faqs, classifier, notifications, autoAnswerThreshold: deps.config.knowledge.autoAnswerThreshold };
  const routing = new RoutingService(deps.config.service, deps.pubsub, presence, deps.logger, () => deps.orm.em.fork(), assist);
  const chat = new ChatService(deps.pubsub, routing, limiters, deps.config.service.ratePerMinute, new PreparedStatements(deps.orm.em, deps.metrics), pii);
  routing.useChat(chat);
  const lifecycle = new ConversationLifecycleService(deps.config.service, deps.config.businessTz, deps.pubsub, presence, routing, chat, limiters, deps.logger, () =>
    deps.orm.em.fork(),
  );
  const shiftHandover = new ShiftHandoverService(deps.config.service, lifecycle, notifications, audit, () => deps.orm.em.fork());
  const firstReply = new FirstReplySweep(deps.config.service, lifecycle, notifications, audit, () => deps.orm.em.fork());
  const tickets = new TicketService(audit, notifications, deps.config.tickets, deps.config.businessTz, deps.logger, () => deps.orm.em.fork(), assist);
  const scheduler = new Scheduler(deps.logger);
  const fork = () => deps.orm.em.fork();
  const records = {
    search: new RecordSearchService(deps.config.pii.rules),
    exports: new RecordExportService(audit, deps.jobs, deps.pubsub, deps.config.pii.rules, { dir: path.join(deps.config.dataDir, 'exports'), ttlMs: deps.config.records.exportTtlMs }, deps.logger, fork),
    archive: new ArchiveService(audit, deps.config.records.archive, deps.logger, fork),
    transcripts: new TranscriptService(chat, deps.config.pii.rules),
  };
  return { ...deps, records, tokens, sessions, audit, accounts, notifications, shifts, schedules, presence, board, uploads, leave, swaps, quickReplies, routing, chat, lifecycle, shiftHandover, firstReply, faqs, classifier, tickets, pii, piiBackfill, scheduler };
}
