import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export interface PlaygroundPage {
  html: Buffer;
  gzipped: Buffer;
  /** CSP sources (`'sha256-…'`) of the page's inline scripts: the only scripts it may run. */
  scriptHashes: string[];
}

let cached: PlaygroundPage | null = null;

/**
 * GraphiQL from `@graphql-yoga/render-graphiql`: one self-contained page (~9 MB), so the playground works
 * with no internet access. Rendered and compressed once per process, on first request.
 * Subscriptions go over graphql-ws; the headers editor's values travel as its connection_init payload.
 */
export function playgroundPage(): PlaygroundPage {
  if (cached) return cached;

  const { renderGraphiQL } = require('@graphql-yoga/render-graphiql') as typeof import('@graphql-yoga/render-graphiql');
  const html = renderGraphiQL({
    endpoint: '/graphql',
    title: 'ShiftDesk API',
    subscriptionsProtocol: 'WS',
    headers: JSON.stringify({ Authorization: 'Bearer <paste the token from login here>' }, null, 2),
    defaultQuery: DEFAULT_QUERY,
    shouldPersistHeaders: true,
  });
  const page = html.replace('<head>', `<head><script>${WS_AUTH_SHIM}</script>`);
  const buf = Buffer.from(page, 'utf8');
  cached = { html: buf, gzipped: gzipSync(buf, { level: 9 }), scriptHashes: inlineScriptHashes(page) };
  return cached;
}

/**
 * The page is two inline scripts (the shim below and GraphiQL's bundle); the bundle's text mentions
 * `<script>` inside strings but its only real `</script>` is its own end, so a lazy match finds both.
 */
function inlineScriptHashes(page: string): string[] {
  return [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, body]) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`,
  );
}

/**
 * Security headers of the playground page (helmet): scripts only by the hashes of its own inline ones,
 * Monaco's workers from the blob: URLs it creates, fetch and WebSocket to this origin only (CSP 3 `'self'`
 * covers ws:/wss: of the same host), no framing, no referrer, no MIME sniffing.
 * Styles stay inline-allowed: GraphiQL and Monaco inject them at run time.
 */
export function playgroundSecurityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: [(_req, _res) => playgroundPage().scriptHashes.join(' ')],
        workerSrc: ['blob:'],
        connectSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        manifestSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // HTTPS is the deployment's business (its TLS terminator sets HSTS if it wants it).
    strictTransportSecurity: false,
  });
}

/**
 * Browsers cannot set headers on a WebSocket, and this GraphiQL build sends an empty connection_init.
 * This shim, run before GraphiQL, copies the Authorization entry of the Headers tab (which GraphiQL keeps
 * in localStorage with shouldPersistHeaders) into the connection_init payload, so subscriptions in the
 * playground authenticate exactly as any graphql-ws client does.
 * Every playground tab of the origin shares that localStorage, so the shim keeps the headers this page
 * loaded and then wrote itself: with an agent in one tab and a customer in another, each tab's
 * subscriptions carry its own Authorization, not the one last edited in some other tab. A refused connection
 * shows its close code and reason in the result pane.
 */
const WS_AUTH_SHIM = `(() => {
  const Native = window.WebSocket;
  const KEY = 'graphiql:headers';
  let ownHeaders = localStorage.getItem(KEY);
  const { setItem, removeItem } = Storage.prototype;
  Storage.prototype.setItem = function (key, value) {
    if (this === window.localStorage && key === KEY) ownHeaders = String(value);
    return setItem.call(this, key, value);
  };
  Storage.prototype.removeItem = function (key) {
    if (this === window.localStorage && key === KEY) ownHeaders = null;
    return removeItem.call(this, key);
  };
  const authorization = () => {
    try {
      const headers = JSON.parse(ownHeaders || '{}');
      const key = Object.keys(headers).find((k) => k.toLowerCase() === 'authorization');
      return key ? headers[key] : undefined;
    } catch (e) {
      return undefined;
    }
  };
  class AuthorizingWebSocket extends Native {
    constructor(...args) {
      super(...args);
      // GraphiQL shows a failed subscription as JSON.stringify(closeEvent), which holds only isTrusted: make
      // the close code and the server's reason (say, "Not signed in: …") own properties, so the pane shows why.
      this.addEventListener('close', (event) => {
        for (const key of ['code', 'reason']) Object.defineProperty(event, key, { value: event[key], enumerable: true });
      });
    }
    send(data) {
      try {
        const message = JSON.parse(data);
        const auth = authorization();
        if (message && message.type === 'connection_init' && auth && !(message.payload && message.payload.authorization)) {
          data = JSON.stringify({ ...message, payload: { ...(message.payload || {}), authorization: auth } });
        }
      } catch (e) {}
      return super.send(data);
    }
  }
  window.WebSocket = AuthorizingWebSocket;
})();`;

const DEFAULT_QUERY = `# Welcome to the ShiftDesk API.
# 1. Sign in (the first admin's password is printed once when the server first starts):
mutation SignIn {
  login(email: "admin@shiftdesk.local", password: "…") { token user { displayName role } }
}
# 2. Put the token in the Headers tab as {"Authorization": "Bearer <token>"}, then:
query Me {
  me { id email displayName role department { name } }
}
# 3. Live notifications over graphql-ws:
subscription Live {
  notifications { id kind title body createdAt }
}
`;
