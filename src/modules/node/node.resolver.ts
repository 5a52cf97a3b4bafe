import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import { Node } from '../../platform/node';
import { Role, STAFF } from '../../platform/auth/roles';
import { signedIn } from '../../platform/auth/scope';
import { NotFound } from '../../platform/errors';
import { MAX_PAGE_SIZE } from '../../platform/pagination';
import { User } from '../accounts/user.entity';
import { Department } from '../accounts/department.entity';
import { Conversation } from '../conversations/conversation.entity';
import { Message } from '../conversations/message.entity';
import { Ticket } from '../tickets/ticket.entity';
import { LeaveRequest } from '../leave/leave-request.entity';
import { SwapRequest } from '../swaps/swap.entity';
import { ScheduleProposal } from '../staffing/staffing.inputs';
import { ExportJob } from '../records/export-job.entity';
import { Notification } from '../notifications/notification.entity';
import { Shift } from '../scheduling/shift.entity';
import { Schedule } from '../scheduling/schedule.entity';
import { SwapStep } from '../swaps/swap.entity';
import { ConversationTransfer } from '../conversations/conversation-transfer.entity';
import { TicketComment } from '../tickets/ticket-comment.entity';
import { AuditEntry } from '../audit/audit-entry.entity';
import { QuickReply } from '../quick-replies/quick-reply.entity';
import { Faq } from '../knowledge/faq.entity';
import { canEditFaq, canReadFaq } from '../knowledge/faq-rules';
import { FaqPhrasing, FaqPhrasingStatus } from '../knowledge/faq-phrasing.entity';
import { Upload } from '../uploads/upload.entity';
import { NodeService, NodeType } from './node.service';
import { SUPERVISOR_NODE_TYPES } from './supervisor-nodes';

const SIGNED_IN = [...STAFF, Role.CUSTOMER] as const;
const SUPERVISORS = [Role.ADMIN, Role.MANAGER] as const;

