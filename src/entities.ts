import { Department } from './modules/accounts/department.entity';
import { User } from './modules/accounts/user.entity';
import { AuditEntry } from './modules/audit/audit-entry.entity';
import { Notification } from './modules/notifications/notification.entity';
import { Schedule } from './modules/scheduling/schedule.entity';
import { Shift } from './modules/scheduling/shift.entity';
import { LeaveRequest } from './modules/leave/leave-request.entity';
import { Upload } from './modules/uploads/upload.entity';
import { SwapRequest, SwapStep } from './modules/swaps/swap.entity';
import { Conversation } from './modules/conversations/conversation.entity';
import { Message } from './modules/conversations/message.entity';
import { ConversationTransfer } from './modules/conversations/conversation-transfer.entity';
import { QuickReply } from './modules/quick-replies/quick-reply.entity';
import { Faq } from './modules/knowledge/faq.entity';
import { FaqPhrasing } from './modules/knowledge/faq-phrasing.entity';
import { Ticket } from './modules/tickets/ticket.entity';
import { TicketComment } from './modules/tickets/ticket-comment.entity';
import { QualityReview, QualityViolation } from './modules/quality/quality.entities';
import { ForecastOverride } from './modules/staffing/staffing.entity';
import { Alert, AlertDelivery } from './modules/operations/alert.entity';
import { ExportJob } from './modules/records/export-job.entity';
import { ApiKey } from './modules/integrations/api-key.entity';
import { ChannelIdentity } from './modules/integrations/channel-identity.entity';

import { Webhook, WebhookDelivery } from './modules/integrations/webhook.entity';

/** Every MikroORM entity, in one list for the ORM's discovery. */
export const ENTITIES = [
  Department,
  User,
  AuditEntry,
  Notification,
  Shift,
  Schedule,
  Upload,
  LeaveRequest,
  SwapRequest,
  SwapStep,
  Conversation,
  Message,
  ConversationTransfer,
  QuickReply,
  Faq,
  Ticket,
  TicketComment,
  QualityViolation,
  QualityReview,
  ForecastOverride,
  FaqPhrasing,
  Alert,
  AlertDelivery,
  ExportJob,
  ApiKey,
  ChannelIdentity,

  Webhook,
  WebhookDelivery,
];
