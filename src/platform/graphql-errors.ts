import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ErrorCode, EXPECTED_CODES, FieldProblem } from './errors';
import { isDatabaseUnavailable } from './db/availability';
import { MessageId, render } from './i18n/catalogue';
import type { Locale } from './i18n/locales';
import { chineseErrorText, localizedErrorText } from './i18n/error-translation';
import { chineseGraphqlMessage } from './i18n/graphql-messages';

/** Apollo's and graphql-js's own request-level codes: the request itself was bad. */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** The masked message, in English (the catalogue's `error.internal`). */
export const INTERNAL_MESSAGE = render({ id: 'error.internal' }, 'en');

/** PostgreSQL data exceptions that only a malformed argument value can cause. */
const INVALID_FORMAT: Record<string, MessageId> = {
  '22P02': 'error.badIdFormat', // invalid_text_representation
  '22007': 'error.badDateFormat', // invalid_datetime_format
  '22008': 'error.dateOutOfRange', // datetime_field_overflow
  // A NUL byte that reached SQL by a path the argument check does not cover (e.g. an upload's file name).
  '22021': 'error.badCharacter', // character_not_in_repertoire
};

/**
 * graphql-js's "Did you mean …?" hints (fields, arguments, types, input fields, enum values, in validation
 * and in variable coercion alike) name parts of the schema a caller did not ask for. The hint is always the
 * tail of a sentence: `Did you mean [sub-message ]"Name"[, "Name"…][, or "Name"]?`.
 */
const SUGGESTION = /\s*Did you mean (?:[a-z][a-z ]* )?"\w+"(?:(?:, |,? or )"\w+")*\?/g;

export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}

/**
 * Maps any error to a response error from the documented set. Expected failures keep their message;
 * anything else is masked: no stack, SQL or paths leave the server. `isExpected` is false for those,
 * so the caller logs them. Messages from the catalogue are rendered in `locale` (see request-locale.ts); codes,
 * reasons and field names are the same in every language.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  locale: Locale,
): { error: GraphQLFormattedError; isExpected: boolean } {
  const original = unwrapResolverError(error);
  const code =
    (formatted.extensions?.code as string | undefined) ??
    (original instanceof GraphQLError ? (original.extensions?.code as string) : undefined);
  // One place for both transports (Apollo's formatError over HTTP, formatAll in websocket.ts).
  const ref = (original as { messageRef?: { id: MessageId } | null } | undefined)?.messageRef;
  // Texts still written inline in English are looked up in the translation table (error-texts.ts); graphql-js's
  // own (parse, validation, variables) in graphql-messages.ts, the English kept for tools that match on it.
  const english = withoutSuggestions(formatted.message);
  const graphqlText = !ref && locale === 'zh-CN' && code && (REQUEST_CODES.has(code) || code === ErrorCode.BAD_USER_INPUT);
  const fromGraphql = graphqlText && chineseErrorText(english) === null ? chineseGraphqlMessage(english) : null;
  const message = ref ? render(ref, locale) : (fromGraphql ?? localizedErrorText(english, locale));
  const keptEnglish = fromGraphql ? { originalMessage: english } : {};
  const base = { message, locations: formatted.locations, path: formatted.path };

  // type-graphql's argument validation (class-validator)
  const validationErrors = (original as { extensions?: { validationErrors?: unknown } } | undefined)?.extensions?.validationErrors;
  if (Array.isArray(validationErrors)) {
    const fields = flattenValidation(validationErrors).map((f) => ({ ...f, message: localizedErrorText(f.message, locale) }));
    return {
      isExpected: true,
      error: {
        ...base,
        message: fields.map((f) => `${f.field} ${f.message}`).join('; ') || render({ id: 'error.invalidInput' }, locale),
        extensions: { code: ErrorCode.BAD_USER_INPUT, fields },
      },
    };
  }
  if (code && EXPECTED_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    const { stacktrace: _stack, exception: _exception, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { isExpected: true, error: { ...base, extensions: { ...localizedProblems(extensions, locale), ...keptEnglish, code } } };
  }
  if (code && REQUEST_CODES.has(code)) {
    return { isExpected: true, error: { ...base, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: code, ...keptEnglish } } };
  }
  // PostgreSQL rejected a value's syntax (e.g. an id that is not a UUID, a cursor with a made-up date):
  // the input was bad, not the server.
  const invalidFormat = INVALID_FORMAT[(original as { code?: string } | undefined)?.code ?? ''];
  if (invalidFormat) {
    return {
      isExpected: true,
      error: { ...base, message: render({ id: invalidFormat }, locale), extensions: { code: ErrorCode.BAD_USER_INPUT } },
    };
  }
  // PostgreSQL stalled or unreachable (DB_TIMEOUT_MS ran out): say so, rather than mask it as a bug.
  if (isDatabaseUnavailable(original)) {
    return {
      isExpected: true,
      error: { ...base, message: render({ id: 'error.serviceUnavailable' }, locale), extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } },
    };
  }
  return {
    isExpected: false,
    error: {
      message: render({ id: 'error.internal' }, locale),
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    },
  };
}

/** Where an error over HTTP came from: its request's trace id and locale. */
export interface ErrorOrigin {
  traceId: string;
  locale: Locale;
}