/** Every refetchable type, each loaded as its own query loads it. */
export const NODE_TYPES: readonly NodeType<Context>[] = [
  { type: User, tables: ['users'], roles: SIGNED_IN, load: (ctx, id) => ctx.services.accounts.user(ctx, id) },
  {
    type: Department,
    tables: ['departments'],
    roles: STAFF,
    load: async (ctx, id) => {
      const found = (await ctx.services.accounts.departments(ctx)).find((d) => d.id === id);
      if (!found) throw new NotFound('Department', id);
      return found;
    },
  },
  {
    type: Conversation,
    tables: ['conversations', 'conversations_archive'],
    roles: [Role.CUSTOMER, ...STAFF],
    load: (ctx, id) => ctx.services.chat.readable(ctx.em, signedIn(ctx.viewer), id),
  },
  {
    // Messages of archived conversations are read through their conversation's history (messages).
    type: Message,
    tables: ['messages'],
    roles: [Role.CUSTOMER, ...STAFF],
    load: async (ctx, id, rows) => {
      const message = await rows.get(Message, id);
      if (!message) return null;
      await ctx.services.chat.readable(ctx.em, signedIn(ctx.viewer), message.conversationId);
      return message;
    },
  },
  { type: Ticket, tables: ['tickets'], roles: SIGNED_IN, load: (ctx, id) => ctx.services.tickets.queries.get(ctx, id) },
  { type: LeaveRequest, tables: ['leave_requests'], roles: STAFF, load: (ctx, id) => ctx.services.leave.get(ctx, id) },
  { type: SwapRequest, tables: ['swap_requests'], roles: STAFF, load: (ctx, id) => ctx.services.swaps.get(ctx, id) },
  {
    type: ScheduleProposal,
    tables: ['schedule_proposals'],
    roles: SUPERVISORS,
    load: (ctx, id) => ctx.services.proposals.get(ctx, id),
  },
  { type: ExportJob, tables: ['export_jobs'], roles: STAFF, load: (ctx, id) => ctx.services.records.exports.get(ctx, id) },
  {
    // notifications: the viewer's own only
    type: Notification,
    tables: ['notifications'],
    roles: SIGNED_IN,
    load: async (ctx, id, rows) => {
      const notification = await rows.get(Notification, id);
      return notification?.userId === signedIn(ctx.viewer).id ? notification : null;
    },
  },
  {
    // shifts: a department's own plus those shared by all (admins: every one), as the shifts query lists them
    type: Shift,
    tables: ['shifts'],
    roles: STAFF,
    load: async (ctx, id, rows) => {
      const viewer = signedIn(ctx.viewer);
      const shift = await rows.get(Shift, id);
      if (!shift || (viewer.role !== Role.ADMIN && shift.departmentId !== null && shift.departmentId !== viewer.departmentId)) return null;
      return shift;
    },
  },
  {
    // schedules: agents their own, managers their department's agents', admins all (as the schedules query)
    type: Schedule,
    tables: ['schedules'],
    roles: STAFF,
    load: async (ctx, id, rows) => {
      const viewer = signedIn(ctx.viewer);
      const schedule = await rows.get(Schedule, id);
      if (!schedule) return null;
      if (viewer.role === Role.ADMIN || schedule.agentId === viewer.id) return schedule;
      const agent = viewer.role === Role.MANAGER ? await ctx.loaders.user.load(schedule.agentId) : null;
      if (!agent || agent.departmentId !== viewer.departmentId) throw new NotFound('Schedule', id);
      return schedule;
    },
  },
  {
    type: SwapStep,
    tables: ['swap_steps'],
    roles: STAFF,
    load: async (ctx, id, rows) => {
      const step = await rows.get(SwapStep, id);
      if (!step) return null;
      await ctx.services.swaps.get(ctx, step.swapRequestId);
      return step;
    },
  },
  {
    // a conversation's hand-overs, to whoever may read the conversation (as Conversation.transfers)
    type: ConversationTransfer,
    tables: ['conversation_transfers'],
    roles: [Role.CUSTOMER, ...STAFF],
    load: async (ctx, id, rows) => {
      const transfer = await rows.get(ConversationTransfer, id);
      if (!transfer) return null;
      await ctx.services.chat.readable(ctx.em, signedIn(ctx.viewer), transfer.conversationId);
      return transfer;
    },
  },
  {
    // a ticket's comments as Ticket.comments shows them: customers never see internal ones
    type: TicketComment,
    tables: ['ticket_comments'],
    roles: SIGNED_IN,
    load: async (ctx, id, rows) => {
      const comment = await rows.get(TicketComment, id);
      if (!comment) return null;
      await ctx.services.tickets.queries.get(ctx, comment.ticketId);
      if (comment.internal && ctx.viewer?.role === Role.CUSTOMER) throw new NotFound('Comment', id);
      return comment;
    },
  },
  {
    type: QuickReply,
    tables: ['quick_replies'],
    roles: STAFF,
    load: (ctx, id) => ctx.services.quickReplies.usable(ctx, id),
  },
  {
    // published FAQs: everyone signed in; drafts and archived ones: their keepers (as the faqs query lists them)
    type: Faq,
    tables: ['faqs'],
    roles: SIGNED_IN,
    load: async (ctx, id, rows) => {
      const faq = await rows.get(Faq, id);
      return faq && canReadFaq(signedIn(ctx.viewer), faq) ? faq : null;
    },
  },
  {
    // accepted phrasings: whoever reads the FAQ (Faq.phrasings); suggested and rejected ones: its keepers
    type: FaqPhrasing,
    tables: ['faq_phrasings'],
    roles: SIGNED_IN,
    load: async (ctx, id, rows) => {
      const phrasing = await rows.get(FaqPhrasing, id);
      const faq = phrasing && (await rows.get(Faq, phrasing.faqId));
      if (!faq) return null;
      const viewer = signedIn(ctx.viewer);
      return (phrasing.status === FaqPhrasingStatus.ACCEPTED ? canReadFaq(viewer, faq) : canEditFaq(viewer, faq)) ? phrasing : null;
    },
  },
  {
    // as GET /uploads/{id}: its owner, admins, and the managers who decide the leave request it is attached to
    type: Upload,
    tables: ['uploads'],
    roles: SIGNED_IN,
    load: async (ctx, id, rows) => {
      const upload = await rows.get(Upload, id);
      return upload && (await ctx.services.uploads.mayRead(ctx.em, signedIn(ctx.viewer), upload)) ? upload : null;
    },
  },
  {
    type: AuditEntry,
    tables: ['audit_entries'],
    roles: [Role.ADMIN],
    load: (ctx, id, rows) => rows.get(AuditEntry, id),
  },
  ...SUPERVISOR_NODE_TYPES,
];

const nodeService = new NodeService(NODE_TYPES);

@Resolver()
export class NodeResolver {
  @Authorized()
  @Query(() => Node, {
    nullable: true,
    description: 'Any object by its id, in your scope: null when it does not exist or is not yours to see',
  })
  node(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return nodeService.node(ctx, id);
  }

  @Authorized()
  @Query(() => [Node], { nullable: 'items', description: `node(id) for up to ${MAX_PAGE_SIZE} ids, in their order` })
  nodes(@Arg('ids', () => [ID]) ids: string[], @Ctx() ctx: Context) {
    return nodeService.nodes(ctx, ids);
  }
}
