/**
 * Every PostgreSQL advisory lock id ShiftDesk takes, in one place, so that no two uses share an id by accident
 * (two sweeps once did, and would have excluded each other). A single-key lock uses the id alone; a two-key
 * lock (`pg_advisory_xact_lock(int, int)`) uses it as the first key, naming a class of locks.
 */
export const AdvisoryLock = {
  /** Applying migrations at start-up (session lock). */
  MIGRATIONS: 727301,
  /** Creating the first admin account. */
  FIRST_ADMIN: 727302,
  /** Every routing decision of the cluster. */
  ROUTING: 727303,
  IDLE_SWEEP: 727304,
  OFFLINE_SWEEP: 727305,
  /** Two-key: (TICKET_ROUTING, hashtext(department id)) — ticket assignment in one department. */
  TICKET_ROUTING: 727310,
  TICKET_SLA_SWEEP: 727311,
  FIRST_REPLY_SWEEP: 727312,
  SHIFT_HANDOVER: 727313,
  /** The alert evaluator: one process at a time moves the alert state machine (operations). */
  ALERT_EVALUATOR: 727330,
  /** Two-key: (AGENT, hashtext(agent id)) — one agent's schedules and leave. */
  AGENT: 727320,
  /** Held shared by every per-agent locker, exclusively by a call on many agents. */
  ALL_AGENTS: 727321,
  /** Two-key: (PRESENCE_HISTORY, hashtext(agent id)) — closing one agent's presence interval and opening the next. */
  PRESENCE_HISTORY: 727360,
  /** The weekly sample of conversations for quality review (one sampler per cluster). */
  QUALITY_SAMPLE: 727361,
  /** FAQ phrasings and question changes: a phrasing may not repeat another FAQ's question. */
  KNOWLEDGE_PHRASINGS: 727340,
  /** The sweep that turns FAQ answers of well-ended conversations into suggested phrasings. */
  KNOWLEDGE_LEARNING_SWEEP: 727341,
  /** Turning the webhook outbox into deliveries: one process at a time, so a lane's deliveries keep the events' order. */
  WEBHOOK_OUTBOX: 727430,
  /** Two-key: (WEBHOOK_LANE, hashtext(webhook id:object id)) — claiming and finishing one lane's deliveries, in order. */
  WEBHOOK_LANE: 727431,
  /** Session lock held for a whole records archive run (moving and purging): one run at a time in the cluster. */
  RECORDS_ARCHIVE: 727350,
  /** Two-key: (CHANNEL_IDENTITY, hashtext(channel, external customer id)) — making a channel's customer, linking it. */
  CHANNEL_IDENTITY: 727420,
  /** Two-key: (CHANNEL_CUSTOMER, hashtext(customer id)) — one channel customer's inbound messages, one at a time. */
  CHANNEL_CUSTOMER: 727421,
} as const;
