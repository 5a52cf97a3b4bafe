import { GraphQLError } from 'graphql';

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

/** Base of every expected failure. Resolvers and services throw these; the server keeps their message. */
export class DomainError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export class Unauthenticated extends DomainError {
  constructor(message = 'Not signed in, or the session has ended') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

export class Forbidden extends DomainError {
  constructor(message = 'You are not allowed to do this') {
    super(ErrorCode.FORBIDDEN, message);
  }
}

export class NotFound extends DomainError {
  constructor(what: string, id?: string) {
    super(ErrorCode.NOT_FOUND, id ? `${what} ${id} was not found` : `${what} was not found`);
  }
}

export class Conflict extends DomainError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.CONFLICT, message, extensions);
  }
}

export class InvalidInput extends DomainError {
  constructor(fields: FieldProblem[] | string, message?: string) {
    const list = typeof fields === 'string' ? [{ field: fields, message: message ?? 'is invalid' }] : fields;
    super(ErrorCode.BAD_USER_INPUT, message ?? list.map((f) => `${f.field} ${f.message}`).join('; '), { fields: list });
  }
}

export class RateLimited extends DomainError {
  constructor(retryAfterSeconds: number, message = 'Too many requests; try again later') {
    super(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

export class ServiceUnavailable extends DomainError {
  constructor(message = 'The database is not answering; try again shortly', extensions: Record<string, unknown> = {}) {
    super(ErrorCode.SERVICE_UNAVAILABLE, message, extensions);
  }
}