/**
 * Apollo's formatError sees the error but not its request. Its plugins see both first (didEncounterErrors, and
 * the context function for errors building the context), and note here which request each error is from.
 */
const originOfError = new WeakMap<object, ErrorOrigin>();

export function rememberErrorOrigin(error: unknown, origin: ErrorOrigin): void {
  if (error !== null && typeof error === 'object') originOfError.set(error, origin);
}

/**
 * Apollo's formatError over HTTP: formatError in the request's locale, with its trace id. An error of unknown
 * origin (Apollo refused the request before any operation began: no `query`, a GET mutation) passes as it is,
 * for finishHttpErrors to format once the response is back with its request.
 */
export function formatHttpError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const origin = originOfError.get(error as object) ?? originOfError.get(unwrapResolverError(error) as object);
  return origin ? formatFrom(origin, formatted, error) : formatted;
}

function formatFrom(origin: ErrorOrigin, formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const { error: out } = formatError(formatted, error, origin.locale);
  return { ...out, extensions: { ...out.extensions, traceId: origin.traceId } };
}

/**
 * A response body with the errors formatHttpError passed (those without a trace id) formatted: Apollo's own
 * refusals, whose message and code are all they carry, in `locale`, with the request's trace id.
 */
export function finishHttpErrors(body: string, origin: ErrorOrigin): string {
  let parsed: { errors?: unknown };
  try {
    parsed = JSON.parse(body) as { errors?: unknown };
  } catch {
    return body;
  }
  if (!Array.isArray(parsed.errors)) return body;
  let changed = false;
  parsed.errors = parsed.errors.map((e: GraphQLFormattedError) => {
    if (e.extensions?.traceId !== undefined) return e;
    changed = true;
    return formatFrom(origin, e, new GraphQLError(e.message, { extensions: e.extensions }));
  });
  return changed ? JSON.stringify(parsed) : body;
}

/**
 * `fields[].message` and `conflicts[].message` (and any other list of problems in the extensions) in the
 * reader's language; field names, reasons and ids stay as they are.
 */
function localizedProblems(extensions: Record<string, unknown>, locale: Locale): Record<string, unknown> {
  if (locale === 'en') return extensions;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extensions)) {
    out[key] = Array.isArray(value)
      ? value.map((item: unknown) =>
          item && typeof item === 'object' && typeof (item as { message?: unknown }).message === 'string'
            ? { ...item, message: localizedErrorText((item as { message: string }).message, locale) }
            : item,
        )
      : value;
  }
  return out;
}

function flattenValidation(errors: unknown[], prefix = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const e of errors as Array<{ property: string; constraints?: Record<string, string>; children?: unknown[] }>) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
      // class-validator messages start with the property name; keep just the rule.
      out.push({ field, message: message.startsWith(`${e.property} `) ? message.slice(e.property.length + 1) : message });
    }
    if (e.children?.length) out.push(...flattenValidation(e.children, field));
  }
  return out;
}
