import type http from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  DocumentNode,
  ExecutionArgs,
  getOperationAST,
  GraphQLError,
  GraphQLFormattedError,
  GraphQLSchema,
  parse,
  specifiedRules,
  validate,
  ValidationRule,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { authenticate, Authentication, buildContext, Context, Session } from './context';
import { principalOf, SocketSessions } from './socket-sessions';
import { newTraceId } from './platform/trace';
import { clientAddress, compileTrust } from './platform/client-address';
import { CREDENTIAL_MESSAGES } from './platform/auth/credentials';
import { ErrorCode } from './platform/errors';
import { isDatabaseUnavailable } from './platform/db/availability';
import { formatError } from './platform/graphql-errors';
import { CompiledExecution } from './platform/graphql-execution';
import { CLOSE_TRY_AGAIN_LATER, coalesceWrites } from './platform/realtime/coalesced-writes';
import { startHeartbeat } from './platform/realtime/heartbeat';
import { chooseLocale, Locale } from './platform/i18n/locales';
import { localeOf, rememberRequestedLocale } from './platform/i18n/request-locale';
import { Topics } from './platform/realtime/topics';
import type { Services } from './services';
import type { SessionRevokedEvent } from './modules/accounts/account.service';
import { rotatedKeyOf } from './modules/integrations/api-key.service';

interface ConnectionExtra extends Record<PropertyKey, unknown> {
  session?: Session;
  /** The client's address, read from the upgrade request once it is accepted (the request is then let go). */
  ip?: string;
}

/**
 * graphql-ws on `/graphql`. The token travels in connection_init as `{ "authorization": "Bearer …" }`;
 * a missing or bad one closes the socket with 4403. The same depth/cost/alias/token limits as HTTP apply.
 * When a user's sessions are revoked (on any process), their sockets here close with 4403 too.
 */
