import type { Client } from 'graphql-ws';
import { withoutSuggestions } from '../../src/platform/graphql-errors';
import { GqlResult, startTestApp, TestApp } from '../support/harness';
import { wsExec, WsResult } from '../support/ws';

/** Issue #9, items 6, 10, 11 (headers; the browser part is in playground.test.ts), 13 and 14. */

const codes = (res: { errors?: Array<{ extensions?: Record<string, any> }> }) => (res.errors ?? []).map((e) => String(e.extensions?.code));
const messages = (res: { errors?: Array<{ message: string }> }) => (res.errors ?? []).map((e) => e.message).join('\n');
const typenameAliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;

describe('hardening: what a caller must not learn or get past', () => {
  let app: TestApp;
  let admin: string;
  let adminWs: Client;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    adminWs = app.ws(admin);
  });
  afterAll(() => app.stop());

  describe('item 6: the alias limit counts __typename aliases', () => {
    it('500 aliases of __typename are BAD_USER_INPUT over HTTP and graphql-ws; 15 (the limit) pass', async () => {
      const http = await app.exec(typenameAliases(500), undefined, admin);
      expect(http.status).toBe(400);
      expect(codes(http)).toEqual(['BAD_USER_INPUT']);
      expect(messages(http)).toMatch(/Aliases limit of 15 exceeded, found 500/);
      expect(http.data ?? null).toBeNull();

      const ws = await wsExec(adminWs, typenameAliases(500));
      expect(codes(ws)).toEqual(['BAD_USER_INPUT']);
      expect(messages(ws)).toMatch(/Aliases limit of 15 exceeded, found 500/);
      expect(ws.data ?? null).toBeNull();

      expect(codes(await app.exec(typenameAliases(16), undefined, admin))).toEqual(['BAD_USER_INPUT']);
      const atLimit = await app.data<Record<string, string>, unknown>(typenameAliases(15), undefined, admin);
      expect(Object.keys(atLimit)).toHaveLength(15);
      expect((await wsExec(adminWs, typenameAliases(15))).errors).toBeUndefined();
    });
  });

  describe('item 10: no "Did you mean" over either transport', () => {
    /** A document (and variables) and the schema names its error would have suggested. */
    const cases: Array<{ what: string; query: string; variables?: Record<string, unknown>; hidden: string[] }> = [
      { what: 'a misspelt field', query: '{ me { emial } }', hidden: ['email'] },
      { what: 'a misspelt argument', query: '{ users(frist: 1) { nodes { id } } }', hidden: ['first'] },
      { what: 'a misspelt inline enum value', query: '{ users(filter: { role: ADMN }) { nodes { id } } }', hidden: ['ADMIN'] },
      { what: 'a misspelt inline input field', query: '{ users(filter: { rol: ADMIN }) { nodes { id } } }', hidden: ['role'] },
      { what: 'a misspelt type of a variable', query: 'query ($f: UserFiltr) { users(filter: $f) { nodes { id } } }', hidden: ['UserFilter'] },
      {
        what: 'a misspelt enum value in variables',
        query: 'query ($f: UserFilter) { users(filter: $f) { nodes { id } } }',
        variables: { f: { role: 'ADMN' } },
        hidden: ['ADMIN'],
      },
      {
        what: 'a misspelt input field in variables',
        query: 'query ($f: UserFilter) { users(filter: $f) { nodes { id } } }',
        variables: { f: { rol: 'ADMIN' } },
        hidden: ['role'],
      },
    ];

    const expectNoHint = (res: GqlResult<unknown> | WsResult<unknown>, hidden: string[]) => {
      expect(codes(res)).toContain('BAD_USER_INPUT');
      const text = messages(res);
      expect(text).not.toMatch(/Did you mean/i);
      for (const name of hidden) expect(text).not.toContain(`"${name}"`);
    };

    for (const c of cases) {
      it(`${c.what}: over HTTP`, async () => {
        const res = await app.exec(c.query, c.variables, admin);
        expect(res.status).toBe(400);
        expectNoHint(res, c.hidden);
      });
      it(`${c.what}: over graphql-ws`, async () => {
        expectNoHint(await wsExec(adminWs, c.query, c.variables), c.hidden);
      });
    }

    it('the error still says what was wrong, only without the hint', async () => {
      const res = await wsExec(adminWs, '{ me { emial } }');
      expect(messages(res)).toBe('Cannot query field "emial" on type "User".');
    });

    it('every form of graphql-js hint is dropped (one, two, several names; enum values; inline fragments)', () => {
      expect(withoutSuggestions('Cannot query field "x" on type "User". Did you mean "id"?')).toBe('Cannot query field "x" on type "User".');
      expect(withoutSuggestions('Unknown argument "f". Did you mean "first" or "filter"?')).toBe('Unknown argument "f".');
      expect(withoutSuggestions('Unknown type "U". Did you mean "User", "UserFilter", or "UserConnection"?')).toBe('Unknown type "U".');
      expect(withoutSuggestions('Value "ADMN" does not exist in "Role" enum. Did you mean the enum value "ADMIN"?')).toBe('Value "ADMN" does not exist in "Role" enum.');
      expect(withoutSuggestions('Cannot query field "x" on type "Node". Did you mean to use an inline fragment on "User" or "Ticket"?')).toBe(
        'Cannot query field "x" on type "Node".',
      );
    });
  });

  describe('item 11: security headers of the playground page', () => {
    it('GET /graphql for a browser carries CSP (own scripts by hash, same-origin connections), nosniff, DENY framing and no-referrer', async () => {
      const res = await fetch(app.url, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      expect(directives['default-src']).toEqual(["'none'"]);
      expect(directives['script-src']).toHaveLength(2);
      for (const source of directives['script-src']) expect(source).toMatch(/^'sha256-[A-Za-z0-9+/]+=*'$/);
      expect(directives['connect-src']).toEqual(["'self'"]);
      expect(directives['frame-ancestors']).toEqual(["'none'"]);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      await res.arrayBuffer();
    });
  });

  describe('item 14: introspection on by default, /metrics open when METRICS_TOKEN is unset', () => {
    it('introspection answers over HTTP and graphql-ws', async () => {
      const http = await app.data<{ __schema: { queryType: { name: string } } }, unknown>('{ __schema { queryType { name } } }');
      expect(http.__schema.queryType.name).toBe('Query');
      const ws = await wsExec(adminWs, '{ __type(name: "User") { name } }');
      expect(ws.errors).toBeUndefined();
    });

    it('/metrics answers without a token', async () => {
      const res = await fetch(new URL('/metrics', app.url));
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^# HELP/m);
    });
  });
});

