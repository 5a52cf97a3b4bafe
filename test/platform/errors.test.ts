import { randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import pino from 'pino';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import { User } from '../../src/modules/accounts/user.entity';
import {
  CreateUserDocument,
  DeactivateUserDocument,
  MeDocument,
  UpdateUserDocument,
  UserByIdDocument,
  UsersDocument,
} from '../generated/graphql';
import { GqlResult, JWT_SECRET, startTestApp, TestApp } from '../support/harness';

type Raw = { status: number; body: any; text: string; headers: Headers };

/** The error codes of a response, in order. */
function codes(res: { errors?: Array<{ extensions?: Record<string, any> }> }): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}

/** Every error carries the request's trace id, the one in the x-trace-id response header. */
function expectTraced(res: { errors?: Array<{ extensions?: Record<string, any> }>; headers: Headers }): void {
  const header = res.headers.get('x-trace-id');
  expect(header).toMatch(/^[A-Za-z0-9._-]{8,64}$/);
  expect(res.errors?.length).toBeGreaterThan(0);
  for (const e of res.errors!) expect(e.extensions?.traceId).toBe(header);
}

/** One error with `code`, traced; returns it. */
function expectError(res: GqlResult<unknown>, code: string) {
  expect(codes(res)).toEqual([code]);
  expect(res.data ?? null).toBeNull();
  expectTraced(res);
  return res.errors![0];
}

