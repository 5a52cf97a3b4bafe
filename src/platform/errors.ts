import { GraphQLError } from 'graphql';
import { isMessageId, MessageRef, render } from './i18n/catalogue';

/**
 * The one documented set of `extensions.code` values. Every expected failure uses one of these;
 * anything else is masked as INTERNAL_SERVER_ERROR.
 */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  RATE_LIMITED = 'RATE_LIMITED',
  /** A dependency (PostgreSQL) did not answer within its limit; retrying later may work. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

export const EXPECTED_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * Base of every expected failure. Resolvers and services throw these; the server keeps their message. A
 * message given as a MessageRef is English here (logs) and rendered in the caller's language when the error
 * is formatted (src/platform/graphql-errors.ts).
 */
export class DomainError extends GraphQLError {
  readonly messageRef: MessageRef | null;

  constructor(code: ErrorCode, message: string | MessageRef, extensions: Record<string, unknown> = {}) {
    super(typeof message === 'string' ? message : render(message, 'en'), { extensions: { ...extensions, code } });
    this.messageRef = typeof message === 'string' ? null : message;
  }
}

export class Unauthenticated extends DomainError {
  constructor(message: string | MessageRef = { id: 'error.unauthenticated' }) {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

export class Forbidden extends DomainError {
  constructor(message: string | MessageRef = { id: 'error.forbidden' }) {
    super(ErrorCode.FORBIDDEN, message);
  }
}

export class NotFound extends DomainError {
  /** `what` as the code names it (Ticket, Quick reply): shown in the reader's language when the catalogue has it. */
  constructor(what: string, id?: string) {
    const entity = `entity.${what}`;
    const name: string | MessageRef = isMessageId(entity) ? { id: entity } : what;
    super(
      ErrorCode.NOT_FOUND,
      id ? { id: 'error.notFound', params: { what: name, id } } : { id: 'error.notFoundNoId', params: { what: name } },
    );
  }
}

/**
 * Why an operation was refused with CONFLICT: `extensions.reason` on every CONFLICT, one value per cause, for
 * clients to switch on (the README's error table lists them). Some carry more in `extensions`: INVALID_STATE
 * names `state` and `action`, SCHEDULE_CONFLICTS lists `conflicts`, ALREADY_EXISTS may name `fields`.
 */
export enum ConflictReason {
  /** A value that must be unique is taken (e-mail, shift code, shortcut, a ticket for the conversation). */
  ALREADY_EXISTS = 'ALREADY_EXISTS',
  /** The action is not allowed in the current state (`extensions.state`, `extensions.action`). */
  INVALID_STATE = 'INVALID_STATE',
  /** The change collided with a concurrent one (serialization failure or deadlock, retried first): try again. */
  CONCURRENT_CHANGE = 'CONCURRENT_CHANGE',
  ALREADY_RATED = 'ALREADY_RATED',
  /** Quality: a conversation is reviewed once. */
  ALREADY_REVIEWED = 'ALREADY_REVIEWED',
  /** A conversation is rated after it has ended. */
  NOT_ENDED = 'NOT_ENDED',
  /** Nobody served the conversation (it ended in the queue): nothing to rate. */
  NOT_SERVED = 'NOT_SERVED',
  /** The conversation has ended: no more messages, receipts, typing or ending. */
  CONVERSATION_ENDED = 'CONVERSATION_ENDED',
  /** The conversation is still waiting in the queue (or not active) for what was asked. */
  CONVERSATION_NOT_ACTIVE = 'CONVERSATION_NOT_ACTIVE',
  /** A clientMessageId was used before for a different message. */
  CLIENT_MESSAGE_ID_REUSED = 'CLIENT_MESSAGE_ID_REUSED',
  /** answerHelped with no auto-answer awaiting a reply. */
  NOT_ASKED = 'NOT_ASKED',
  /** answerHelped when the auto-answer has been answered already. */
  ALREADY_ANSWERED = 'ALREADY_ANSWERED',
  /** Transfers: the receiving agent is offline, not available, off duty or at capacity. */
  AGENT_OFFLINE = 'AGENT_OFFLINE',
  AGENT_NOT_AVAILABLE = 'AGENT_NOT_AVAILABLE',
  AGENT_OFF_DUTY = 'AGENT_OFF_DUTY',
  AGENT_AT_CAPACITY = 'AGENT_AT_CAPACITY',
  /** Tickets: the agent holds as many open tickets as allowed. */
  AGENT_AT_LIMIT = 'AGENT_AT_LIMIT',
  ALREADY_ASSIGNED = 'ALREADY_ASSIGNED',
  /** Tickets: escalating a ticket that is already URGENT. */
  TOP_PRIORITY = 'TOP_PRIORITY',
  REOPEN_WINDOW_PASSED = 'REOPEN_WINDOW_PASSED',
  /** Workforce: the period overlaps another (leave, a receiver's schedule). */
  OVERLAP = 'OVERLAP',
  /** Swaps: the schedules do not fit (`extensions.conflicts` says why, as checkSwap does). */
  SCHEDULE_CONFLICTS = 'SCHEDULE_CONFLICTS',
  /** Staffing: a schedule proposal is applied once; one computed before the schedules changed is stale. */
  ALREADY_APPLIED = 'ALREADY_APPLIED',
  STALE_PROPOSAL = 'STALE_PROPOSAL',
  /** A schedule of the swap is already in another pending swap. */
  IN_ANOTHER_SWAP = 'IN_ANOTHER_SWAP',
  /** The schedule took part in a swap (or is named in one) and is kept for the record. */
  KEPT_FOR_RECORD = 'KEPT_FOR_RECORD',
  /** A suggestion (an FAQ phrasing learnt from service) is accepted or rejected once (`extensions.state`). */
  ALREADY_DECIDED = 'ALREADY_DECIDED',
  /** Records: an archive run is already running in the cluster (one at a time). */
  ARCHIVE_RUNNING = 'ARCHIVE_RUNNING',
  /** Only published FAQs take feedback. */
  NOT_PUBLISHED = 'NOT_PUBLISHED',
  /** An admin cannot deactivate themself. */
  SELF_DEACTIVATION = 'SELF_DEACTIVATION',
}

export class Conflict extends DomainError {
  constructor(reason: ConflictReason, message: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.CONFLICT, message, { reason, ...extensions });
  }
}

export class InvalidInput extends DomainError {
  constructor(fields: FieldProblem[] | string, message?: string | MessageRef) {
    const text = typeof message === 'object' ? render(message, 'en') : message;
    const list = typeof fields === 'string' ? [{ field: fields, message: text ?? 'is invalid' }] : fields;
    super(
      ErrorCode.BAD_USER_INPUT,
      typeof message === 'object' ? message : (text ?? list.map((f) => `${f.field} ${f.message}`).join('; ')),
      {
        fields: list,
      },
    );
  }
}

export class RateLimited extends DomainError {
  constructor(retryAfterSeconds: number, message: string | MessageRef = { id: 'error.rateLimited' }) {
    super(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

export class ServiceUnavailable extends DomainError {
  constructor(message: string | MessageRef = { id: 'error.serviceUnavailable' }, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.SERVICE_UNAVAILABLE, message, extensions);
  }
}
