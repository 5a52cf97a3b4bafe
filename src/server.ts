import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { NextFunction, Request, Response } from 'express';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApolloServer, ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLSchema, NoSchemaIntrospectionCustomRule } from 'graphql';
import { authenticate, Authentication, buildContext, Context, forkFor } from './context';
import { newTraceId, traceIdOf, traceIdOfRequest } from './platform/trace';
import { credentialsPlugin } from './platform/auth/credentials';
import { clientAddress, compileTrust } from './platform/client-address';
import { ErrorCode, ServiceUnavailable } from './platform/errors';
import { isDatabaseUnavailable } from './platform/db/availability';
import { answerMalformedHttp } from './platform/http-client-errors';
import { formatError, formatHttpError, INTERNAL_MESSAGE, rememberErrorOrigin } from './platform/graphql-errors';
import {
  graphqlPostHandler,
  GraphqlPostOptions,
  MAX_GRAPHQL_BODY_BYTES,
  runGraphqlRequest,
  setGraphqlResponseHeaders,
  writeGraphqlError,
} from './graphql-http';
import { acceptLanguageOf, localeOf, localeOfAcceptLanguage, localePlugin } from './platform/i18n/request-locale';
import { playgroundPage, playgroundSecurityHeaders } from './playground';
import type { Services } from './services';
import { attachGraphqlWs } from './websocket';
import { uploadRoutes } from './modules/uploads/upload.routes';
import { recordsRoutes } from './modules/records/records.routes';

export interface RunningServer {
  httpServer: http.Server;
  url: string;
  port: number;
  /** Stops taking new work, lets running requests finish, closes sockets. */
  drain(): Promise<void>;
}