describe('bad input gets a clear error and changes nothing', () => {
  const lines: string[] = [];
  let app: TestApp;
  let admin: string;
  let departmentId: string;

  const post = async (body: string, headers: Record<string, string> = {}): Promise<Raw> => {
    const res = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await res.text();
    let parsed: any = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // asserted by the caller
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  const get = async (query: string, headers: Record<string, string> = {}): Promise<Raw> => {
    const res = await fetch(`${app.url}?query=${encodeURIComponent(query)}`, { headers });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text, headers: res.headers };
  };
  const counts = async () => {
    const em = app.services.orm.em.fork();
    return { users: await em.count(User, {}), audit: await em.count(AuditEntry, {}) };
  };

  beforeAll(async () => {
    // The server logs into memory, so the tests can read what an operator would see.
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    app = await startTestApp({ logger });
    admin = await app.adminToken();
    departmentId = (await app.createDepartment('Support', 'support')).id;
  });
  afterAll(() => app.stop());

  describe('requests that are not GraphQL', () => {
    it('a malformed JSON body is HTTP 400 BAD_USER_INPUT with a trace id', async () => {
      const before = await counts();
      const res = await post('{"query": "mutation { deactivateUser(id: \\"x\\") { id } }"');
      expect(res.status).toBe(400);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors[0].message).toMatch(/JSON/);
      expectTraced({ ...res.body, headers: res.headers });
      expect(await counts()).toEqual(before);
    });

    it('a body without a query is HTTP 400 BAD_USER_INPUT', async () => {
      const res = await post('{"variables": {}}');
      expect(res.status).toBe(400);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expectTraced({ ...res.body, headers: res.headers });
    });

    it('a body over 1 MB is HTTP 413 BAD_USER_INPUT', async () => {
      const res = await post(JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1_100_000) } }));
      expect(res.status).toBe(413);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expectTraced({ ...res.body, headers: res.headers });
    });

    it('a mutation sent as text/plain (a form a browser could post cross-site) is refused and runs nothing', async () => {
      const before = await counts();
      const body = JSON.stringify({ query: 'mutation { createDepartment(input: { name: "Plain", code: "plain" }) { id } }' });
      const res = await post(body, { 'content-type': 'text/plain', authorization: `Bearer ${admin}` });
      expect(res.status).toBe(400);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expectTraced({ ...res.body, headers: res.headers });
      expect(await counts()).toEqual(before);
    });

    it('a batch (an array of operations) is refused with HTTP 400', async () => {
      const res = await post(JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]));
      expect(res.status).toBe(400);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expectTraced({ ...res.body, headers: res.headers });
    });
  });

  describe('documents that are not valid', () => {
    it('a query that does not parse is HTTP 400 BAD_USER_INPUT', async () => {
      const res = await app.exec('{ me { id ', undefined, admin);
      expect(res.status).toBe(400);
      expect(expectError(res, 'BAD_USER_INPUT').message).toMatch(/Syntax Error/);
    });

    it('unknown fields and arguments are HTTP 400 BAD_USER_INPUT, without suggestions', async () => {
      for (const query of ['{ me { id passwordHash } }', '{ me { idd } }', '{ users(orderBy: "email") { nodes { id } } }', '{ nothing }']) {
        const res = await app.exec(query, undefined, admin);
        expect(res.status).toBe(400);
        const err = expectError(res, 'BAD_USER_INPUT');
        expect(err.message).not.toMatch(/Did you mean/);
      }
    });

    it('arguments of the wrong type (inline or as variables), unknown enum values and missing arguments are HTTP 400 BAD_USER_INPUT', async () => {
      const before = await counts();
      const cases: Array<[string, Record<string, unknown> | undefined]> = [
        ['{ users(first: "ten") { nodes { id } } }', undefined],
        ['query ($n: Int) { users(first: $n) { nodes { id } } }', { n: 'ten' }],
        ['query ($n: Int) { users(first: $n) { nodes { id } } }', { n: 2.5 }],
        ['{ users(filter: { role: NOBODY }) { nodes { id } } }', undefined],
        ['query ($f: UserFilter) { users(filter: $f) { nodes { id } } }', { f: { role: 'NOBODY' } }],
        ['mutation { deactivateUser { id } }', undefined],
        [
          'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
          {
            input: {
              email: 'typed@test.local',
              password: 'password-123',
              displayName: 'T',
              role: 'AGENT',
              departmentId,
              maxConcurrentChats: 'many',
            },
          },
        ],
        [
          'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
          { input: { email: 'typed@test.local', password: 'password-123', displayName: 'T', role: 'AGENT', departmentId, isAdmin: true } },
        ],
      ];
      for (const [query, variables] of cases) {
        const res = await app.exec(query, variables, admin);
        expect({ query, status: res.status }).toEqual({ query, status: 400 });
        expectError(res, 'BAD_USER_INPUT');
      }
      expect(await counts()).toEqual(before);
    });
  });

  describe('tokens that are not good', () => {
    const key = new TextEncoder().encode(JWT_SECRET);
    const sign = (
      claims: { role: string; ver: number },
      sub: string,
      opts: { exp?: number | string; secret?: Uint8Array; issuer?: string } = {},
    ) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuer(opts.issuer ?? 'shiftdesk')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(opts.exp ?? '1h')
        .sign(opts.secret ?? key);

    let adminId: string;
    beforeAll(async () => {
      adminId = (await app.data(MeDocument, {}, admin)).me.id;
    });

    it('a well-made token for the admin works (the tokens below differ from it in one thing only)', async () => {
      const token = await sign({ role: 'ADMIN', ver: 1 }, adminId);
      expect((await app.data(MeDocument, {}, token)).me.id).toBe(adminId);
    });

    it.each([
      ['expired', () => sign({ role: 'ADMIN', ver: 1 }, adminId, { exp: Math.floor(Date.now() / 1000) - 60 })],
      [
        'forged (signed with another secret)',
        () => sign({ role: 'ADMIN', ver: 1 }, adminId, { secret: new TextEncoder().encode('another-secret-another-secret-another-0123') }),
      ],
      ['from another issuer', () => sign({ role: 'ADMIN', ver: 1 }, adminId, { issuer: 'someone-else' })],
      [
        'unsigned (alg none)',
        async () => new UnsecuredJWT({ role: 'ADMIN', ver: 1 }).setSubject(adminId).setIssuer('shiftdesk').setExpirationTime('1h').encode(),
      ],
      ['for an unknown user', () => sign({ role: 'ADMIN', ver: 1 }, randomUUID())],
      ['with a subject that is not a UUID', () => sign({ role: 'ADMIN', ver: 1 }, 'not-a-uuid')],
      ['claiming another role', () => sign({ role: 'CUSTOMER', ver: 1 }, adminId)],
      ['of an older token version', () => sign({ role: 'ADMIN', ver: 0 }, adminId)],
      ['not a JWT at all', async () => 'garbage'],
    ])('a token %s is HTTP 401 UNAUTHENTICATED', async (_what, make) => {
      const token = await make();
      const res = await app.exec(MeDocument, {}, token);
      expect(res.status).toBe(401);
      expectError(res, 'UNAUTHENTICATED');
      // and it does not open public operations either: the client must drop it
      const pub = await app.exec('{ __typename }', undefined, token);
      expect(codes(pub)).toEqual(['UNAUTHENTICATED']);
    });

    it('nothing is changed through a bad token', async () => {
      const before = await counts();
      const forged = await sign({ role: 'ADMIN', ver: 1 }, adminId, {
        secret: new TextEncoder().encode('another-secret-another-secret-another-0123'),
      });
      const res = await app.exec(
        CreateUserDocument,
        { input: { email: 'forged@test.local', password: 'password-123', displayName: 'F', role: 'ADMIN' } },
        forged,
      );
      expectError(res, 'UNAUTHENTICATED');
      expect(await counts()).toEqual(before);
    });
  });

  describe('ids that are not UUIDs', () => {
    it('are BAD_USER_INPUT, in queries, mutations and filters, and change nothing', async () => {
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const before = await counts();
      expectError(await app.exec(UserByIdDocument, { id: 'abc' }, admin), 'BAD_USER_INPUT');
      expectError(await app.exec(UserByIdDocument, { id: `${agent.id}x` }, admin), 'BAD_USER_INPUT');
      expectError(await app.exec(UpdateUserDocument, { id: '1 OR 1=1', input: { displayName: 'x' } }, admin), 'BAD_USER_INPUT');
      expectError(await app.exec(DeactivateUserDocument, { id: 'abc' }, admin), 'BAD_USER_INPUT');
      expectError(await app.exec(UsersDocument, { filter: { departmentId: 'abc' } }, admin), 'BAD_USER_INPUT');
      expect(
        fieldsOf(
          expectError(await app.exec(UpdateUserDocument, { id: agent.id, input: { departmentId: 'abc' } }, admin), 'BAD_USER_INPUT'),
        ),
      ).toEqual(['departmentId']);
      expect(await counts()).toEqual(before);
      expect((await app.data(MeDocument, {}, agent.token)).me.departmentId).toBe(departmentId);
    });
  });

  describe('trace ids', () => {
    it('a caller-supplied X-Request-Id becomes the trace id of the response and its errors', async () => {
      const id = `client-${randomUUID()}`;
      const res = await app.exec(UserByIdDocument, { id: 'abc' }, admin, { 'x-request-id': id });
      expect(res.headers.get('x-trace-id')).toBe(id);
      expect(res.errors?.[0].extensions?.traceId).toBe(id);
    });

    it('an unusable X-Request-Id is replaced by a fresh one', async () => {
      for (const bad of ['<script>x</script>', 'short', 'x'.repeat(65)]) {
        const res = await app.exec(UserByIdDocument, { id: 'abc' }, admin, { 'x-request-id': bad });
        expect(res.headers.get('x-trace-id')).not.toBe(bad);
        expectTraced(res);
      }
    });

    it('every response gets a fresh trace id', async () => {
      const a = await app.exec(UserByIdDocument, { id: 'abc' }, admin);
      const b = await app.exec(UserByIdDocument, { id: 'abc' }, admin);
      expect(a.headers.get('x-trace-id')).not.toBe(b.headers.get('x-trace-id'));
    });
  });

  describe('unexpected errors', () => {
    it('are masked (no stack, SQL or paths) and logged with the same trace id', async () => {
      const secret = 'SELECT secret FROM x at /work/main/src/foo.ts';
      const spy = jest.spyOn(app.services.accounts, 'me').mockRejectedValueOnce(new Error(secret));
      try {
        const res = await app.exec(MeDocument, {}, admin);
        const err = expectError(res, 'INTERNAL_SERVER_ERROR');
        expect(err.message).toBe('Internal server error');
        expect(Object.keys(err.extensions!).sort()).toEqual(['code', 'traceId']);
        const json = JSON.stringify({ data: res.data, errors: res.errors });
        for (const leak of ['SELECT', 'secret', '/work', 'src/', '.ts', 'stack', 'Error:']) expect(json).not.toContain(leak);
        expect(spy).toHaveBeenCalledTimes(1);

        const traceId = res.headers.get('x-trace-id');
        const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.traceId === traceId);
        expect(logged.length).toBeGreaterThanOrEqual(1);
        // the operator sees the real error under the same trace id
        expect(logged.some((l) => l.level >= 50 && JSON.stringify(l).includes(secret))).toBe(true);
      } finally {
        spy.mockRestore();
      }
      // and the next request is unaffected
      expect((await app.data(MeDocument, {}, admin)).me.role).toBe('ADMIN');
    });

    it('are masked and logged also when they happen while the request context is built', async () => {
      const secret = 'connect ECONNREFUSED 10.0.0.7:5432 password=hunter2';
      const spy = jest.spyOn(app.services.sessions, 'verify').mockRejectedValueOnce(new Error(secret));
      try {
        const res = await app.exec(MeDocument, {}, admin);
        expect(res.status).toBe(500);
        const err = expectError(res, 'INTERNAL_SERVER_ERROR');
        expect(err.message).toBe('Internal server error');
        expect(JSON.stringify(res.errors)).not.toMatch(/ECONNREFUSED|hunter2|10\.0\.0\.7|Context creation/);
        const traceId = res.headers.get('x-trace-id');
        const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.traceId === traceId && l.level >= 50);
        expect(logged.some((l) => JSON.stringify(l).includes('ECONNREFUSED'))).toBe(true);
      } finally {
        spy.mockRestore();
      }
    });

    it('expected errors are not logged as errors', async () => {
      const res = await app.exec(UserByIdDocument, { id: randomUUID() }, admin);
      expectError(res, 'NOT_FOUND');
      const traceId = res.headers.get('x-trace-id');
      expect(lines.map((l) => JSON.parse(l)).filter((l) => l.traceId === traceId && l.level >= 50)).toEqual([]);
    });
  });

  describe('GraphQL over HTTP GET', () => {
    it('runs a query when the request carries a CSRF-preventing header (apollo-require-preflight or a JSON content-type)', async () => {
      const withPreflight = await get('{__typename}', { 'apollo-require-preflight': 'true' });
      expect(withPreflight.status).toBe(200);
      expect(withPreflight.body).toEqual({ data: { __typename: 'Query' } });
      const withContentType = await get('{__typename}', { 'content-type': 'application/json' });
      expect(withContentType.status).toBe(200);
      expect(withContentType.body).toEqual({ data: { __typename: 'Query' } });
      const withOperationName = await get('query Ping {__typename}', { 'x-apollo-operation-name': 'Ping' });
      expect(withOperationName.body).toEqual({ data: { __typename: 'Query' } });
    });

    it('sends the bearer token like POST', async () => {
      const res = await get('{ me { email role } }', { 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` });
      expect(res.body.data.me.role).toBe('ADMIN');
    });

    it('refuses a plain GET (no such header) as a possible CSRF with HTTP 400', async () => {
      const res = await get('{__typename}');
      expect(res.status).toBe(400);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors[0].message).toMatch(/Cross-Site Request Forgery/);
      expectTraced({ ...res.body, headers: res.headers });
    });

    it('refuses a mutation over GET with HTTP 405, and runs nothing', async () => {
      const before = await counts();
      const mutation = `mutation { createDepartment(input: { name: "Via GET", code: "via_get" }) { id } }`;
      const res = await get(mutation, { 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toMatch(/POST/);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expectTraced({ ...res.body, headers: res.headers });
      expect(await counts()).toEqual(before);
      const departments = await app.data<{ departments: Array<{ code: string }> }, unknown>('{ departments { code } }', undefined, admin);
      expect(departments.departments.map((d) => d.code)).not.toContain('via_get');
    });
  });
});

function fieldsOf(err: { extensions?: Record<string, any> }): string[] {
  return ((err.extensions?.fields ?? []) as Array<{ field: string }>).map((f) => f.field);
}
