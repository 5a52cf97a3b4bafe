import { AsyncResource } from 'node:async_hooks';
import type http from 'node:http';
import { ApolloServer, HeaderMap, HTTPGraphQLRequest } from '@apollo/server';
import { trace } from '@opentelemetry/api';
import { ErrorCode } from './platform/errors';
import { finishHttpErrors, INTERNAL_MESSAGE, rememberErrorOrigin } from './platform/graphql-errors';
import { localizedErrorText } from './platform/i18n/error-translation';
import type { Locale } from './platform/i18n/locales';
import { localeOfAcceptLanguage } from './platform/i18n/request-locale';
import { traceIdOfRequest } from './platform/trace';

/** The largest request body POST /graphql takes (express.json's limit on the general path, the same here). */
export const MAX_GRAPHQL_BODY_BYTES = 1024 * 1024;

/** `Content-Type` values the direct path reads itself: JSON in UTF-8, as every GraphQL client sends it. */
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset="?utf-8"?\s*)?$/i;

/** What POST /graphql answers before and around Apollo: the trace id and "never cache". */
export function setGraphqlResponseHeaders(res: http.ServerResponse, traceId: string): void {
  res.setHeader('x-trace-id', traceId);
  res.setHeader('Cache-Control', 'no-store'); // personal data: never cached
}

/** A refusal in GraphQL's error shape, for what fails before Apollo runs (bad JSON, a body too large). */
export function writeGraphqlError(
  res: http.ServerResponse,
  status: number,
  message: string,
  code: ErrorCode,
  traceId: string,
  locale: Locale,
): void {
  const body = JSON.stringify({ errors: [{ message: localizedErrorText(message, locale), extensions: { code, traceId } }] });
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export interface GraphqlPostOptions<TContext extends object> {
  apollo: ApolloServer<TContext>;
  context: (req: http.IncomingMessage, traceId: string) => Promise<TContext>;
  /** Logs what Apollo itself threw (it answers every GraphQL error itself). */
  onUnexpectedError: (err: unknown, traceId: string) => void;
}

/**
 * POST /graphql on node:http, without express: its router, body-parser, `res.send` (which hashed every body for
 * an ETag no client can use on a no-store POST) and the integration's copies cost more than Apollo's whole
 * pipeline for a small query. It takes only the plain case, a JSON body in UTF-8 of a declared length within
 * the limit, and returns false for everything else (a compressed or chunked body, another type or charset,
 * another path or method), which express then answers as before, so both paths answer alike.
 */
export function graphqlPostHandler<TContext extends object>(
  options: GraphqlPostOptions<TContext>,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || !isGraphqlPath(req.url)) return false;
    const { headers } = req;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= MAX_GRAPHQL_BODY_BYTES) || headers['transfer-encoding'] !== undefined) return false;
    if (!PLAIN_JSON.test(headers['content-type'] ?? '')) return false;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;

    const traceId = traceIdOfRequest(headers);
    setGraphqlResponseHeaders(res, traceId);
    // The body's last chunk arrives in the socket's async context: with tracing on, the answer runs in this
    // scope, which keeps the request's OpenTelemetry span (as body-parser's raw-body does).
    const respond = (body: Buffer) => void answer(options, req, res, body, traceId);
    if (trace.getActiveSpan()) {
      const scope = new AsyncResource('GRAPHQL_POST');
      readBody(req, length, (body) => scope.runInAsyncScope(respond, null, body));
    } else readBody(req, length, respond);
    return true;
  };
}

function isGraphqlPath(url: string | undefined): boolean {
  return url !== undefined && url.startsWith('/graphql') && (url.length === 8 || url.charCodeAt(8) === 63); /* ? */
}

/** Collects the body (Node's parser already holds it to its Content-Length); a client that goes away gets nothing. */
function readBody(req: http.IncomingMessage, length: number, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)));
  req.on('error', () => req.destroy());
}

async function answer<TContext extends object>(
  options: GraphqlPostOptions<TContext>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  raw: Buffer,
  traceId: string,
): Promise<void> {
  const body = parseJsonBody(raw);
  if (body === undefined) {
    const locale = localeOfAcceptLanguage(req.headers['accept-language']);
    writeGraphqlError(res, 400, 'The request body is not valid JSON', ErrorCode.BAD_USER_INPUT, traceId, locale);
    return;
  }
  await runGraphqlRequest(options, req, res, body, traceId);
}

/**
 * Runs one HTTP GraphQL request through Apollo and writes its answer; both paths (the direct POST above and
 * express's, which has parsed `body` itself) end here. Errors get their request's trace id and locale: those
 * of the operation through the plugins (server.ts), those of building the context here, and Apollo's own
 * refusals, which come back before any context exists, by finishHttpErrors.
 */
export async function runGraphqlRequest<TContext extends object>(
  options: GraphqlPostOptions<TContext>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: unknown,
  traceId: string,
): Promise<void> {
  let contextBuilt = false;
  const origin = () => ({ traceId, locale: localeOfAcceptLanguage(req.headers['accept-language']) });
  try {
    const query = req.url!.indexOf('?');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: req.method!.toUpperCase(),
      headers: headerMap(req.headers),
      search: query === -1 ? '' : req.url!.slice(query),
      body,
    };
    const response = await options.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        try {
          const context = await options.context(req, traceId);
          contextBuilt = true;
          return context;
        } catch (err) {
          rememberErrorOrigin(err, origin());
          throw err;
        }
      },
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      // Every error of an operation that ran has its trace id already; only a refusal can lack it.
      const text = contextBuilt && res.statusCode === 200 ? response.body.string : finishHttpErrors(response.body.string, origin());
      res.setHeader('Content-Length', Buffer.byteLength(text));
      res.end(text);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  } catch (err) {
    options.onUnexpectedError(err, traceId);
    if (res.headersSent) res.destroy();
    else writeGraphqlError(res, 500, INTERNAL_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR, traceId, origin().locale);
  }
}

/**
 * The body as body-parser's strict JSON reads it: an object or an array (a batch), a byte-order mark ignored;
 * undefined when it is not one.
 */
function parseJsonBody(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = text.trimStart().charAt(0);
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Apollo's header map, as the express integration builds it (repeated headers joined). */
function headerMap(headers: http.IncomingHttpHeaders): HeaderMap {
  const map = new HeaderMap();
  for (const key in headers) {
    const value = headers[key];
    if (value !== undefined) map.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}
