import { SignJWT } from 'jose';
import {
  DeactivateUserDocument,
  MeDocument,
  OnNotificationDocument,
  SendNotificationDocument,
  UpdateUserDocument,
} from '../generated/graphql';
import { Topics } from '../../src/platform/realtime/topics';
import { JWT_SECRET, startTestApp, subscribe, TestApp, eventually } from '../support/harness';
import WebSocket from 'ws';
import { closeRaw, GRAPHQL_TRANSPORT_WS, metricValue, rawConnect, untilLive, watchClient, wsExec } from '../support/ws';

const FORBIDDEN = 4403;
const LIMITS = { GRAPHQL_MAX_DEPTH: '4', GRAPHQL_MAX_ALIASES: '3', GRAPHQL_MAX_TOKENS: '300' };
/** Sockets re-read their user row at most this often (the backstop for a lost revocation event). */
const RECHECK = { WS_SESSION_RECHECK_SECONDS: '1' };

describe('graphql-ws', () => {
  let app: TestApp;
  let departmentId: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { ...LIMITS, ...RECHECK } });
    departmentId = (await app.createDepartment('Technical support', 'technical')).id;
  });
  afterAll(() => app.stop());

  const agent = () => app.createUser({ role: 'AGENT', departmentId });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  async function wsGauge(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${app.shiftdesk.port}/metrics`);
    return metricValue(await res.text(), 'shiftdesk_websocket_connections');
  }

  /** Sockets a test opened and left open (a bystander's …): closed after it, so the next test starts with none. */
  const closeAfterTest: Array<{ dispose(): void | Promise<void> }> = [];
  afterEach(async () => {
    for (const client of closeAfterTest.splice(0)) await client.dispose();
  });

  /**
   * A graphql-ws client held open by a notifications subscription. With `live`, warm-up notifications prove
   * the subscription registered on the server (the ack comes before that), for tests that expect deliveries.
   */
  async function openSubscriber(token: string, opts: { live?: { userId: string }; keepAfterTest?: boolean } = {}) {
    const client = app.ws(token);
    if (!opts.keepAfterTest) closeAfterTest.push(client);
    const watch = watchClient(client);
    const sub = subscribe(client, OnNotificationDocument);
    await watch.connected();
    if (opts.live) {
      const admin = await app.adminToken();
      const userId = opts.live.userId;
      await untilLive(
        sub,
        async (attempt) =>
          (await app.data(SendNotificationDocument, { userId, title: `warm-up ${attempt}`, body: 'b' }, admin)).sendNotification.id,
        (data) => data?.notifications?.id,
      );
    }
    return { client, watch, sub };
  }

  describe('authentication in connection_init', () => {
    it('acknowledges { authorization: "Bearer <token>" } and runs operations as that user', async () => {
      const user = await agent();
      const raw = await rawConnect(app.wsUrl, bearer(user.token));
      expect(raw.acked).toBe(true);
      if (raw.acked) await closeRaw(raw.socket);

      const result = await wsExec(app.ws(user.token), MeDocument);
      expect(result.errors).toBeUndefined();
      expect(result.data?.me).toMatchObject({ id: user.id, email: user.email, role: 'AGENT' });
    });

    it('accepts the key in any letter case (GraphiQL sends Authorization)', async () => {
      const user = await agent();
      const raw = await rawConnect(app.wsUrl, { Authorization: `Bearer ${user.token}` });
      expect(raw.acked).toBe(true);
      if (raw.acked) await closeRaw(raw.socket);
    });

    it.each([
      ['no payload at all', undefined],
      ['an empty payload', {}],
      ['an empty authorization', { authorization: '' }],
      ['a token that is not a JWT', { authorization: 'Bearer not-a-token' }],
      ['a non-string authorization', { authorization: 42 }],
    ])('closes the socket with 4403 for %s', async (_what, payload) => {
      const outcome = await rawConnect(app.wsUrl, payload);
      expect(outcome).toMatchObject({ acked: false, code: FORBIDDEN });
    });

    it('closes with 4403 for a good token without the Bearer scheme, a forged one, and an expired one', async () => {
      const user = await agent();
      const key = (s: string) => new TextEncoder().encode(s);
      const claims = { role: 'AGENT', ver: 0 };
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.id)
        .setIssuer('shiftdesk')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key('some-other-secret-some-other-secret-0123456789'));
      const expired = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.id)
        .setIssuer('shiftdesk')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(key(JWT_SECRET));
      for (const payload of [{ authorization: user.token }, bearer(forged), bearer(expired)]) {
        expect(await rawConnect(app.wsUrl, payload)).toMatchObject({ acked: false, code: FORBIDDEN });
      }
      // The same user's real token is fine, so the refusals above are about the token alone.
      expect(
        await rawConnect(app.wsUrl, bearer(user.token)).then(async (o) => (o.acked ? (await closeRaw(o.socket), 'acked') : o.code)),
      ).toBe('acked');
    });

    it('tells the graphql-ws client 4403 too, and the operation fails', async () => {
      const client = app.ws('not-a-token', { connectionParams: { authorization: 'Bearer not-a-token' } });
      const watch = watchClient(client);
      const result = await wsExec(client, MeDocument);
      expect(result.closeCode).toBe(FORBIDDEN);
      expect(watch.closes).toEqual([FORBIDDEN]);
    });
  });

  describe('revoked sessions', () => {
    it('deactivating a user fails their token over HTTP at once and closes their open socket with 4403; others stay connected', async () => {
      const victim = await agent();
      const bystander = await agent();
      const admin = await app.adminToken();
      expect((await app.exec(MeDocument, undefined, victim.token)).status).toBe(200);

      const v = await openSubscriber(victim.token);
      const b = await openSubscriber(bystander.token, { live: { userId: bystander.id } });

      await app.data(DeactivateUserDocument, { id: victim.id }, admin);

      expect(await v.watch.closed()).toBe(FORBIDDEN);
      await v.sub.done;
      expect((v.sub.error as { code?: number }).code).toBe(FORBIDDEN);

      const http = await app.exec(MeDocument, undefined, victim.token);
      expect(http.status).toBe(401);
      expect(http.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await rawConnect(app.wsUrl, bearer(victim.token))).toMatchObject({ acked: false, code: FORBIDDEN });

      // The bystander's socket was left alone: it is still open and still delivers.
      expect(b.watch.closes).toEqual([]);
      await app.data(SendNotificationDocument, { userId: bystander.id, title: 'still here', body: 'yes' }, admin);
      expect((await b.sub.next()).data?.notifications.title).toBe('still here');
    });

    it("changing a user's role fails their old token over HTTP and closes their socket with 4403; a new sign-in works", async () => {
      const user = await agent();
      const admin = await app.adminToken();
      const s = await openSubscriber(user.token);

      const updated = await app.data(UpdateUserDocument, { id: user.id, input: { role: 'MANAGER' } }, admin);
      expect(updated.updateUser.role).toBe('MANAGER');

      expect(await s.watch.closed()).toBe(FORBIDDEN);
      const http = await app.exec(MeDocument, undefined, user.token);
      expect(http.status).toBe(401);
      expect(http.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await rawConnect(app.wsUrl, bearer(user.token))).toMatchObject({ acked: false, code: FORBIDDEN });

      const fresh = await app.login(user.email, user.password);
      const me = await wsExec(app.ws(fresh), MeDocument);
      expect(me.data?.me.role).toBe('MANAGER');
    });

    it('moving a user to another department closes their socket with 4403 and fails their old token', async () => {
      const user = await agent();
      const admin = await app.adminToken();
      const otherDepartment = await app.createDepartment('Sales', 'sales');
      const s = await openSubscriber(user.token);
      await app.data(UpdateUserDocument, { id: user.id, input: { departmentId: otherDepartment.id } }, admin);
      expect(await s.watch.closed()).toBe(FORBIDDEN);
      expect((await app.exec(MeDocument, undefined, user.token)).status).toBe(401);
    });

    it('a deactivation whose revocation event never arrived still closes the socket at the next check of the sessions', async () => {
      const user = await agent();
      const bystander = await agent();
      const s = await openSubscriber(user.token);
      const b = await openSubscriber(bystander.token);
      expect((await wsExec(s.client, MeDocument)).data?.me.id).toBe(user.id);
      // Straight in the database: no revocation event is published, as if Redis had dropped it.
      await app.services.orm.em.fork().getConnection().execute('UPDATE users SET active = false WHERE id = ?', [user.id]);
      expect(await s.watch.closed(5000)).toBe(FORBIDDEN);
      // The check left the others alone.
      expect((await wsExec(b.client, MeDocument)).data?.me.id).toBe(bystander.id);
      expect(b.watch.closes).toEqual([]);
    });

    it('a token that expires while its socket is open ends the session at the next operation', async () => {
      const user = await agent();
      const expiresAt = Math.floor(Date.now() / 1000) + 2;
      const shortLived = await new SignJWT({ role: 'AGENT', ver: 1 })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.id)
        .setIssuer('shiftdesk')
        .setIssuedAt()
        .setExpirationTime(expiresAt)
        .sign(new TextEncoder().encode(JWT_SECRET));
      const s = await openSubscriber(shortLived);
      expect((await wsExec(s.client, MeDocument)).data?.me.id).toBe(user.id);
      // The pause is the behaviour under test: the token must really expire while its socket stays open.
      await new Promise((r) => setTimeout(r, expiresAt * 1000 - Date.now() + 100));
      const refused = await wsExec(s.client, MeDocument);
      expect(refused.data?.me).toBeUndefined();
      expect(await s.watch.closed()).toBe(FORBIDDEN);
    });

    it('a malformed revocation event on the topic does not stop later revocations from closing sockets', async () => {
      const user = await agent();
      const bystander = await agent();
      const s = await openSubscriber(user.token);
      const b = await openSubscriber(bystander.token);
      // Anything may arrive on a shared topic (with Redis, anyone who can PUBLISH); the listener must survive it.
      for (const junk of [null, 'not an object', 42, {}, { userId: 7 }]) app.services.pubsub.publish(Topics.SESSION_REVOKED, junk);
      // The topic's events are handled in order: once a revocation published after the junk has closed its
      // socket, the junk has been handled too, and it closed nothing.
      await app.data(DeactivateUserDocument, { id: bystander.id }, await app.adminToken());
      expect(await b.watch.closed()).toBe(FORBIDDEN);
      expect(s.watch.closes).toEqual([]);
      await app.data(DeactivateUserDocument, { id: user.id }, await app.adminToken());
      expect(await s.watch.closed()).toBe(FORBIDDEN);
    });

    it('an edit that is not a role change (display name) leaves tokens and sockets alone', async () => {
      const user = await agent();
      const s = await openSubscriber(user.token, { live: { userId: user.id } });
      await app.data(UpdateUserDocument, { id: user.id, input: { displayName: 'Renamed' } }, await app.adminToken());
      expect((await app.exec(MeDocument, undefined, user.token)).status).toBe(200);
      await app.data(SendNotificationDocument, { userId: user.id, title: 'after rename', body: 'b' }, await app.adminToken());
      expect((await s.sub.next()).data?.notifications.title).toBe('after rename');
      expect(s.watch.closes).toEqual([]);
    });
  });

  describe('query limits apply over WebSocket', () => {
    let user: { id: string; token: string };
    let keeper: Awaited<ReturnType<typeof openSubscriber>>;

    beforeAll(async () => {
      user = await agent();
      // One socket for all of these: a rejected operation must answer with an error, not close the socket.
      keeper = await openSubscriber(user.token, { live: { userId: user.id }, keepAfterTest: true });
    });
    afterAll(() => keeper.client.dispose());
    // A rejected operation answers with an error; it must never close the socket.
    afterEach(() => {
      expect(keeper.watch.closes).toEqual([]);
      expect(keeper.watch.connections).toBe(1);
    });

    const codesOf = (r: { errors?: Array<{ extensions?: Record<string, any> }> }) => (r.errors ?? []).map((e) => e.extensions?.code);

    it('a query within the limits works', async () => {
      const r = await wsExec(keeper.client, '{ me { id department { id code } } }');
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ me: { id: user.id, department: { id: departmentId, code: 'technical' } } });
    });

    it('a query deeper than GRAPHQL_MAX_DEPTH gets BAD_USER_INPUT', async () => {
      const r = await wsExec(keeper.client, '{ auditLog { nodes { actor { department { id } } } } }');
      expect(r.data ?? null).toBeNull();
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.errors?.[0].message).toMatch(/depth/i);
    });

    it('a subscription with more aliases than GRAPHQL_MAX_ALIASES gets BAD_USER_INPUT; a normal one works', async () => {
      const r = await wsExec(keeper.client, 'subscription { notifications { a: id b: id c: id d: id } }');
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.errors?.[0].message).toMatch(/alias/i);
      // The live subscription on the same socket was untouched and still delivers.
      await app.data(SendNotificationDocument, { userId: user.id, title: 'limits', body: 'b' }, await app.adminToken());
      expect((await keeper.sub.next()).data?.notifications.title).toBe('limits');
    });

    it('an operation with more tokens than GRAPHQL_MAX_TOKENS gets BAD_USER_INPUT', async () => {
      const r = await wsExec(keeper.client, `{ me { ${'id '.repeat(400)} } }`);
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.errors?.[0].message).toMatch(/token/i);
    });

    it('a document that does not parse gets BAD_USER_INPUT', async () => {
      const r = await wsExec(keeper.client, '{ me { id ');
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.errors?.[0].message).toMatch(/syntax error/i);
    });

    it('an unknown field gets BAD_USER_INPUT', async () => {
      const r = await wsExec(keeper.client, '{ me { nope } }');
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.errors?.[0].message).toMatch(/nope/);
    });

    it('HTTP applies the same depth limit (parity)', async () => {
      const r = await app.exec('{ auditLog { nodes { actor { department { id } } } } }', undefined, user.token);
      expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    });
  });

  describe('the shiftdesk_websocket_connections gauge', () => {
    // Counted from zero: a socket an earlier test disposed may still be closing on the server when the next begins.
    beforeEach(() => eventually(async () => (await wsGauge()) === 0, 5000, 'the sockets of earlier tests closed'));

    it('goes up while a socket is open and back down when it closes', async () => {
      const user = await agent();
      const before = await wsGauge();
      const s = await openSubscriber(user.token);
      expect(await wsGauge()).toBe(before + 1);
      const second = await openSubscriber(user.token);
      expect(await wsGauge()).toBe(before + 2);
      await s.client.dispose();
      await eventually(async () => (await wsGauge()) === before + 1, 5000, 'gauge down by one');
      await second.client.dispose();
      await eventually(async () => (await wsGauge()) === before, 5000, 'gauge back to where it was');
    });

    it('does not count refused sockets, and counts a revoked socket down', async () => {
      const before = await wsGauge();
      expect(await rawConnect(app.wsUrl, { authorization: 'Bearer nope' })).toMatchObject({ acked: false, code: FORBIDDEN });
      expect(await wsGauge()).toBe(before);

      const user = await agent();
      const s = await openSubscriber(user.token);
      expect(await wsGauge()).toBe(before + 1);
      await app.data(DeactivateUserDocument, { id: user.id }, await app.adminToken());
      expect(await s.watch.closed()).toBe(FORBIDDEN);
      await eventually(async () => (await wsGauge()) === before, 5000, 'gauge back after the revoked socket closed');
    });

    it('counts a raw socket that the client drops without a close handshake', async () => {
      const user = await agent();
      const before = await wsGauge();
      const raw = await rawConnect(app.wsUrl, bearer(user.token));
      if (!raw.acked) throw new Error(`refused with ${raw.code}`);
      expect(await wsGauge()).toBe(before + 1);
      raw.socket.terminate();
      await eventually(async () => (await wsGauge()) === before, 5000, 'gauge back after a dropped socket');
    });

    it('does not leak when the client hangs up while its connection_init is still being checked', async () => {
      const user = await agent();
      // The user's row is cached first, so a check is over (but for synchronous steps) when its token is verified.
      expect((await app.exec(MeDocument, undefined, user.token)).status).toBe(200);
      const sessions = app.services.sessions;
      const verify = sessions.verify.bind(sessions);
      let checked = 0;
      const spy = jest.spyOn(sessions, 'verify').mockImplementation(async (token) => {
        try {
          return await verify(token);
        } finally {
          if (token === user.token) checked += 1;
        }
      });
      const before = await wsGauge();
      await Promise.all(
        Array.from(
          { length: 20 },
          () =>
            new Promise<void>((resolve, reject) => {
              const socket = new WebSocket(app.wsUrl, GRAPHQL_TRANSPORT_WS);
              socket.on('open', () => {
                socket.send(JSON.stringify({ type: 'connection_init', payload: bearer(user.token) }), () => socket.terminate());
              });
              socket.on('close', () => resolve());
              socket.on('error', reject);
            }),
        ),
      );
      // Once the server has checked the 20 tokens it was sent, the gauge must be back where it was.
      try {
        await eventually(async () => checked === 20 && (await wsGauge()) === before, 10_000, 'the 20 checks done and the gauge back');
      } finally {
        spy.mockRestore();
      }
      // ...and a revocation for that user still works for a socket opened afterwards (nothing stale in the way).
      const s = await openSubscriber(user.token);
      expect(await wsGauge()).toBe(before + 1);
      await app.data(DeactivateUserDocument, { id: user.id }, await app.adminToken());
      expect(await s.watch.closed()).toBe(FORBIDDEN);
      await eventually(async () => (await wsGauge()) === before, 5000, 'gauge back');
    });
  });
});
