import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { clientAddress, compileTrust } from '../../src/platform/client-address';
import { decodeJwt, SignJWT } from 'jose';
import {
  CreateDepartmentDocument,
  LoginDocument,
  MeDocument,
  OnNotificationDocument,
  RegisterCustomerDocument,
} from '../generated/graphql';
import { loadConfig, ConfigError } from '../../src/config';
import { User } from '../../src/modules/accounts/user.entity';
import { Role } from '../../src/platform/auth/roles';
import { describeWithRedis, eventually, GqlResult, JWT_SECRET, startTestApp, subscribe, TestApp, testEnv } from '../support/harness';
import { closeRaw, rawConnect, RawOutcome, watchClient, wsExec } from '../support/ws';

const FORBIDDEN = 4403;
const TOO_MANY = 4429;

const codes = (res: GqlResult<unknown>) => (res.errors ?? []).map((e) => String(e.extensions?.code));
const count = (results: GqlResult<unknown>[], code: string) => results.filter((r) => codes(r).join() === code).length;
const xff = (address: string) => ({ 'x-forwarded-for': address });
/** A documentation-range address (TEST-NET), different for each n. */
const address = (n: number) => `198.51.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;

/** A token like the user's own (same claims), signed with `secret`, expiring at `exp` (seconds since the epoch). */
function tokenFor(user: { token: string }, exp: number, secret = JWT_SECRET): Promise<string> {
  const { sub, role, ver } = decodeJwt(user.token);
  return new SignJWT({ role, ver })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub!)
    .setIssuer('shiftdesk')
    .setIssuedAt(Math.min(exp - 60, Math.floor(Date.now() / 1000)))
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

const expiredTokenFor = (user: { token: string }) => tokenFor(user, Math.floor(Date.now() / 1000) - 3600);
const forgedTokenFor = (user: { token: string }) =>
  tokenFor(user, Math.floor(Date.now() / 1000) + 3600, 'some-other-secret-some-other-secret-0123456789');

async function closeAll(outcomes: RawOutcome[]): Promise<void> {
  await Promise.all(outcomes.map((o) => (o.acked ? closeRaw(o.socket) : undefined)));
}

describe('hardening: sign-in, limits and credentials', () => {
  let app: TestApp;
  let departmentId: string;

  beforeAll(async () => {
    app = await startTestApp();
    departmentId = (await app.createDepartment('Hardening', 'hardening')).id;
  });
  afterAll(() => app.stop());

  describe('login throttling under concurrency (LOGIN_MAX_FAILURES=5)', () => {
    it('40 parallel wrong passwords for one account: 5 are checked, 35 are RATE_LIMITED, and the account stays locked', async () => {
      const user = await app.createUser({ role: 'AGENT', departmentId });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => app.exec(LoginDocument, { email: user.email, password: `wrong-password-${i}` })),
      );
      expect(count(results, 'UNAUTHENTICATED')).toBe(5);
      expect(count(results, 'RATE_LIMITED')).toBe(35);
      expect(codes(await app.exec(LoginDocument, { email: user.email, password: user.password }))).toEqual(['RATE_LIMITED']);
    });

    it('100 parallel wrong passwords, each with a fresh spoofed X-Forwarded-For: still 5 checked (TRUST_PROXY is off)', async () => {
      const user = await app.createUser({ role: 'CUSTOMER' });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          app.exec(LoginDocument, { email: user.email, password: `wrong-password-${i}` }, null, xff(address(i))),
        ),
      );
      expect(count(results, 'UNAUTHENTICATED')).toBe(5);
      expect(count(results, 'RATE_LIMITED')).toBe(95);
    });
  });

  describe('a stale or garbage Authorization header (HTTP)', () => {
    let user: { id: string; email: string; password: string; token: string };
    beforeAll(async () => {
      user = await app.createUser({ role: 'AGENT', departmentId });
    });

    it.each([
      ['an expired token', async () => `Bearer ${await expiredTokenFor(user)}`],
      ['a forged token', async () => `Bearer ${await forgedTokenFor(user)}`],
      ['garbage after Bearer', async () => 'Bearer not-a-token'],
      ['no Bearer scheme', async () => 'Token abc.def.ghi'],
    ])('does not block login: %s', async (_what, header) => {
      const res = await app.exec(LoginDocument, { email: user.email, password: user.password }, null, { authorization: await header() });
      expect(res.errors).toBeUndefined();
      expect(res.status).toBe(200);
      expect(res.data?.login.user.id).toBe(user.id);
      // The fresh token works.
      expect((await app.data(MeDocument, {}, res.data!.login.token)).me.id).toBe(user.id);
    });

    it('does not block registerCustomer with an expired token', async () => {
      const email = `stale-${randomBytes(4).toString('hex')}@example.com`;
      const res = await app.exec(
        RegisterCustomerDocument,
        { input: { email, password: 'long-enough-1', displayName: 'Stale Header' } },
        null,
        { authorization: `Bearer ${await expiredTokenFor(user)}` },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data?.registerCustomer.user.email).toBe(email);
    });

    it('any other operation answers 401 UNAUTHENTICATED, saying whether the token expired, is invalid, or the scheme is wrong', async () => {
      const expired = await app.exec(MeDocument, {}, null, { authorization: `Bearer ${await expiredTokenFor(user)}` });
      const forged = await app.exec(MeDocument, {}, null, { authorization: `Bearer ${await forgedTokenFor(user)}` });
      const scheme = await app.exec(MeDocument, {}, null, { authorization: user.token });
      for (const res of [expired, forged, scheme]) {
        expect(res.status).toBe(401);
        expect(codes(res)).toEqual(['UNAUTHENTICATED']);
        expect(res.data ?? null).toBeNull();
      }
      expect(expired.errors![0].message).toMatch(/expired/i);
      expect(forged.errors![0].message).toMatch(/invalid/i);
      expect(forged.errors![0].message).not.toMatch(/expired/i);
      expect(scheme.errors![0].message).toMatch(/Bearer <token>/);
      expect(scheme.errors![0].message).not.toMatch(/not signed in/i);
      expect([expired, forged, scheme].map((r) => r.errors![0].extensions?.reason)).toEqual(['EXPIRED', 'INVALID', 'WRONG_SCHEME']);
    });

    it('introspection runs whatever the header holds (the playground loads its docs with a stale token or its placeholder)', async () => {
      const introspect = `{ __schema { queryType { name } } __type(name: "User") { name } }`;
      for (const authorization of [`Bearer ${await expiredTokenFor(user)}`, 'Bearer <paste the token from login here>', 'Token abc']) {
        const res = await app.exec(introspect, {}, null, { authorization });
        expect(res.errors).toBeUndefined();
        expect(res.data).toEqual({ __schema: { queryType: { name: 'Query' } }, __type: { name: 'User' } });
      }
      // Introspection beside a field that needs a viewer does not open that field.
      const mixed = await app.exec(`{ __schema { queryType { name } } me { id } }`, {}, null, {
        authorization: `Bearer ${await expiredTokenFor(user)}`,
      });
      expect(mixed.status).toBe(401);
      expect(codes(mixed)).toEqual(['UNAUTHENTICATED']);
    });

    it('"Bearer" followed by something that is no token is an invalid token, not a wrong scheme', async () => {
      const res = await app.exec(MeDocument, {}, null, { authorization: 'Bearer <paste the token from login here>' });
      expect(res.status).toBe(401);
      expect(res.errors![0].extensions?.reason).toBe('INVALID');
    });

    it('a mutation that signs in and also does something else answers 401 and does nothing', async () => {
      const admin = await app.createUser({ role: 'ADMIN' });
      const doc = `mutation ($email: String!, $password: String!) {
        login(email: $email, password: $password) { token }
        createDepartment(input: { name: "Sneaky", code: "sneaky" }) { id }
      }`;
      const res = await app.exec(doc, { email: admin.email, password: admin.password }, null, {
        authorization: `Bearer ${await expiredTokenFor(admin)}`,
      });
      expect(res.status).toBe(401);
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
      const departments = await app.services.orm.em.fork().getConnection().execute(`SELECT id FROM departments WHERE code = 'sneaky'`);
      expect(departments).toHaveLength(0);
      // The same document with the admin's good token runs (the refusal above was the token's).
      expect(codes(await app.exec(CreateDepartmentDocument, { input: { name: 'Fine', code: 'fine' } }, admin.token))).toEqual([]);
    });
  });

  describe('WebSocket credentials', () => {
    it('an expired token closes with 4403 and a reason that says so; a forged one and a non-Bearer one say what is wrong', async () => {
      const user = await app.createUser({ role: 'AGENT', departmentId });
      const expired = await rawConnect(app.wsUrl, { authorization: `Bearer ${await expiredTokenFor(user)}` });
      const forged = await rawConnect(app.wsUrl, { authorization: `Bearer ${await forgedTokenFor(user)}` });
      const scheme = await rawConnect(app.wsUrl, { authorization: user.token });
      const none = await rawConnect(app.wsUrl, {});
      expect(expired).toMatchObject({ acked: false, code: FORBIDDEN, reason: expect.stringMatching(/expired/i) });
      expect(forged).toMatchObject({ acked: false, code: FORBIDDEN, reason: expect.stringMatching(/invalid/i) });
      expect(forged.acked === false && forged.reason).not.toMatch(/expired/i);
      expect(scheme).toMatchObject({ acked: false, code: FORBIDDEN, reason: expect.stringMatching(/Bearer <token>/) });
      expect(none).toMatchObject({ acked: false, code: FORBIDDEN, reason: expect.stringMatching(/not signed in/i) });
    });

    it('a token that expires while the socket is open closes it with 4403 and an "expired" reason at the next operation', async () => {
      const user = await app.createUser({ role: 'AGENT', departmentId });
      const exp = Math.floor(Date.now() / 1000) + 2;
      const conn = await rawConnect(app.wsUrl, { authorization: `Bearer ${await tokenFor(user, exp)}` });
      if (!conn.acked) throw new Error(`not acknowledged: ${conn.code} ${conn.reason}`);
      await eventually(() => Date.now() >= exp * 1000 + 100, 5000, 'the token expiring');
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        conn.socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
      );
      conn.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }' } }));
      const { code, reason } = await closed;
      expect(code).toBe(FORBIDDEN);
      expect(reason).toMatch(/expired/i);
    });
  });

  describe('WebSocket caps (defaults: 10 connections per user, 100 operations per socket)', () => {
    it('the 11th connection of one user is closed with 4429 and a reason; other users connect; a freed slot is usable again', async () => {
      const user = await app.createUser({ role: 'AGENT', departmentId });
      const other = await app.createUser({ role: 'AGENT', departmentId });
      const bearer = { authorization: `Bearer ${user.token}` };
      const open: RawOutcome[] = [];
      try {
        for (let i = 0; i < 10; i++) open.push(await rawConnect(app.wsUrl, bearer));
        expect(open.every((o) => o.acked)).toBe(true);
        const eleventh = await rawConnect(app.wsUrl, bearer);
        expect(eleventh).toMatchObject({ acked: false, code: TOO_MANY, reason: expect.stringMatching(/too many connections/i) });

        const otherConn = await rawConnect(app.wsUrl, { authorization: `Bearer ${other.token}` });
        open.push(otherConn);
        expect(otherConn.acked).toBe(true);

        await closeAll([open.shift()!]);
        await eventually(
          async () => {
            const again = await rawConnect(app.wsUrl, bearer);
            if (again.acked) open.push(again);
            return again.acked;
          },
          5000,
          'a connection after one was closed',
        );
      } finally {
        await closeAll(open);
      }
    });

    it('parallel connects of one user cannot all pass the cap', async () => {
      const user = await app.createUser({ role: 'CUSTOMER' });
      const outcomes = await Promise.all(
        Array.from({ length: 25 }, () => rawConnect(app.wsUrl, { authorization: `Bearer ${user.token}` })),
      );
      try {
        expect(outcomes.filter((o) => o.acked)).toHaveLength(10);
        expect(outcomes.filter((o) => !o.acked && o.code === TOO_MANY)).toHaveLength(15);
      } finally {
        await closeAll(outcomes);
      }
    });

    it('with 100 subscriptions open on a socket the next operation is refused with BAD_USER_INPUT; the socket stays; completing one frees a slot', async () => {
      const user = await app.createUser({ role: 'AGENT', departmentId });
      const client = app.ws(user.token);
      const watch = watchClient(client);
      const subs = Array.from({ length: 100 }, () => subscribe(client, OnNotificationDocument));
      await watch.connected();

      const refused = await wsExec(client, MeDocument);
      expect(refused.closeCode).toBeUndefined();
      expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0].message).toMatch(/at most 100/i);
      const refusedSub = subscribe(client, OnNotificationDocument);
      await refusedSub.done;
      expect((refusedSub.error as Array<{ extensions?: { code?: string } }>).map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);

      subs[0].unsubscribe();
      const allowed = await wsExec(client, MeDocument);
      expect(allowed.errors).toBeUndefined();
      expect(allowed.data?.me.id).toBe(user.id);
      expect(watch.closes).toEqual([]);
    });
  });
});

describe('hardening: client addresses and registerCustomer limits', () => {
  describe('TRUST_PROXY off (default)', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ env: { RATE_REGISTER_CUSTOMER_PER_HOUR: '3' } });
    });
    afterAll(() => app.stop());

    const customers = () => app.services.orm.em.fork().count(User, { role: Role.CUSTOMER });
    const register = (n: number, headers: Record<string, string> = {}) =>
      app.exec(
        RegisterCustomerDocument,
        {
          input: {
            email: `flood-${n}-${randomBytes(3).toString('hex')}@example.com`,
            password: 'long-enough-1',
            displayName: `Flood ${n}`,
          },
        },
        null,
        headers,
      );

    it('40 parallel wrong logins for 40 e-mails from one address, each with a spoofed X-Forwarded-For: 20 (4 × 5) are checked', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          app.exec(LoginDocument, { email: `nobody-${i}@example.com`, password: 'wrong-password' }, null, xff(address(i))),
        ),
      );
      expect(count(results, 'UNAUTHENTICATED')).toBe(20);
      expect(count(results, 'RATE_LIMITED')).toBe(20);
    });

    it('a registerCustomer flood from one address (spoofed X-Forwarded-For on each) creates 3 accounts; the rest are RATE_LIMITED, with nothing written', async () => {
      const before = await customers();
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => register(i, xff(address(i)))));
      expect(count(results, '')).toBe(3);
      expect(count(results, 'RATE_LIMITED')).toBe(9);
      const limited = results.find((r) => codes(r).join() === 'RATE_LIMITED')!;
      expect(limited.errors![0].extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(await customers()).toBe(before + 3);
    });
  });

  describe('TRUST_PROXY=loopback', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ env: { RATE_REGISTER_CUSTOMER_PER_HOUR: '3', TRUST_PROXY: 'loopback' } });
    });
    afterAll(() => app.stop());

    it('X-Forwarded-For from the trusted proxy names the client: each client address has its own bucket', async () => {
      const register = (n: number, from: string) =>
        app.exec(
          RegisterCustomerDocument,
          {
            input: {
              email: `proxied-${n}-${randomBytes(3).toString('hex')}@example.com`,
              password: 'long-enough-1',
              displayName: `P ${n}`,
            },
          },
          null,
          xff(from),
        );
      for (let i = 0; i < 3; i++) expect(codes(await register(i, '203.0.113.7'))).toEqual([]);
      expect(codes(await register(3, '203.0.113.7'))).toEqual(['RATE_LIMITED']);
      expect(codes(await register(4, '203.0.113.8'))).toEqual([]);
    });

    it('over graphql-ws too: X-Forwarded-For on the upgrade request from the trusted proxy names the client', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const register = (client: ReturnType<TestApp['ws']>, n: number) =>
        wsExec(client, RegisterCustomerDocument, {
          input: {
            email: `ws-proxied-${n}-${randomBytes(3).toString('hex')}@example.com`,
            password: 'long-enough-1',
            displayName: `W ${n}`,
          },
        });
      const first = app.ws(customer.token, { headers: xff('203.0.113.20') });
      for (let i = 0; i < 3; i++) expect((await register(first, i)).errors).toBeUndefined();
      expect((await register(first, 3)).errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
      const second = app.ws(customer.token, { headers: xff('203.0.113.21') });
      expect((await register(second, 4)).errors).toBeUndefined();
    });
  });

  it('TRUST_PROXY accepts off, true, hop counts and address lists, and names itself on a bad value', () => {
    const env = (value: string) => testEnv('postgresql://u:p@127.0.0.1:5432/db', { TRUST_PROXY: value });
    expect(loadConfig(testEnv('postgresql://u:p@127.0.0.1:5432/db')).trustProxy).toBe(false);
    expect(loadConfig(env('')).trustProxy).toBe(false);
    expect(loadConfig(env('true')).trustProxy).toBe(true);
    expect(loadConfig(env('2')).trustProxy).toBe(2);
    expect(loadConfig(env('loopback, 10.0.0.0/8, fd00::/8')).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8']);
    for (const bad of ['10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/1']) {
      expect(() => loadConfig(env(bad))).toThrow(ConfigError);
      expect(() => loadConfig(env(bad))).toThrow(/TRUST_PROXY/);
    }
  });
});

describeWithRedis('hardening: login throttling counted in Redis', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Redis outlives this file: the address bucket is made this run's own through a trusted X-Forwarded-For.
    app = await startTestApp({ redis: true, env: { TRUST_PROXY: 'loopback' } });
  });
  afterAll(() => app.stop());

  it('40 parallel wrong passwords for one account: 5 are checked, 35 are RATE_LIMITED', async () => {
    const user = await app.createUser({ role: 'CUSTOMER' });
    const from = xff(`198.18.${randomBytes(1)[0]}.${randomBytes(1)[0]}`);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => app.exec(LoginDocument, { email: user.email, password: `wrong-password-${i}` }, null, from)),
    );
    expect(count(results, 'UNAUTHENTICATED')).toBe(5);
    expect(count(results, 'RATE_LIMITED')).toBe(35);
    expect(codes(await app.exec(LoginDocument, { email: user.email, password: user.password }, null, from))).toEqual(['RATE_LIMITED']);
  });
});

describe('client address (src/platform/client-address.ts)', () => {
  const request = (remoteAddress: string, forwardedFor?: string) =>
    ({
      socket: { remoteAddress },
      connection: { remoteAddress },
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    }) as unknown as IncomingMessage;

  it('reads X-Forwarded-For only as far as TRUST_PROXY trusts the peers that wrote it', () => {
    expect(clientAddress(request('127.0.0.1', '203.0.113.9'), compileTrust(false))).toBe('127.0.0.1');
    expect(clientAddress(request('127.0.0.1', '203.0.113.9'), compileTrust(['loopback']))).toBe('203.0.113.9');
    expect(clientAddress(request('198.51.100.4', '203.0.113.9'), compileTrust(['loopback']))).toBe('198.51.100.4');
    expect(clientAddress(request('127.0.0.1', '203.0.113.9, 10.0.0.2'), compileTrust(1))).toBe('10.0.0.2');
    expect(clientAddress(request('127.0.0.1', '203.0.113.9, 10.0.0.2'), compileTrust(2))).toBe('203.0.113.9');
    expect(clientAddress(request('127.0.0.1', '203.0.113.9, 10.0.0.2'), compileTrust(true))).toBe('203.0.113.9');
  });
});