/** HTTP + Apollo + graphql-ws on one port, with /healthz, /readyz, /metrics and the playground. */
export async function startHttpServer(services: Services, schema: GraphQLSchema): Promise<RunningServer> {
  const { config, logger } = services;
  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-For decides the client address (and so its rate-limit buckets) only behind a configured proxy.
  const trust = compileTrust(config.trustProxy);
  app.set('trust proxy', trust);
  // Every request gets a trace id (its W3C traceparent's, or the caller's X-Request-Id); responses, errors and logs carry it.
  app.use((req, res, next) => {
    const traceId = traceIdOfRequest(req.headers);
    res.set('x-trace-id', traceId);
    res.locals.traceId = traceId;
    next();
  });
  // The request handler is set once Apollo has started (below): POST /graphql directly, the rest through express.
  // The server must not be the first to close an idle connection: a balancer (or client) that reuses it at that
  // moment loses the request ("upstream prematurely closed"), and a POST is not retried. Node's default is 5 s.
  const httpServer = http.createServer();
  httpServer.keepAliveTimeout = config.httpKeepAliveMs;
  httpServer.on('clientError', answerMalformedHttp);

  const armor = new ApolloArmor({
    maxDepth: { n: config.limits.maxDepth },
    costLimit: { maxCost: config.limits.maxCost },
    // Armor leaves `__typename` out of the count by default, so 500 `a: __typename` passed; count every alias.
    maxAliases: { n: config.limits.maxAliases, allowList: [] },
    // Armor's token plugin throws from parsingDidStart, which Apollo answers with HTTP 500 for every
    // syntax error; graphql-js's own parse option gives the same limit as a normal 400 parse failure.
    maxTokens: { enabled: false },
    maxDirectives: { n: config.limits.maxDirectives },
    // Armor's plugin masks "Did you mean" for HTTP only, and misses enum-value hints; formatError (shared by
    // HTTP and graphql-ws) drops them all.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  // One list of validation rules for both transports: the limits, and no introspection when it is off.
  const validationRules = [...armor.validationRules, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])];

  const ws = attachGraphqlWs(services, schema, httpServer, validationRules);

  const apollo = new ApolloServer<Context>({
    schema,
    ...armor,
    validationRules,
    parseOptions: { maxTokens: config.limits.maxTokens },
    plugins: [
      ...armor.plugins,
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownGraceMs }),
      // Apollo's own landing page loads Sandbox from a CDN; ShiftDesk serves its offline GraphiQL instead.
      ApolloServerPluginLandingPageDisabled(),
      // ShiftDesk sets no cache hints, yet Apollo's default cache-control plugin computes a policy for every
      // field (closures and objects per field: ~45 % of what a 3,500-schedule board allocates, ~30 ms of it).
      // Its only output was `Cache-Control: no-store`, which the /graphql route now sets itself.
      ApolloServerPluginCacheControlDisabled(),
      credentialsPlugin<Context>(),
      observabilityPlugin(services),
      sessionCachePlugin(services),
      localePlugin<Context>(),
      ws.drainPlugin,
    ],
    // In the request's locale, with its trace id (observabilityPlugin notes which request an error is from).
    formatError: formatHttpError,
    // INTROSPECTION is enforced by the validation rule above, the same one graphql-ws runs.
    introspection: true,
    // main.ts owns SIGINT/SIGTERM (drain, then stop PostgreSQL); Apollo must not stop itself and re-signal.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();
  const graphqlOptions: GraphqlPostOptions<Context> = {
    apollo,
    context: (req, traceId) => httpContext(services, req, clientAddress(req, trust), traceId),
    onUnexpectedError: (err, traceId) => services.logger.error({ err, traceId }, 'unhandled HTTP error'),
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, checks } = await readiness(services);
    res.status(ready ? 200 : 503).json(checks);
  });
  app.get('/metrics', async (req, res) => {
    if (config.metricsToken && !isBearer(req.headers.authorization, config.metricsToken)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer realm="metrics"')
        .type('text/plain')
        .send('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    res.type(services.metrics.registry.contentType).send(await services.metrics.registry.metrics());
  });
  app.get(
    '/graphql',
    (req, _res, next) => {
      const wantsPage = config.playground && !req.query.query && (req.headers.accept ?? '').includes('text/html');
      next(wantsPage ? undefined : 'route');
    },
    playgroundSecurityHeaders(),
    (req, res) => {
      const page = playgroundPage();
      res.set('Content-Type', 'text/html; charset=utf-8').set('Cache-Control', 'public, max-age=3600').set('Vary', 'Accept-Encoding');
      if ((req.headers['accept-encoding'] ?? '').includes('gzip')) res.set('Content-Encoding', 'gzip').send(page.gzipped);
      else res.send(page.html);
    },
  );
  app.use(
    '/graphql',
    (_req: Request, res: Response, next: NextFunction) => {
      setGraphqlResponseHeaders(res, traceIdOf(res) ?? newTraceId());
      next();
    },
    express.json({ limit: MAX_GRAPHQL_BODY_BYTES }),
    (req: Request, res: Response) => void runGraphqlRequest(graphqlOptions, req, res, req.body, traceIdOf(res) ?? newTraceId()),
  );
  app.use(uploadRoutes(services));
  app.use(recordsRoutes(services));
  app.use(jsonErrorHandler(services));
  const graphqlPost = graphqlPostHandler<Context>(graphqlOptions);
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!graphqlPost(req, res)) app(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    // Node's default accept backlog is 511: a burst of more new connections than that (a flash sale's first
    // second) overflowed it and the kernel reset the rest. The kernel caps this at net.core.somaxconn.
    httpServer.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  logger.info({ port, host: config.host }, `ShiftDesk listening on http://${host}:${port}/graphql`);

  return {
    httpServer,
    port,
    url: `http://${host}:${port}/graphql`,
    async drain() {
      await apollo.stop(); // closes WebSockets (drain plugin) and waits for HTTP requests in flight
    },
  };
}

async function httpContext(services: Services, req: http.IncomingMessage, ip: string, traceId: string): Promise<Context> {
  // Forked only if authentication reads the user (a cached session does not); else on first use by a resolver.
  let em: EntityManager | null = null;
  let auth: Authentication;
  try {
    auth = await authenticate(services, () => (em ??= forkFor(services, traceId)), req.headers.authorization);
  } catch (err) {
    // Reading the signed-in user found PostgreSQL stalled or gone: 503, not a masked 500.
    if (isDatabaseUnavailable(err)) {
      services.logger.warn({ err, traceId }, 'PostgreSQL did not answer while the request context was built');
      throw new ServiceUnavailable(undefined, { http: { status: 503 } });
    }
    // Apollo masks it (formatError) but no plugin hook sees errors thrown while the context is built.
    services.logger.error({ err, traceId }, 'unexpected error while building the request context');
    throw err;
  }
  // Bad credentials (expired, forged, revoked, not `Bearer`) do not fail the request here: sign-in
  // mutations must still run with them; credentialsPlugin answers 401 to every other operation.
  const context = buildContext(services, auth.session?.viewer ?? null, em, traceId, ip, auth.problem);
  context.requestedLocale = acceptLanguageOf(req.headers['accept-language']);
  return context;
}

/**
 * Ready while PostgreSQL answers. Redis being down degrades the service but does not stop it (see docs/operations.md,
 * "When Redis is down"): every process shares the one Redis, so answering 503 would take them all out of the
 * load balancer at once and turn a degraded service into none.
 */
async function readiness(services: Services): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  // The timer is cleared once the check answers: a probe every few seconds must not leave 2 s timers behind.
  const timeout = <T>(p: Promise<T>) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), services.config.dbTimeoutMs || 2000)),
    );
    return Promise.race([p, expired]).finally(() => clearTimeout(timer));
  };
  try {
    await timeout(services.orm.em.getConnection().execute('SELECT 1'));
    checks.postgres = 'ok';
  } catch {
    checks.postgres = 'unavailable';
  }
  if (services.redis) {
    try {
      await timeout(services.redis.ping());
      checks.redis = 'ok';
    } catch {
      checks.redis = 'unavailable';
      checks.degraded = 'rate limits and presence count in this process; live events resume when Redis is back';
    }
  }
  return { ready: checks.postgres === 'ok', checks };
}

