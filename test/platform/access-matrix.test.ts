import { randomUUID } from 'node:crypto';
import { buildSchema } from 'type-graphql';
import { RESOLVERS } from '../../src/schema';
import { addDays } from '../../src/platform/clock';
import { User } from '../../src/modules/accounts/user.entity';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import { Conversation, ConversationStatus, rankOf } from '../../src/modules/conversations/conversation.entity';
import { ServicePriority } from '../../src/modules/conversations/queue-policy';
import { authChecker } from '../../src/platform/auth/auth-checker';
import { createMemoryPubSub } from '../../src/platform/realtime/pubsub';
import {
  EncryptionStatusDocument,
  ForgetCustomerDocument,
  RequestDataErasureDocument,
  RevealTextDocument,
  AuditLogDocument,
  CreateDepartmentDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  DepartmentsDocument,
  LoginDocument,
  MarkNotificationReadDocument,
  MeDocument,
  NotificationsDocument,
  RegisterCustomerDocument,
  SendNotificationDocument,
  UpdateUserDocument,
  UserByIdDocument,
  UsersDocument,
  CreateShiftDocument,
  UpdateShiftDocument,
  ArchiveShiftDocument,
  ShiftsDocument,
  AssignSchedulesDocument,
  RemoveSchedulesDocument,
  SchedulesDocument,
  ScheduleBoardDocument,
  PresenceDocument,
  HeartbeatDocument,
  SetPresenceStatusDocument,
  RequestLeaveDocument,
  ApproveLeaveDocument,
  RejectLeaveDocument,
  CancelLeaveDocument,
  LeaveRequestsDocument,
  LeaveRequestByIdDocument,
  SwapCandidatesDocument,
  CheckSwapDocument,
  RequestSwapDocument,
  ApproveSwapDocument,
  RejectSwapDocument,
  CancelSwapDocument,
  SwapRequestsDocument,
  SwapRequestByIdDocument,
  CreateQuickReplyDocument,
  UpdateQuickReplyDocument,
  DeleteQuickReplyDocument,
  QuickRepliesDocument,
  QuickReplyCategoriesDocument,
  SendQuickReplyDocument,
  RequestServiceDocument,
  LeaveQueueDocument,
  QueueDocument,
  SendMessageDocument,
  MessagesDocument,
  MarkDeliveredDocument,
  MarkReadDocument,
  SetTypingDocument,
  EndConversationDocument,
  AnswerHelpedDocument,
  ConversationsDocument,
  ConversationByIdDocument,
  AddForecastOverrideDocument,
  ApplyScheduleProposalDocument,
  ForecastContactsDocument,
  ForecastOverridesDocument,
  ProposeScheduleDocument,
  RemoveForecastOverrideDocument,
  ScheduleProposalDocument,
  StaffingPlanDocument,
} from '../generated/graphql';
import { RateConversationDocument, TransferConversationDocument } from '../generated/graphql';
import {
  ArchiveFaqDocument,
  ClassifyMessageDocument,
  CreateFaqDocument,
  FaqCategoriesDocument,
  FaqFeedbackDocument,
  FaqsDocument,
  PopularFaqsDocument,
  PublishFaqDocument,
  SearchFaqsDocument,
  AddFaqPhrasingDocument,
  UpdateFaqPhrasingDocument,
  RemoveFaqPhrasingDocument,
  FaqPhrasingSuggestionsDocument,
  AcceptFaqPhrasingDocument,
  RejectFaqPhrasingDocument,
  UnansweredQuestionsDocument,
  SendFaqDocument,
  UpdateFaqDocument,
} from '../generated/graphql';
import {
  AssignTicketDocument,
  CloseTicketDocument,
  CommentOnTicketDocument,
  CreateTicketDocument,
  EscalateTicketDocument,
  RateTicketDocument,
  ReopenTicketDocument,
  ResolveTicketDocument,
  TicketByIdDocument,
  TicketCategoriesDocument,
  TicketFromConversationDocument,
  TicketsDocument,
  TicketStatsDocument,
  TicketAnswerHelpedDocument,
} from '../generated/graphql';
import {
  AdherenceDocument,
  ConversationSentimentDocument,
  QualityChecklistDocument,
  QualityReportCsvDocument,
  QualityReportDocument,
  QualityReviewsDocument,
  QualityRulesDocument,
  QualityViolationsDocument,
  ReviewConversationDocument,
} from '../generated/graphql';
import { OpsAcknowledgeAlertDocument, OpsAlertDeliveriesDocument, OpsAlertsDocument, OpsDashboardLiveDocument } from '../generated/graphql';
import {
  ApiKeysDocument,
  ChannelInboundDocument,
  CreateApiKeyDocument,
  LinkChannelIdentityDocument,
  RevokeApiKeyDocument,
  RotateApiKeyDocument,
} from '../generated/graphql';
import type { ApiKeyScope } from '../generated/graphql';
import { NodeByIdDocument, NodesByIdsDocument, SetMyLocaleDocument } from '../generated/graphql';
import { Ticket, TicketStatus } from '../../src/modules/tickets/ticket.entity';
import { ADMIN_EMAIL, ADMIN_PASSWORD, GqlResult, startTestApp, TestApp } from '../support/harness';
import {
  CreateWebhookDocument,
  DeleteWebhookDocument,
  RedeliverDocument,
  UpdateWebhookDocument,
  WebhookDeliveriesDocument,
  WebhooksDocument,
} from '../generated/graphql';

const ROLES = ['ADMIN', 'MANAGER', 'AGENT', 'CUSTOMER'] as const;
type Role = (typeof ROLES)[number];
/** A role, or null for an anonymous caller (no token). */
type Caller = Role | null;

/** What the calls need: a department whose manager and agents are the callers, and things to act on. */
interface Fixture {
  app: TestApp;
  tokens: Record<Role, string>;
  ids: Record<Role, string>;
  departmentId: string;
  /** An agent of the manager's department; not the AGENT caller. */
  targetAgentId: string;
  /** A customer the refused callers try to deactivate or forget (the allowed caller gets a fresh one each call). */
  victimId: string;
  /** A new customer, for a call that deactivates or forgets one. */
  freshCustomer: () => Promise<string>;
  /** One notification of each caller's own. */
  notificationOf: Record<Role, string>;
  shiftId: string;
  /** A new schedule of the AGENT caller (or another agent), on a date no other call uses. */
  freshSchedule: (agentId?: string) => Promise<string>;
  /** A new pending leave request of `token`'s user. */
  freshLeave: (token: string) => Promise<string>;
  /** A new pending swap: the AGENT caller's schedule handed to the target agent, asked by `token`'s user. */
  freshSwap: (token?: string) => Promise<string>;
  /** A leave request and a swap the AGENT caller takes part in (readable by the allowed callers). */
  agentLeaveId: string;
  agentSwapId: string;
  agentScheduleId: string;
}

interface Access {
  /** The Query or Mutation field. */
  operation: string;
  /** Who may call it ('anyone' includes anonymous callers). Everyone else must be refused. */
  allowed: readonly Role[] | 'anyone';
  /** One call of the operation, as `caller`, on things the allowed callers may touch. */
  call: (fx: Fixture, caller: Caller) => Promise<GqlResult<unknown>>;
}