describe('hardening: INTROSPECTION=false and METRICS_TOKEN', () => {
  const METRICS_TOKEN = 'metrics-token-metrics-token-0123456789';
  let app: TestApp;
  let admin: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { INTROSPECTION: 'false', METRICS_TOKEN } });
    admin = await app.adminToken();
  });
  afterAll(() => app.stop());

  it('__schema and __type are BAD_USER_INPUT over HTTP and graphql-ws; __typename still answers', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "User") { fields { name } } }']) {
      const http = await app.exec(query, undefined, admin);
      expect(http.status).toBe(400);
      // graphql-js's rule names every introspection field of the selection: one error or more, all of this code
      expect(new Set(codes(http))).toEqual(new Set(['BAD_USER_INPUT']));
      expect(messages(http)).toMatch(/introspection/i);
      const ws = await wsExec(app.ws(admin), query);
      expect(new Set(codes(ws))).toEqual(new Set(['BAD_USER_INPUT']));
      expect(messages(ws)).toMatch(/introspection/i);
    }
    expect(await app.data('{ __typename }', undefined, admin)).toEqual({ __typename: 'Query' });
  });

  it('/metrics answers 401 without the bearer token or with a wrong one, and the metrics with it', async () => {
    const metrics = new URL('/metrics', app.url);
    for (const authorization of [undefined, 'Bearer wrong', METRICS_TOKEN, `Basic ${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN}x`]) {
      const res = await fetch(metrics, { headers: authorization ? { authorization } : {} });
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toMatch(/# HELP/);
    }
    const res = await fetch(metrics, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^# HELP/m);
  });
});