export function attachGraphqlWs(services: Services, schema: GraphQLSchema, httpServer: http.Server, limitRules: ValidationRule[]) {
  const { metrics, logger, config } = services;
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 1024 * 1024 });
  const sessions = new SocketSessions(() => services.orm.em.fork(), logger);
  sessions.start(config.wsSessionRecheckMs);
  // Login over a WebSocket counts against the same per-address bucket as over HTTP.
  const trustProxy = compileTrust(config.trustProxy);
  const rules = [...specifiedRules, ...limitRules];
  const documents = new DocumentCache(500, 20_000);
  const compiled = new CompiledExecution(schema, { compile: !config.otlpEndpoint });
  const heartbeat = startHeartbeat(wss, config.wsHeartbeatMs);
  wss.on('connection', (socket, request) => {
    const raw = request.socket; // not `request`: the upgrade request is let go once the socket is accepted
    coalesceWrites(socket, raw, () => {
      metrics.wsClosedNotReading.inc();
      logger.warn({ peer: raw.remoteAddress }, 'graphql-ws: closed a connection whose client is not reading');
    });
    heartbeat.track(socket, raw);
  });

  const formatAll = (errors: readonly GraphQLError[], traceId: string, locale: Locale): GraphQLFormattedError[] =>
    errors.map((e) => {
      const { error, isExpected } = formatError(e.toJSON(), e, locale);
      if (!isExpected) logger.error({ err: e.originalError ?? e, traceId }, 'unexpected error');
      return { ...error, extensions: { ...error.extensions, traceId } };
    });

  // Disconnects being recorded (presence store, history, announcements): the drain waits for them, or a socket
  // closed by the drain would write to a database that is closing (a connection request left pending there
  // kept the process alive for the pool's 60 s acquire timeout).
  const disconnects = new Set<Promise<void>>();
  const serverCleanup = useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema,
      execute: compiled.execute,
      subscribe: compiled.subscribe,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        let signedIn: Authentication;
        try {
          signedIn = await authenticate(services, services.orm.em.fork(), tokenFrom(ctx.connectionParams));
        } catch (err) {
          if (!isDatabaseUnavailable(err)) throw err;
          // PostgreSQL stalled or gone (DB_TIMEOUT_MS): 1013, which graphql-ws clients retry, not 4500 (fatal).
          logger.warn({ err }, 'graphql-ws: PostgreSQL did not answer while the connection signed in');
          return refuse(socket, CLOSE_TRY_AGAIN_LATER, 'The database did not answer; try again');
        }
        const { session, problem } = signedIn;
        // Closed here rather than by graphql-ws (4403 "Forbidden"), so the reason says what to fix.
        if (!session) return refuse(socket, CloseCode.Forbidden, problem ? CREDENTIAL_MESSAGES[problem] : NOT_SIGNED_IN);
        // The client may have hung up while the token was being checked; its 'close' has then already fired
        // and neither the gauge nor the revocation index would ever hear of it again.
        if (socket.readyState !== WebSocket.OPEN) return false;
        // Counted and added with no await in between, so parallel connects of one user cannot all pass.
        // 4429, which graphql-ws clients do not retry, rather than a code that invites a reconnect loop.
        if (sessions.connectionsOf(principalOf(session)) >= config.wsMaxConnectionsPerUser) {
          return refuse(
            socket,
            CloseCode.TooManyInitialisationRequests,
            `Too many connections for this user (at most ${config.wsMaxConnectionsPerUser})`,
          );
        }
        const viewer = session.viewer;
        ctx.extra.session = session;
        // graphql-ws keeps the upgrade request (headers and all) for the socket's life; only its address is needed.
        ctx.extra.ip = clientAddress(ctx.extra.request, trustProxy);
        delete (ctx.extra as { request?: unknown }).request;
        // Nor the token, for the socket's life: of the connection's params only the locale is read again.
        const locale = ctx.connectionParams?.locale;
        (ctx as { connectionParams?: Readonly<Record<string, unknown>> }).connectionParams = locale === undefined ? undefined : { locale };
        sessions.add(socket, session);
        metrics.wsConnections.inc();
        metrics.connectedClients.inc({ role: viewer.role });
        socket.once('close', () => {
          metrics.wsConnections.dec();
          metrics.connectedClients.dec({ role: viewer.role });
        });
        // Agents and managers are online while a socket of theirs is open (an API key's is nobody's presence).
        if (viewer.integration) return true;
        const presenceId = await services.presence.connected(viewer);
        if (socket.readyState !== WebSocket.OPEN) {
          await services.presence.disconnected(presenceId);
          return false;
        }
        socket.once('close', () => {
          const recorded = services.presence
            .disconnected(presenceId)
            .catch((err) => logger.warn({ err }, 'presence: disconnect not recorded'))
            .finally(() => disconnects.delete(recorded));
          disconnects.add(recorded);
        });
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws registers every running operation of the socket, this one included.
        if (Object.keys(ctx.subscriptions).length > config.wsMaxSubscriptionsPerSocket) {
          const message = `At most ${config.wsMaxSubscriptionsPerSocket} operations may run at once on one connection; complete one first`;
          return [new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT } })];
        }
        const traceId = newTraceId();
        let document = documents.get(payload.query);
        if (!document) {
          try {
            document = parse(payload.query, { maxTokens: config.limits.maxTokens });
          } catch (err) {
            return withCode([err instanceof GraphQLError ? err : new GraphQLError(String(err))], 'GRAPHQL_PARSE_FAILED');
          }
          const validationErrors = validate(schema, document, rules);
          if (validationErrors.length) return withCode(validationErrors, 'GRAPHQL_VALIDATION_FAILED');
          documents.set(payload.query, document);
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return withCode([new GraphQLError('The operation to run could not be determined')], 'OPERATION_RESOLUTION_FAILURE');

        const viewer = sessions.viewerOf(ctx.extra.session);
        if (!viewer) {
          ctx.extra.socket.close(CloseCode.Forbidden, CREDENTIAL_MESSAGES.EXPIRED);
          return [new GraphQLError('The session has ended', { extensions: { code: 'UNAUTHENTICATED' } })];
        }

        // graphql-js reports variables that do not fit their types without a code; over HTTP Apollo marks
        // them BAD_USER_INPUT before execution, and so does this (execution parses them again: cheap).
        const variableErrors = compiled.variableErrors(operation, payload.variables);
        if (variableErrors) return withCode(variableErrors, 'BAD_USER_INPUT');
        metrics.operations.inc({ operation: payload.operationName ?? 'anonymous', type: operation.operation, outcome: 'ws' });
        const contextValue = buildContext(services, viewer, null, traceId, ctx.extra.ip ?? clientAddress(ctx.extra.request, trustProxy));
        rememberRequestedLocale(contextValue, ctx.connectionParams?.locale);
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
        return args;
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return;
        const traceId = (args.contextValue as { traceId: string }).traceId;
        return { ...result, errors: formatAll(result.errors, traceId, localeOf(args.contextValue as Context)) };
      },
      onError: (ctx, _id, _payload, errors) => {
        // Refused before execution (parse, validation, variables): in the connection's language too.
        const viewer = sessions.viewerOf(ctx.extra.session);
        const requested = typeof ctx.connectionParams?.locale === 'string' ? ctx.connectionParams.locale : null;
        return formatAll(errors, newTraceId(), chooseLocale(viewer?.locale, requested, viewer?.role).locale);
      },
    },
    wss,
    // Keep-alive is the heartbeat's (one timer for every socket, no ping for a socket that is talking).
    0,
  );

  // Revocations arrive from whichever process made them.
  const revocations = services.pubsub.subscribe(Topics.SESSION_REVOKED)[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const next = await revocations.next();
      if (next.done) return;
      // Whatever arrives on the topic (with Redis: whatever anyone PUBLISHes) must not end this loop, or no
      // socket on this process would ever be closed on revocation again.
      const userId = (next.value as Partial<SessionRevokedEvent> | null | undefined)?.userId;
      if (typeof userId !== 'string') {
        logger.warn({ event: next.value }, 'ignored a malformed session revocation event');
        continue;
      }
      const rotatedKey = rotatedKeyOf(userId);
      if (rotatedKey) sessions.rotated(rotatedKey, new Date(Date.now() + config.apiKeys.rotationOverlapMs));
      else sessions.revoke(userId);
    }
  })().catch((err) => logger.error({ err }, 'session revocation listener stopped'));

  const drainPlugin: ApolloServerPlugin = {
    async serverWillStart() {
      return {
        async drainServer() {
          sessions.stop();
          heartbeat.stop();
          await revocations.return?.();
          await serverCleanup.dispose();
          await new Promise<void>((resolve) => wss.close(() => resolve()));
          // wss.close calls back once every socket has closed, so every disconnect has started by now.
          await Promise.all([...disconnects]);
        },
      };
    },
  };
  return { wss, drainPlugin, openSockets: () => wss.clients.size };
}