const ALL_SIGNED_IN = ROLES;
const unique = () => randomUUID().slice(0, 8);

/**
 * Who may call what. Adding an operation to the API means adding one row here; the last test fails until
 * every operation of the modules below has one.
 */
const ACCESS: Access[] = [
  {
    operation: 'login',
    allowed: 'anyone',
    call: (fx, c) => fx.app.exec(LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, tokenOf(fx, c)),
  },
  {
    operation: 'registerCustomer',
    allowed: 'anyone',
    call: (fx, c) =>
      fx.app.exec(
        RegisterCustomerDocument,
        { input: { email: `c-${unique()}@test.local`, password: 'password-123', displayName: 'C' } },
        tokenOf(fx, c),
      ),
  },
  { operation: 'me', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(MeDocument, {}, tokenOf(fx, c)) },
  { operation: 'users', allowed: ['ADMIN', 'MANAGER'], call: (fx, c) => fx.app.exec(UsersDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'user',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(UserByIdDocument, { id: fx.targetAgentId }, tokenOf(fx, c)),
  },
  {
    operation: 'createUser',
    allowed: ['ADMIN'],
    call: (fx, c) =>
      fx.app.exec(
        CreateUserDocument,
        {
          input: {
            email: `u-${unique()}@test.local`,
            password: 'password-123',
            displayName: 'U',
            role: 'AGENT',
            departmentId: fx.departmentId,
          },
        },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'updateUser',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(UpdateUserDocument, { id: fx.targetAgentId, input: { displayName: `Renamed by ${c}` } }, tokenOf(fx, c)),
  },
  {
    operation: 'deactivateUser',
    allowed: ['ADMIN'],
    call: async (fx, c) =>
      fx.app.exec(DeactivateUserDocument, { id: c === 'ADMIN' ? await fx.freshCustomer() : fx.victimId }, tokenOf(fx, c)),
  },
  {
    operation: 'createDepartment',
    allowed: ['ADMIN'],
    call: (fx, c) => fx.app.exec(CreateDepartmentDocument, { input: { name: `Dept ${unique()}`, code: `d_${unique()}` } }, tokenOf(fx, c)),
  },
  {
    operation: 'departments',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(DepartmentsDocument, {}, tokenOf(fx, c)),
  },
  { operation: 'auditLog', allowed: ['ADMIN'], call: (fx, c) => fx.app.exec(AuditLogDocument, {}, tokenOf(fx, c)) },
  { operation: 'notifications', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(NotificationsDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'markNotificationRead',
    allowed: ALL_SIGNED_IN,
    call: (fx, c) => fx.app.exec(MarkNotificationReadDocument, { id: c ? fx.notificationOf[c] : fx.notificationOf.ADMIN }, tokenOf(fx, c)),
  },
  {
    operation: 'sendNotification',
    allowed: ['ADMIN'],
    call: (fx, c) => fx.app.exec(SendNotificationDocument, { userId: fx.ids.AGENT, title: 'Hello', body: `From ${c}` }, tokenOf(fx, c)),
  },
  // Workforce: shifts and scheduling
  {
    operation: 'createShift',
    allowed: ['ADMIN'],
    call: (fx, c) =>
      fx.app.exec(
        CreateShiftDocument,
        { input: { name: 'S', code: `S${unique()}`, startTime: '09:00', endTime: '10:00' } },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'updateShift',
    allowed: ['ADMIN'],
    call: (fx, c) => fx.app.exec(UpdateShiftDocument, { id: fx.shiftId, input: { color: '#112233' } }, tokenOf(fx, c)),
  },
  {
    operation: 'archiveShift',
    allowed: ['ADMIN'],
    call: async (fx, c) => {
      const { createShift } = await fx.app.data(
        CreateShiftDocument,
        { input: { name: 'A', code: `A${unique()}`, startTime: '09:00', endTime: '10:00' } },
        fx.tokens.ADMIN,
      );
      return fx.app.exec(ArchiveShiftDocument, { id: createShift.id }, tokenOf(fx, c));
    },
  },
  { operation: 'shifts', allowed: ['ADMIN', 'MANAGER', 'AGENT'], call: (fx, c) => fx.app.exec(ShiftsDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'assignSchedules',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(
        AssignSchedulesDocument,
        { input: { shiftId: fx.shiftId, agentIds: [fx.targetAgentId], dates: [nextDate()] } },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'removeSchedules',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RemoveSchedulesDocument, { ids: [await fx.freshSchedule(fx.targetAgentId)] }, tokenOf(fx, c)),
  },
  {
    operation: 'schedules',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(SchedulesDocument, { filter: { from: '2030-01-01', to: '2030-01-31' } }, tokenOf(fx, c)),
  },
  {
    operation: 'scheduleBoard',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(ScheduleBoardDocument, { from: '2030-01-01', to: '2030-01-07' }, tokenOf(fx, c)),
  },
  // Presence
  {
    operation: 'presence',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(PresenceDocument, { agentIds: [fx.targetAgentId] }, tokenOf(fx, c)),
  },
  { operation: 'heartbeat', allowed: ['MANAGER', 'AGENT'], call: (fx, c) => fx.app.exec(HeartbeatDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'setPresenceStatus',
    allowed: ['MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(SetPresenceStatusDocument, { status: 'BUSY' }, tokenOf(fx, c)),
  },
  // Leave
  {
    operation: 'requestLeave',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => {
      const d = nextDate();
      return fx.app.exec(RequestLeaveDocument, { input: { startDate: d, endDate: d, type: 'PERSONAL' } }, tokenOf(fx, c));
    },
  },
  {
    operation: 'approveLeave',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(ApproveLeaveDocument, { id: await fx.freshLeave(fx.tokens.AGENT) }, tokenOf(fx, c)),
  },
  {
    operation: 'rejectLeave',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RejectLeaveDocument, { id: await fx.freshLeave(fx.tokens.AGENT) }, tokenOf(fx, c)),
  },
  {
    operation: 'cancelLeave',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    // Each allowed caller cancels a request of their own; refused callers try the AGENT's.
    call: async (fx, c) =>
      fx.app.exec(CancelLeaveDocument, { id: await fx.freshLeave(c && c !== 'CUSTOMER' ? fx.tokens[c] : fx.tokens.AGENT) }, tokenOf(fx, c)),
  },
  {
    operation: 'leaveRequests',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(LeaveRequestsDocument, {}, tokenOf(fx, c)),
  },
  {
    operation: 'leaveRequest',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(LeaveRequestByIdDocument, { id: fx.agentLeaveId }, tokenOf(fx, c)),
  },
  // Swaps
  {
    operation: 'swapCandidates',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(SwapCandidatesDocument, { scheduleId: fx.agentScheduleId }, tokenOf(fx, c)),
  },
  {
    operation: 'checkSwap',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) =>
      fx.app.exec(
        CheckSwapDocument,
        { input: { steps: [{ scheduleId: fx.agentScheduleId, toAgentId: fx.targetAgentId }] } },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'requestSwap',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) =>
      fx.app.exec(
        RequestSwapDocument,
        { input: { steps: [{ scheduleId: await fx.freshSchedule(), toAgentId: fx.targetAgentId }] } },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'approveSwap',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(ApproveSwapDocument, { id: await fx.freshSwap() }, tokenOf(fx, c)),
  },
  {
    operation: 'rejectSwap',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RejectSwapDocument, { id: await fx.freshSwap() }, tokenOf(fx, c)),
  },
  {
    operation: 'cancelSwap',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) =>
      fx.app.exec(CancelSwapDocument, { id: await fx.freshSwap(c && c !== 'CUSTOMER' ? fx.tokens[c] : fx.tokens.AGENT) }, tokenOf(fx, c)),
  },
  {
    operation: 'swapRequests',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(SwapRequestsDocument, {}, tokenOf(fx, c)),
  },
  {
    operation: 'swapRequest',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(SwapRequestByIdDocument, { id: fx.agentSwapId }, tokenOf(fx, c)),
  },
  // Quick replies: each allowed caller acts on a PERSONAL reply of their own; refused callers try the AGENT's.
  {
    operation: 'createQuickReply',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(CreateQuickReplyDocument, { input: { title: 'Q', content: `By ${c}` } }, tokenOf(fx, c)),
  },
  {
    operation: 'updateQuickReply',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) =>
      fx.app.exec(UpdateQuickReplyDocument, { id: await freshQuickReply(fx, c), input: { title: `Renamed by ${c}` } }, tokenOf(fx, c)),
  },
  {
    operation: 'deleteQuickReply',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) => fx.app.exec(DeleteQuickReplyDocument, { id: await freshQuickReply(fx, c) }, tokenOf(fx, c)),
  },
  {
    operation: 'quickReplies',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(QuickRepliesDocument, {}, tokenOf(fx, c)),
  },
  {
    operation: 'quickReplyCategories',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(QuickReplyCategoriesDocument, {}, tokenOf(fx, c)),
  },
  // Conversations: the CUSTOMER caller's conversation with the AGENT caller, in the matrix department.
  {
    operation: 'requestService',
    allowed: ['CUSTOMER'],
    call: (fx, c) => fx.app.exec(RequestServiceDocument, { input: { topic: 'matrix', message: '你好' } }, tokenOf(fx, c)),
  },
  {
    operation: 'leaveQueue',
    allowed: ['CUSTOMER'],
    call: async (fx, c) => {
      await openChat(fx, ConversationStatus.QUEUED);
      return fx.app.exec(LeaveQueueDocument, {}, tokenOf(fx, c));
    },
  },
  { operation: 'queue', allowed: ['ADMIN', 'MANAGER'], call: (fx, c) => fx.app.exec(QueueDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'sendMessage',
    // Only the two parties write; supervisors read.
    allowed: ['CUSTOMER', 'AGENT'],
    call: async (fx, c) =>
      fx.app.exec(
        SendMessageDocument,
        { input: { conversationId: await openChat(fx), content: `From ${c}`, clientMessageId: randomUUID() } },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'messages',
    allowed: ['ADMIN', 'MANAGER', 'AGENT', 'CUSTOMER'],
    call: async (fx, c) => fx.app.exec(MessagesDocument, { conversationId: await openChat(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'markDelivered',
    allowed: ['CUSTOMER', 'AGENT'],
    call: async (fx, c) => fx.app.exec(MarkDeliveredDocument, { conversationId: await openChat(fx), upToSeq: 1 }, tokenOf(fx, c)),
  },
  {
    operation: 'markRead',
    allowed: ['CUSTOMER', 'AGENT'],
    call: async (fx, c) => fx.app.exec(MarkReadDocument, { conversationId: await openChat(fx), upToSeq: 1 }, tokenOf(fx, c)),
  },
  {
    operation: 'setTyping',
    allowed: ['CUSTOMER', 'AGENT'],
    call: async (fx, c) => fx.app.exec(SetTypingDocument, { conversationId: await openChat(fx), typing: true }, tokenOf(fx, c)),
  },
  {
    operation: 'endConversation',
    allowed: ['ADMIN', 'MANAGER', 'AGENT', 'CUSTOMER'],
    call: async (fx, c) => fx.app.exec(EndConversationDocument, { id: await openChat(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'answerHelped',
    allowed: ['CUSTOMER'],
    call: async (fx, c) =>
      fx.app.exec(
        AnswerHelpedDocument,
        { conversationId: await autoAnswered(fx, 'conversations', await openChat(fx)), helped: false },
        tokenOf(fx, c),
      ),
  },
  { operation: 'conversations', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(ConversationsDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'conversation',
    allowed: ALL_SIGNED_IN,
    call: async (fx, c) => fx.app.exec(ConversationByIdDocument, { id: await openChat(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'sendQuickReply',
    // Staff may call it, but only the conversation's agent writes in it: the admin and the manager (supervisors here) are refused.
    allowed: ['AGENT'],
    call: async (fx, c) =>
      fx.app.exec(
        SendQuickReplyDocument,
        { conversationId: await openChat(fx), quickReplyId: await publicQuickReply(fx), clientMessageId: randomUUID() },
        tokenOf(fx, c),
      ),
  },
  // Conversation lifecycle: transfers by the conversation's agent or a supervisor in scope; ratings by its customer.
  {
    operation: 'transferConversation',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) =>
      fx.app.exec(
        TransferConversationDocument,
        { id: await lifecycleChat(fx), toAgentId: await transferTarget(fx), note: `By ${c}` },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'rateConversation',
    allowed: ['CUSTOMER'],
    call: async (fx, c) => fx.app.exec(RateConversationDocument, { id: await lifecycleChat(fx, 'ENDED'), score: 5 }, tokenOf(fx, c)),
  },
  // Knowledge base: keepers (admins, managers) act on a fresh draft of the matrix department; everyone signed in reads and searches.
  {
    operation: 'createFaq',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(
        CreateFaqDocument,
        { input: { question: `By ${c}?`, answer: 'A', category: '其他', departmentId: fx.departmentId } },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'updateFaq',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(UpdateFaqDocument, { id: await freshFaq(fx), input: { answer: `By ${c}` } }, tokenOf(fx, c)),
  },
  {
    operation: 'publishFaq',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(PublishFaqDocument, { id: await freshFaq(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'archiveFaq',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(ArchiveFaqDocument, { id: await freshFaq(fx) }, tokenOf(fx, c)),
  },
  { operation: 'faqs', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(FaqsDocument, {}, tokenOf(fx, c)) },
  { operation: 'popularFaqs', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(PopularFaqsDocument, {}, tokenOf(fx, c)) },
  { operation: 'searchFaqs', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(SearchFaqsDocument, { query: '退票' }, tokenOf(fx, c)) },
  {
    operation: 'faqFeedback',
    allowed: ALL_SIGNED_IN,
    call: async (fx, c) => fx.app.exec(FaqFeedbackDocument, { id: await freshFaq(fx, true), helpful: true }, tokenOf(fx, c)),
  },
  { operation: 'faqCategories', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(FaqCategoriesDocument, {}, tokenOf(fx, c)) },
  // FAQ phrasings (issue 15): the keepers of the matrix department's FAQs; sendFaq by the conversation's agent.
  {
    operation: 'addFaqPhrasing',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(AddFaqPhrasingDocument, { faqId: await freshFaq(fx), text: `说法 ${c}` }, tokenOf(fx, c)),
  },
  {
    operation: 'updateFaqPhrasing',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) =>
      fx.app.exec(UpdateFaqPhrasingDocument, { id: await freshPhrasing(fx, 'ACCEPTED'), text: `改 ${c}` }, tokenOf(fx, c)),
  },
  {
    operation: 'removeFaqPhrasing',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RemoveFaqPhrasingDocument, { id: await freshPhrasing(fx, 'ACCEPTED') }, tokenOf(fx, c)),
  },
  {
    operation: 'faqPhrasingSuggestions',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(FaqPhrasingSuggestionsDocument, {}, tokenOf(fx, c)),
  },
  {
    operation: 'acceptFaqPhrasing',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(AcceptFaqPhrasingDocument, { id: await freshPhrasing(fx, 'SUGGESTED') }, tokenOf(fx, c)),
  },
  {
    operation: 'rejectFaqPhrasing',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RejectFaqPhrasingDocument, { id: await freshPhrasing(fx, 'SUGGESTED') }, tokenOf(fx, c)),
  },
  {
    operation: 'unansweredQuestions',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(UnansweredQuestionsDocument, { from: '2026-12-01', to: '2026-12-31' }, tokenOf(fx, c)),
  },
  {
    operation: 'sendFaq',
    allowed: ['AGENT'],
    call: async (fx, c) =>
      fx.app.exec(
        SendFaqDocument,
        { conversationId: await lifecycleChat(fx), faqId: await freshFaq(fx, true), clientMessageId: unique() },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'classifyMessage',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(ClassifyMessageDocument, { content: '我要退票' }, tokenOf(fx, c)),
  },
  // Tickets: fresh tickets of the matrix department, of the CUSTOMER caller, held by the AGENT caller (see freshTicket).
  {
    operation: 'createTicket',
    allowed: ALL_SIGNED_IN,
    call: (fx, c) =>
      fx.app.exec(CreateTicketDocument, { input: { subject: `By ${c}`, category: '其他', customerId: fx.ids.CUSTOMER } }, tokenOf(fx, c)),
  },
  {
    operation: 'ticketFromConversation',
    allowed: ALL_SIGNED_IN,
    call: async (fx, c) => fx.app.exec(TicketFromConversationDocument, { conversationId: await openChat(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'assignTicket',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) =>
      fx.app.exec(AssignTicketDocument, { id: await freshTicket(fx, TicketStatus.NEW), agentId: fx.ids.AGENT }, tokenOf(fx, c)),
  },
  {
    operation: 'escalateTicket',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) => fx.app.exec(EscalateTicketDocument, { id: await freshTicket(fx), reason: `By ${c}` }, tokenOf(fx, c)),
  },
  {
    operation: 'resolveTicket',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) => fx.app.exec(ResolveTicketDocument, { id: await freshTicket(fx), resolution: `By ${c}` }, tokenOf(fx, c)),
  },
  {
    operation: 'closeTicket',
    allowed: ALL_SIGNED_IN,
    call: async (fx, c) => fx.app.exec(CloseTicketDocument, { id: await freshTicket(fx, TicketStatus.RESOLVED) }, tokenOf(fx, c)),
  },
  {
    operation: 'reopenTicket',
    allowed: ALL_SIGNED_IN,
    call: async (fx, c) => fx.app.exec(ReopenTicketDocument, { id: await freshTicket(fx, TicketStatus.RESOLVED) }, tokenOf(fx, c)),
  },
  {
    operation: 'commentOnTicket',
    allowed: ALL_SIGNED_IN,
    call: async (fx, c) => fx.app.exec(CommentOnTicketDocument, { id: await freshTicket(fx), body: `By ${c}` }, tokenOf(fx, c)),
  },
  {
    operation: 'rateTicket',
    allowed: ['CUSTOMER'],
    call: async (fx, c) => fx.app.exec(RateTicketDocument, { id: await freshTicket(fx, TicketStatus.RESOLVED), score: 5 }, tokenOf(fx, c)),
  },
  {
    operation: 'ticketAnswerHelped',
    allowed: ['CUSTOMER'],
    call: async (fx, c) =>
      fx.app.exec(
        TicketAnswerHelpedDocument,
        { ticketId: await autoAnswered(fx, 'tickets', await freshTicket(fx)), helped: false },
        tokenOf(fx, c),
      ),
  },
  { operation: 'tickets', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(TicketsDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'ticket',
    allowed: ALL_SIGNED_IN,
    call: async (fx, c) => fx.app.exec(TicketByIdDocument, { id: await freshTicket(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'ticketStats',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(TicketStatsDocument, { from: '2030-01-01', to: '2030-01-31' }, tokenOf(fx, c)),
  },
  { operation: 'ticketCategories', allowed: ALL_SIGNED_IN, call: (fx, c) => fx.app.exec(TicketCategoriesDocument, {}, tokenOf(fx, c)) },
  // Records: encryption at rest (agents may reveal only when REVEAL_ROLES says so; not here)
  {
    operation: 'revealText',
    allowed: ['ADMIN', 'MANAGER', 'CUSTOMER'],
    call: async (fx, c) =>
      fx.app.exec(RevealTextDocument, { kind: 'MESSAGE' as never, id: await customerMessage(fx), reason: `matrix ${c}` }, tokenOf(fx, c)),
  },
  {
    operation: 'forgetCustomer',
    allowed: ['ADMIN'],
    call: async (fx, c) =>
      fx.app.exec(
        ForgetCustomerDocument,
        { userId: c === 'ADMIN' ? await fx.freshCustomer() : fx.victimId, reason: 'matrix' },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'requestDataErasure',
    allowed: ['CUSTOMER'],
    call: (fx, c) => fx.app.exec(RequestDataErasureDocument, { reason: 'matrix' }, tokenOf(fx, c)),
  },
  { operation: 'encryptionStatus', allowed: ['ADMIN'], call: (fx, c) => fx.app.exec(EncryptionStatusDocument, {}, tokenOf(fx, c)) },

  // Quality: supervisors only; adherence also for an agent's own.
  { operation: 'qualityRules', allowed: ['ADMIN', 'MANAGER'], call: (fx, c) => fx.app.exec(QualityRulesDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'qualityViolations',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(QualityViolationsDocument, {}, tokenOf(fx, c)),
  },
  {
    operation: 'conversationSentiment',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(ConversationSentimentDocument, { conversationId: await lifecycleChat(fx, 'ENDED') }, tokenOf(fx, c)),
  },
  {
    operation: 'qualityChecklist',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(QualityChecklistDocument, {}, tokenOf(fx, c)),
  },
  { operation: 'qualityReviews', allowed: ['ADMIN', 'MANAGER'], call: (fx, c) => fx.app.exec(QualityReviewsDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'reviewConversation',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) =>
      fx.app.exec(
        ReviewConversationDocument,
        {
          id: await lifecycleChat(fx, 'ENDED'),
          scores: ['greeting', 'understanding', 'solution', 'courtesy', 'compliance'].map((item) => ({ item, score: 3 })),
        },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'qualityReport',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(QualityReportDocument, { from: '2030-01-01', to: '2030-01-31', departmentId: fx.departmentId }, tokenOf(fx, c)),
  },
  {
    operation: 'qualityReportCsv',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(QualityReportCsvDocument, { from: '2030-01-01', to: '2030-01-31', departmentId: fx.departmentId }, tokenOf(fx, c)),
  },
  {
    operation: 'adherence',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec(AdherenceDocument, { from: '2030-01-01', to: '2030-01-07', agentId: fx.ids.AGENT }, tokenOf(fx, c)),
  },
  // Staffing (issue 14): managers for their department, admins any; agents and customers never.
  {
    operation: 'forecastContacts',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(ForecastContactsDocument, { departmentId: fx.departmentId, from: '2030-01-01', to: '2030-01-01' }, tokenOf(fx, c)),
  },
  {
    operation: 'staffingPlan',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(StaffingPlanDocument, { departmentId: fx.departmentId, from: '2030-01-01', to: '2030-01-01' }, tokenOf(fx, c)),
  },
  {
    operation: 'forecastOverrides',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(ForecastOverridesDocument, { departmentId: fx.departmentId }, tokenOf(fx, c)),
  },
  {
    operation: 'addForecastOverride',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(
        AddForecastOverrideDocument,
        { departmentId: fx.departmentId, from: '2030-01-01T02:00:00Z', to: '2030-01-01T04:00:00Z', factor: 2, reason: `By ${c}` },
        tokenOf(fx, c),
      ),
  },
  {
    operation: 'removeForecastOverride',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => {
      const { addForecastOverride } = await fx.app.data(
        AddForecastOverrideDocument,
        { departmentId: fx.departmentId, from: '2030-01-02T02:00:00Z', to: '2030-01-02T04:00:00Z', factor: 2, reason: 'matrix' },
        fx.tokens.ADMIN,
      );
      return fx.app.exec(RemoveForecastOverrideDocument, { id: addForecastOverride.id }, tokenOf(fx, c));
    },
  },
  {
    operation: 'proposeSchedule',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(ProposeScheduleDocument, { departmentId: fx.departmentId, from: '2030-02-01', to: '2030-02-01' }, tokenOf(fx, c)),
  },
  {
    operation: 'scheduleProposal',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(ScheduleProposalDocument, { id: await freshProposal(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'applyScheduleProposal',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(ApplyScheduleProposalDocument, { id: await freshProposal(fx) }, tokenOf(fx, c)),
  },
  // Operations: supervisors only (managers in their department).
  {
    operation: 'serviceDashboard',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(OpsDashboardLiveDocument, { departmentId: fx.departmentId }, tokenOf(fx, c)),
  },
  { operation: 'alerts', allowed: ['ADMIN', 'MANAGER'], call: (fx, c) => fx.app.exec(OpsAlertsDocument, {}, tokenOf(fx, c)) },
  // Records: staff in their scope (agents their own conversations, managers their department); archiving by admins.
  {
    operation: 'searchConversations',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec('query { searchConversations(first: 5) { pageInfo { hasNextPage } } }', undefined, tokenOf(fx, c)),
  },
  {
    operation: 'exportEstimate',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec('query { exportEstimate { conversations messages } }', undefined, tokenOf(fx, c)),
  },
  {
    operation: 'exportConversations',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: (fx, c) => fx.app.exec('mutation { exportConversations(format: CSV) { id } }', undefined, tokenOf(fx, c)),
  },
  {
    operation: 'exportJob',
    allowed: ['ADMIN', 'MANAGER', 'AGENT'],
    call: async (fx, c) => {
      // The caller's own export when the caller may export at all; a made-up id otherwise.
      const made = await fx.app.exec<{ exportConversations: { id: string } }, unknown>(
        'mutation { exportConversations(format: JSONL) { id } }',
        undefined,
        tokenOf(fx, c),
      );
      const id = made.data?.exportConversations.id ?? randomUUID();
      return fx.app.exec('query ($id: ID!) { exportJob(id: $id) { id status } }', { id }, tokenOf(fx, c));
    },
  },
  {
    operation: 'runArchive',
    allowed: ['ADMIN'],
    call: (fx, c) => fx.app.exec('mutation { runArchive { conversations messages } }', undefined, tokenOf(fx, c)),
  },
  {
    operation: 'acknowledgeAlert',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(OpsAcknowledgeAlertDocument, { id: await freshAlert(fx), comment: `By ${c}` }, tokenOf(fx, c)),
  },
  {
    operation: 'alertDeliveries',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(OpsAlertDeliveriesDocument, { alertId: await freshAlert(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'createApiKey',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(CreateApiKeyDocument, { input: { name: `By ${c}`, scopes: ['TICKETS_READ'] } }, tokenOf(fx, c)),
  },
  { operation: 'apiKeys', allowed: ['ADMIN', 'MANAGER'], call: (fx, c) => fx.app.exec(ApiKeysDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'revokeApiKey',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RevokeApiKeyDocument, { id: (await freshApiKey(fx)).id }, tokenOf(fx, c)),
  },
  {
    operation: 'rotateApiKey',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RotateApiKeyDocument, { id: (await freshApiKey(fx)).id }, tokenOf(fx, c)),
  },
  // For API keys with channel:write only (see 'API keys' below): every person is refused.
  { operation: 'channelInbound', allowed: [], call: (fx, c) => fx.app.exec(ChannelInboundDocument, channelMessage(), tokenOf(fx, c)) },
  {
    operation: 'linkChannelIdentity',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) =>
      fx.app.exec(
        LinkChannelIdentityDocument,
        { input: { channel: 'email', externalCustomerId: `${unique()}@example.com`, customerId: fx.ids.CUSTOMER } },
        tokenOf(fx, c),
      ),
  },
  // Webhooks: admins and the matrix department's manager, on webhooks of the matrix department.
  {
    operation: 'createWebhook',
    allowed: ['ADMIN', 'MANAGER'],
    call: (fx, c) => fx.app.exec(CreateWebhookDocument, { input: { ...MATRIX_WEBHOOK, departmentId: fx.departmentId } }, tokenOf(fx, c)),
  },
  { operation: 'webhooks', allowed: ['ADMIN', 'MANAGER'], call: (fx, c) => fx.app.exec(WebhooksDocument, {}, tokenOf(fx, c)) },
  {
    operation: 'updateWebhook',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(UpdateWebhookDocument, { id: await freshWebhook(fx), input: { enabled: false } }, tokenOf(fx, c)),
  },
  {
    operation: 'deleteWebhook',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(DeleteWebhookDocument, { id: await freshWebhook(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'webhookDeliveries',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(WebhookDeliveriesDocument, { webhookId: await freshWebhook(fx), first: 10 }, tokenOf(fx, c)),
  },
  {
    operation: 'redeliver',
    allowed: ['ADMIN', 'MANAGER'],
    call: async (fx, c) => fx.app.exec(RedeliverDocument, { deliveryId: await failedDelivery(fx) }, tokenOf(fx, c)),
  },
  {
    operation: 'setMyLocale',
    allowed: ALL_SIGNED_IN,
    call: (fx, c) => fx.app.exec(SetMyLocaleDocument, { locale: null }, tokenOf(fx, c)),
  },
  // Relay refetch: any signed-in caller; what they may not see is null (test/node/node.test.ts)
  {
    operation: 'node',
    allowed: ALL_SIGNED_IN,
    call: (fx, c) => fx.app.exec(NodeByIdDocument, { id: fx.notificationOf[c ?? 'ADMIN'] }, tokenOf(fx, c)),
  },
  {
    operation: 'nodes',
    allowed: ALL_SIGNED_IN,
    call: (fx, c) => fx.app.exec(NodesByIdsDocument, { ids: [fx.notificationOf[c ?? 'ADMIN']] }, tokenOf(fx, c)),
  },
];

/** A public address (TEST-NET-3), so no WEBHOOK_ALLOW_PRIVATE is needed; an event the matrix never causes. */
const MATRIX_WEBHOOK = { url: 'https://203.0.113.10/hook', events: ['ticket.sla_breached'] };

async function freshWebhook(fx: Fixture): Promise<string> {
  const input = { ...MATRIX_WEBHOOK, departmentId: fx.departmentId };
  return (await fx.app.data(CreateWebhookDocument, { input }, fx.tokens.ADMIN)).createWebhook.webhook.id;
}

/**
 * A FAILED delivery of a new matrix webhook. Its lane starts with a delivery held by a job that never
 * finishes, so a redelivery waits behind it and nothing is ever sent.
 */
async function failedDelivery(fx: Fixture): Promise<string> {
  const webhookId = await freshWebhook(fx);
  const lane = randomUUID();
  const em = fx.app.services.orm.em.fork();
  const [event] = await em.execute<Array<{ id: string }>>(
    `INSERT INTO webhook_events (type, object_type, object_id, lane_id, snapshot, dispatched_at)
     VALUES ('ticket.sla_breached', 'Ticket', ?, ?, '{}', now()) RETURNING id`,
    [lane, lane],
  );
  await em.execute(
    `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, lane_id, claimed_by) VALUES (?, ?, 'ticket.sla_breached', ?, 'matrix')`,
    [webhookId, event.id, lane],
  );
  const [failed] = await em.execute<Array<{ id: string }>>(
    `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, lane_id, status, attempts, error)
     VALUES (?, ?, 'ticket.sla_breached', ?, 'FAILED', 1, 'HTTP 500') RETURNING id`,
    [webhookId, event.id, lane],
  );
  return failed.id;
}

/** A message of the CUSTOMER caller in a conversation of the matrix department with the AGENT caller. */
async function customerMessage(fx: Fixture): Promise<string> {
  const conversationId = await lifecycleChat(fx, 'ENDED');
  const id = randomUUID();
  await fx.app.services.orm.em
    .fork()
    .execute(
      `INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, kind, content, pii_types) VALUES (?, ?, 1, ?, 'CUSTOMER', 'TEXT', '你好', '{}')`,
      [id, conversationId, fx.ids.CUSTOMER],
    );
  return id;
}

/** A new OPEN alert in the matrix department (its own rule name, so the one-unresolved index allows it). */
async function freshAlert(fx: Fixture): Promise<string> {
  const id = randomUUID();
  await fx.app.services.orm.em
    .fork()
    .execute(
      `INSERT INTO alerts (id, rule, metric, department_id, severity, summary, threshold, value) VALUES (?, ?, 'queue_length', ?, 'warning', 'matrix', 50, 51)`,
      [id, `matrix-${unique()}`, fx.departmentId],
    );
  return id;
}

/** A new schedule proposal for the matrix department, on a date no other proposal uses (so applying it never meets another). */
async function freshProposal(fx: Fixture): Promise<string> {
  const d = nextDate();
  return (await fx.app.data(ProposeScheduleDocument, { departmentId: fx.departmentId, from: d, to: d }, fx.tokens.ADMIN)).proposeSchedule
    .id;
}

/**
 * A new ticket of the CUSTOMER caller in the matrix department: NEW (unassigned), or held by the AGENT caller
 * (ASSIGNED, or RESOLVED just now). The AGENT caller's other open tickets are closed first, so the agent
 * limit never gets in the way.
 */
async function freshTicket(fx: Fixture, status: TicketStatus = TicketStatus.ASSIGNED): Promise<string> {
  const em = fx.app.services.orm.em.fork();
  await em.execute(
    `UPDATE tickets SET status = 'CLOSED', resolved_at = coalesce(resolved_at, now()), closed_at = now()
      WHERE assignee_id = ? AND status IN ('ASSIGNED', 'IN_PROGRESS', 'REOPENED')`,
    [fx.ids.AGENT],
  );
  const now = new Date();
  const later = new Date(now.getTime() + 3_600_000);
  const held = status !== TicketStatus.NEW;
  const ticket = em.create(Ticket, {
    customerId: fx.ids.CUSTOMER,
    createdById: fx.ids.CUSTOMER,
    subject: 'Matrix',
    category: '其他',
    departmentId: fx.departmentId,
    priority: ServicePriority.NORMAL,
    status,
    assigneeId: held ? fx.ids.AGENT : null,
    assignedAt: held ? now : null,
    firstResponseDueAt: later,
    firstResponseWarnAt: later,
    resolutionStartedAt: now,
    resolutionDueAt: later,
    resolutionWarnAt: later,
    nextDueAt: later,
    resolvedAt: status === TicketStatus.RESOLVED ? now : null,
  });
  await em.flush();
  return ticket.id;
}

/**
 * A new conversation of the CUSTOMER caller with the AGENT caller (ending any open one first: a customer
 * has one open conversation at a time), holding one message from the customer.
 */
async function openChat(fx: Fixture, status = ConversationStatus.ACTIVE): Promise<string> {
  const em = fx.app.services.orm.em.fork();
  await em.execute(`UPDATE conversations SET status = 'ENDED', ended_at = now() WHERE customer_id = ? AND status <> 'ENDED'`, [
    fx.ids.CUSTOMER,
  ]);
  const conversation = em.create(Conversation, {
    customerId: fx.ids.CUSTOMER,
    agentId: status === ConversationStatus.ACTIVE ? fx.ids.AGENT : null,
    departmentId: fx.departmentId,
    topic: 'matrix',
    status,
    priority: ServicePriority.NORMAL,
    priorityRank: rankOf(ServicePriority.NORMAL),
    lastSeq: 1,
  });
  await em.flush();
  await em.execute(
    `INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, content) VALUES (?, ?, 1, ?, 'CUSTOMER', '你好')`,
    [randomUUID(), conversation.id, fx.ids.CUSTOMER],
  );
  return conversation.id;
}

/** Every call that writes a dated record gets a date of its own, so no two calls collide. */
let dateCounter = 0;
function nextDate(): string {
  return addDays('2030-02-01', dateCounter++);
}

/**
 * Marks a fresh conversation (an open chat, see openChat) or ticket (see freshTicket) of the CUSTOMER caller as
 * auto-answered with a published FAQ, awaiting the customer's reply.
 */
async function autoAnswered(fx: Fixture, table: 'conversations' | 'tickets', id: string): Promise<string> {
  const faqId = await freshFaq(fx, true);
  await fx.app.services.orm.em
    .fork()
    .execute(`UPDATE ${table} SET auto_answer_faq_id = ?, auto_answer_state = 'ASKED' WHERE id = ?`, [faqId, id]);
  return id;
}

/** A new DRAFT FAQ of the matrix department, made by the admin (published when asked). */
async function freshFaq(fx: Fixture, publish = false): Promise<string> {
  const { createFaq } = await fx.app.data(
    CreateFaqDocument,
    { input: { question: '矩阵问题？', answer: 'A', category: '其他', departmentId: fx.departmentId } },
    fx.tokens.ADMIN,
  );
  if (publish) await fx.app.data(PublishFaqDocument, { id: createFaq.id }, fx.tokens.ADMIN);
  return createFaq.id;
}

/** A new phrasing (of the given status) of a fresh FAQ of the matrix department. */
async function freshPhrasing(fx: Fixture, status: 'ACCEPTED' | 'SUGGESTED'): Promise<string> {
  const faqId = await freshFaq(fx);
  const id = randomUUID();
  await fx.app.services.orm.em
    .fork()
    .execute(`INSERT INTO faq_phrasings (id, faq_id, text, match_text, status, source) VALUES (?, ?, ?, ?, ?, 'MANUAL')`, [
      id,
      faqId,
      `说法 ${id}`,
      `说法 ${id}`,
      status,
    ]);
  return id;
}

/** A new API key of the matrix department, made by the admin (its manager manages it too). */
async function freshApiKey(fx: Fixture, scopes: ApiKeyScope[] = ['TICKETS_READ']): Promise<{ id: string; secret: string }> {
  const { createApiKey } = await fx.app.data(
    CreateApiKeyDocument,
    { input: { name: 'Matrix', scopes, departmentId: fx.departmentId } },
    fx.tokens.ADMIN,
  );
  return { id: createApiKey.apiKey.id, secret: createApiKey.secret };
}

/** A new message of a new WeChat customer for channelInbound. */
function channelMessage() {
  return {
    input: { channel: 'wechat', externalCustomerId: `openid-${unique()}`, displayName: 'W', externalMessageId: unique(), content: '你好' },
  };
}

/** A new PERSONAL quick reply of the caller (staff), or of the AGENT caller for callers who must be refused. */
async function freshQuickReply(fx: Fixture, caller: Caller): Promise<string> {
  const owner = caller && caller !== 'CUSTOMER' ? fx.tokens[caller] : fx.tokens.AGENT;
  return (await fx.app.data(CreateQuickReplyDocument, { input: { title: 'Mine', content: 'x' } }, owner)).createQuickReply.id;
}

/** A PUBLIC quick reply (every staff member may use it), made once. */
let publicQuickReplyId: Promise<string> | null = null;
function publicQuickReply(fx: Fixture): Promise<string> {
  publicQuickReplyId ??= fx.app
    .data(CreateQuickReplyDocument, { input: { title: 'Matrix', content: 'Hello {customerName}', scope: 'PUBLIC' } }, fx.tokens.ADMIN)
    .then((d) => d.createQuickReply.id);
  return publicQuickReplyId;
}

/** Every resolver of the schema: each query and mutation must have a row. */
const COVERED_RESOLVERS = RESOLVERS;

function tokenOf(fx: Fixture, caller: Caller): string | null {
  return caller ? fx.tokens[caller] : null;
}

function refusedCallers(row: Access): Caller[] {
  if (row.allowed === 'anyone') return [];
  const allowed = row.allowed;
  return [null, ...ROLES.filter((r) => !allowed.includes(r))];
}

function allowedCallers(row: Access): Caller[] {
  return row.allowed === 'anyone' ? [null, ...ROLES] : [...row.allowed];
}

const name = (c: Caller) => c ?? 'anonymous';
const codes = (res: GqlResult<unknown>) => (res.errors ?? []).map((e) => String(e.extensions?.code));

describe('access matrix: every refused role is refused, every allowed role is let through', () => {
  const fx = {} as Fixture;

  beforeAll(async () => {
    const app = await startTestApp();
    const department = await app.createDepartment('Matrix', 'matrix');
    const manager = await app.createUser({ role: 'MANAGER', departmentId: department.id });
    const agent = await app.createUser({ role: 'AGENT', departmentId: department.id });
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const target = await app.createUser({ role: 'AGENT', departmentId: department.id });
    const victim = await app.createUser({ role: 'CUSTOMER' });
    const admin = await app.adminToken();
    const adminId = (await app.data(MeDocument, {}, admin)).me.id;
    const ids: Record<Role, string> = { ADMIN: adminId, MANAGER: manager.id, AGENT: agent.id, CUSTOMER: customer.id };
    const notificationOf = {} as Record<Role, string>;
    for (const role of ROLES) {
      notificationOf[role] = (
        await app.data(SendNotificationDocument, { userId: ids[role], title: 'Yours', body: role }, admin)
      ).sendNotification.id;
    }
    const { createShift } = await app.data(
      CreateShiftDocument,
      { input: { name: 'Matrix', code: 'MATRIX', startTime: '09:00', endTime: '17:00' } },
      admin,
    );
    const freshSchedule = async (agentId = agent.id) =>
      (await app.data(AssignSchedulesDocument, { input: { shiftId: createShift.id, agentIds: [agentId], dates: [nextDate()] } }, admin))
        .assignSchedules.created[0].id;
    const freshLeave = async (token: string) => {
      const d = nextDate();
      return (await app.data(RequestLeaveDocument, { input: { startDate: d, endDate: d, type: 'PERSONAL' } }, token)).requestLeave.id;
    };
    const freshSwap = async (token = agent.token) =>
      (await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId: await freshSchedule(), toAgentId: target.id }] } }, token))
        .requestSwap.id;
    const agentScheduleId = await freshSchedule();
    await freshSchedule(target.id); // so the target is a swap candidate
    Object.assign(fx, {
      shiftId: createShift.id,
      freshSchedule,
      freshLeave,
      freshSwap,
      agentScheduleId,
      agentLeaveId: await freshLeave(agent.token),
      agentSwapId: await freshSwap(),
      app,
      tokens: { ADMIN: admin, MANAGER: manager.token, AGENT: agent.token, CUSTOMER: customer.token },
      ids,
      departmentId: department.id,
      targetAgentId: target.id,
      victimId: victim.id,
      freshCustomer: async () => (await app.createUser({ role: 'CUSTOMER' })).id,
      notificationOf,
    });
  });
  afterAll(() => fx.app.stop());

  describe('refused', () => {
    /** What a refused call must leave as it was (each test compares its own before and after, so any order holds). */
    const state = async () => {
      const em = fx.app.services.orm.em.fork();
      return {
        users: await em.count(User, {}),
        victimActive: (await em.findOneOrFail(User, { id: fx.victimId })).active,
        targetName: (await em.findOneOrFail(User, { id: fx.targetAgentId })).displayName,
      };
    };

    for (const row of ACCESS) {
      for (const caller of refusedCallers(row)) {
        const expected = caller === null ? 'UNAUTHENTICATED' : 'FORBIDDEN';
        it(`${row.operation}: ${name(caller)} → ${expected}, changing nothing`, async () => {
          const before = await state();
          const res = await row.call(fx, caller);
          expect(codes(res)).toEqual([expected]);
          expect(res.errors![0].path).toEqual([row.operation]);
          // nothing comes back (a nullable field such as node is null rather than the whole data)
          expect(Object.values(res.data ?? {}).filter((v) => v !== null)).toEqual([]);
          // Fixtures made for the call may write audit entries of their own; none may carry the refused call's trace id.
          const traceId = String(res.errors![0].extensions?.traceId);
          expect(await fx.app.services.orm.em.fork().count(AuditEntry, { traceId })).toBe(0);
          expect(await state()).toEqual({ ...before, victimActive: true });
        });
      }
    }
  });

  describe('allowed', () => {
    for (const row of ACCESS) {
      for (const caller of allowedCallers(row)) {
        it(`${row.operation}: ${name(caller)} is let through`, async () => {
          const res = await row.call(fx, caller);
          expect(res.errors).toBeUndefined();
          expect((res.data as Record<string, unknown>)[row.operation]).toBeTruthy();
        });
      }
    }
  });

  describe('API keys: a key runs the operations of its scopes, and nothing else', () => {
    /** One operation of each scope (webhooks:manage has none on this branch: its key is refused them all). */
    const REPRESENTATIVE: Array<{
      scope: ApiKeyScope;
      operation: string;
      call: (fx: Fixture, key: string) => Promise<GqlResult<unknown>>;
    }> = [
      { scope: 'TICKETS_READ', operation: 'tickets', call: (fx, key) => fx.app.exec(TicketsDocument, {}, key) },
      {
        scope: 'TICKETS_WRITE',
        operation: 'createTicket',
        call: (fx, key) =>
          fx.app.exec(CreateTicketDocument, { input: { subject: 'By a key', category: '其他', customerId: fx.ids.CUSTOMER } }, key),
      },
      { scope: 'CONVERSATIONS_READ', operation: 'conversations', call: (fx, key) => fx.app.exec(ConversationsDocument, {}, key) },
      {
        scope: 'CHANNEL_WRITE',
        operation: 'channelInbound',
        call: (fx, key) => fx.app.exec(ChannelInboundDocument, channelMessage(), key),
      },
    ];
    const SCOPES: ApiKeyScope[] = ['TICKETS_READ', 'TICKETS_WRITE', 'CONVERSATIONS_READ', 'CHANNEL_WRITE', 'WEBHOOKS_MANAGE'];
    const keys = {} as Record<ApiKeyScope, string>;
    beforeAll(async () => {
      for (const scope of SCOPES) keys[scope] = (await freshApiKey(fx, [scope])).secret;
    });

    for (const scope of SCOPES) {
      for (const row of REPRESENTATIVE) {
        const allowed = row.scope === scope;
        it(`${row.operation}: a ${scope} key ${allowed ? 'is let through' : '→ FORBIDDEN'}`, async () => {
          const res = await row.call(fx, keys[scope]);
          if (allowed) {
            expect(res.errors).toBeUndefined();
            expect((res.data as Record<string, unknown>)[row.operation]).toBeTruthy();
          } else {
            expect(codes(res)).toEqual(['FORBIDDEN']);
            expect(res.errors![0].path).toEqual([row.operation]);
          }
        });
      }
    }

    it('a key with every scope is refused every operation of the new rows that is for people only', async () => {
      const all = (await freshApiKey(fx, SCOPES)).secret;
      for (const res of [
        await fx.app.exec(CreateApiKeyDocument, { input: { name: 'escalate', scopes: ['TICKETS_READ'] } }, all),
        await fx.app.exec(ApiKeysDocument, {}, all),
        await fx.app.exec(RevokeApiKeyDocument, { id: (await freshApiKey(fx)).id }, all),
        await fx.app.exec(RotateApiKeyDocument, { id: (await freshApiKey(fx)).id }, all),
        await fx.app.exec(MeDocument, {}, all),
      ])
        expect(codes(res)).toEqual(['FORBIDDEN']);
    });
  });

  describe('the table', () => {
    it('has exactly one row per operation, and names only operations the server has', async () => {
      const names = ACCESS.map((r) => r.operation);
      expect(new Set(names).size).toBe(names.length);
      const schema = await fx.app.data<
        { __schema: { queryType: { fields: Array<{ name: string }> }; mutationType: { fields: Array<{ name: string }> } } },
        unknown
      >('{ __schema { queryType { fields { name } } mutationType { fields { name } } } }');
      const served = new Set([...schema.__schema.queryType.fields, ...schema.__schema.mutationType.fields].map((f) => f.name));
      expect(names.filter((n) => !served.has(n))).toEqual([]);
    });

    it('covers every query and mutation of the schema', async () => {
      const schema = await buildSchema({
        resolvers: COVERED_RESOLVERS as unknown as Parameters<typeof buildSchema>[0]['resolvers'],
        authChecker,
        pubSub: createMemoryPubSub(),
        validate: false,
      });
      const operations = [...Object.keys(schema.getQueryType()!.getFields()), ...Object.keys(schema.getMutationType()!.getFields())];
      const missing = operations.filter((op) => !ACCESS.some((r) => r.operation === op));
      expect(missing).toEqual([]);
    });
  });
});

/**
 * For the lifecycle rows: a new conversation of the CUSTOMER caller with the AGENT caller in the matrix
 * department, ACTIVE (ending any open one first) or already ENDED.
 */
async function lifecycleChat(fx: Fixture, status: 'ACTIVE' | 'ENDED' = 'ACTIVE'): Promise<string> {
  const em = fx.app.services.orm.em.fork();
  if (status === 'ACTIVE') {
    await em.execute(`UPDATE conversations SET status = 'ENDED', ended_at = now() WHERE customer_id = ? AND status <> 'ENDED'`, [
      fx.ids.CUSTOMER,
    ]);
  }
  const id = randomUUID();
  await em.execute(
    `INSERT INTO conversations (id, customer_id, agent_id, department_id, topic, status, priority, priority_rank, assigned_at, ended_at, last_seq)
     VALUES (?, ?, ?, ?, 'matrix', ?, 'NORMAL', 2, now(), ?, 0)`,
    [id, fx.ids.CUSTOMER, fx.ids.AGENT, fx.departmentId, status, status === 'ENDED' ? new Date() : null],
  );
  return id;
}

/**
 * The target of the transfer rows: the matrix department's other agent, on a shift now (routing's on-duty
 * rule applies: ROUTING_REQUIRE_SHIFT is on here) and online (a heartbeat on every call).
 */
let transferTargetReady: Promise<void> | null = null;
async function transferTarget(fx: Fixture): Promise<string> {
  transferTargetReady ??= (async () => {
    const now = Date.now();
    const hhmm = (ms: number) =>
      new Date(ms).toLocaleTimeString('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false });
    const { createShift } = await fx.app.data(
      CreateShiftDocument,
      { input: { name: 'Now', code: `NOW${unique()}`, startTime: hhmm(now - 3600_000), endTime: hhmm(now + 3 * 3600_000) } },
      fx.tokens.ADMIN,
    );
    const date = new Date(now - 3600_000).toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
    await fx.app.data(
      AssignSchedulesDocument,
      { input: { shiftId: createShift.id, agentIds: [fx.targetAgentId], dates: [date] } },
      fx.tokens.ADMIN,
    );
  })();
  await transferTargetReady;
  const viewer = { id: fx.targetAgentId, role: 'AGENT' as never, departmentId: fx.departmentId };
  await fx.app.services.presence.heartbeat({
    viewer,
    em: fx.app.services.orm.em.fork(),
    traceId: 'matrix',
    logger: fx.app.services.logger,
    ip: '127.0.0.1',
  });
  return fx.targetAgentId;
}
