/** Topic names. Each is narrow (addressed by an id) so no subscriber filters events meant for others. */
export const Topics = {
  /** `NOTIFICATIONS:<userId>`: a user's new notifications. */
  NOTIFICATIONS: 'NOTIFICATIONS',
  /** Process-wide: a user's tokens were revoked (role change, deactivation); open sockets close. */
  SESSION_REVOKED: 'SESSION_REVOKED',
  /** Process-wide: a process has dropped a revoked session (`{ ack }`), so the revoking mutation may answer. */
  SESSION_REVOKED_ACK: 'SESSION_REVOKED_ACK',
  /** `PRESENCE:<departmentId>` for a department's board, `PRESENCE:ALL` for admins watching everyone. */
  PRESENCE: 'PRESENCE',
  /** `CONVERSATION:<conversationId>`: messages, typing, receipts and status changes of one conversation. */
  CONVERSATION: 'CONVERSATION',
  /** `INBOX:<agentId>`: an agent's assignments, transfers, ends and new messages. */
  INBOX: 'INBOX',
  /** `QUEUE_CUSTOMER:<customerId>`: a waiting customer's position, estimate and assignment. */
  QUEUE_CUSTOMER: 'QUEUE_CUSTOMER',
  /** `QUEUE:<departmentId>` or `QUEUE:ALL`: the queue of a department changed (supervisors). */
  QUEUE: 'QUEUE',
  /** Process-wide: a hot read changed (`{ area }`); every process drops its cached copies (HotCache). */
  CACHE_INVALIDATED: 'CACHE_INVALIDATED',

  /** `QUALITY:<departmentId>` or `QUALITY:ALL`: rule violations and strongly negative customers (supervisors). */
  QUALITY: 'QUALITY',
  /** `DASHBOARD:<departmentId>` or `DASHBOARD:ALL`: the live service dashboard, pushed every interval. */
  DASHBOARD: 'DASHBOARD',
  /** `ALERTS:<departmentId>` or `ALERTS:ALL`: an alert was raised (every alert goes to ALL too). */
  ALERTS: 'ALERTS',
  /** `EXPORT_PROGRESS:<exportJobId>`: rows written by an export, for its requester. */
  EXPORT_PROGRESS: 'EXPORT_PROGRESS',
} as const;

/** The id of the everyone-topic of per-department topics (`PRESENCE:ALL`). */
export const ALL_DEPARTMENTS = 'ALL';