/** Keeps the session cache true: it follows revocations from every process while the server runs. */
function sessionCachePlugin(services: Services): ApolloServerPlugin<Context> {
  return {
    async serverWillStart() {
      services.sessions.listen();
      return {
        async drainServer() {
          await services.sessions.stop();
        },
      };
    },
  };
}

/** Metrics by operation and outcome, trace ids on every error, and a log line for every masked error. */
function observabilityPlugin(services: Services): ApolloServerPlugin<Context> {
  const { metrics } = services;
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, contextValue: ctx }) {
          for (const error of errors) {
            rememberErrorOrigin(error, { traceId: ctx.traceId, locale: localeOf(ctx) });
            const formatted = formatError({ message: error.message, extensions: error.extensions }, error, 'en');
            if (!formatted.isExpected) ctx.logger.error({ err: error.originalError ?? error, path: error.path }, 'unexpected error');
          }
        },
        async willSendResponse({ response, operationName, operation, errors }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const name = operationName ?? 'anonymous';
          const type = operation?.operation ?? 'unknown';
          const firstCode =
            response.body.kind === 'single' ? response.body.singleResult.errors?.[0]?.extensions?.code : errors?.[0]?.extensions?.code;
          metrics.operations.inc({ operation: name, type, outcome: firstCode ? String(firstCode) : 'ok' });
          metrics.operationDuration.observe({ operation: name, type }, seconds);
        },
      };
    },
  };
}

/** Malformed JSON, oversized bodies and errors thrown before Apollo runs still answer in GraphQL's shape. */
function jsonErrorHandler(services: Services) {
  return (
    err: Error & { status?: number; type?: string; extensions?: Record<string, unknown> },
    req: Request,
    res: Response,
    next: NextFunction,
  ) => {
    if (res.headersSent) return next(err);
    const traceId = traceIdOf(res) ?? newTraceId();
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) services.logger.error({ err, traceId }, 'unhandled HTTP error');
    const message =
      err.type === 'entity.parse.failed'
        ? 'The request body is not valid JSON'
        : err.type === 'entity.too.large'
          ? 'The request body is too large'
          : status === 500
            ? INTERNAL_MESSAGE
            : err.message;
    const code = status === 500 ? ErrorCode.INTERNAL_SERVER_ERROR : ErrorCode.BAD_USER_INPUT;
    writeGraphqlError(res, status, message, code, traceId, localeOfAcceptLanguage(req.headers['accept-language']));
  };
}

/** Compares digests, so the time taken says nothing about how much of the token matched. */
function isBearer(header: string | undefined, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${token}`));
}