/**
 * Documents that parsed and passed validation (the limits included), by query text, least recently used out
 * first. A client sends the same few operations over and over (a chat client one sendMessage per message),
 * and validating even a small document against this schema costs more than parsing it a hundred times;
 * Apollo keeps such a store for HTTP. The result depends only on the text, the schema and the rules, all
 * fixed for the server's life; graphql-js never mutates a document, so one can serve every execution.
 */
class DocumentCache {
  private readonly entries = new Map<string, DocumentNode>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxQueryLength: number,
  ) {}

  get(query: string): DocumentNode | undefined {
    const document = this.entries.get(query);
    if (document) {
      this.entries.delete(query);
      this.entries.set(query, document);
    }
    return document;
  }

  set(query: string, document: DocumentNode): void {
    if (query.length > this.maxQueryLength) return;
    this.entries.set(query, document);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** graphql-js parse and validation errors carry no code; tag them as Apollo does over HTTP. */
function withCode(errors: readonly GraphQLError[], code: string): GraphQLError[] {
  return errors.map(
    (e) => new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code, ...e.extensions } }),
  );
}

const NOT_SIGNED_IN = 'Not signed in: send { "authorization": "Bearer <token>" } in connection_init';

/** Closes the socket with a reason the client can act on; `false` tells graphql-ws the connection is refused. */
function refuse(socket: WebSocket, code: number, reason: string): false {
  socket.close(code, reason);
  return false;
}

/** Accepts `authorization` in any letter case (GraphiQL sends its header editor's `Authorization`). */
function tokenFrom(params: Readonly<Record<string, unknown>> | undefined): unknown {
  if (!params) return undefined;
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() === 'authorization') return v;
  return undefined;
}
