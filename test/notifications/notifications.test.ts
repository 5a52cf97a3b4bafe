import { randomUUID } from 'node:crypto';
import {
  MarkNotificationReadDocument,
  NotificationsDocument,
  OnNotificationDocument,
  SendNotificationDocument,
} from '../generated/graphql';
import { inTransaction } from '../../src/platform/db/transaction';
import { startTestApp, subscribe, TestApp } from '../support/harness';
import { untilLive, watchClient } from '../support/ws';

type User = { id: string; email: string; password: string; token: string };

describe('notifications', () => {
  let app: TestApp;
  let admin: string;
  let departmentId: string;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    departmentId = (await app.createDepartment('After-sales', 'aftersales')).id;
  });
  afterAll(() => app.stop());

  const agent = () => app.createUser({ role: 'AGENT', departmentId });
  const send = (userId: string, title: string, body = `body of ${title}`) =>
    app.data(SendNotificationDocument, { userId, title, body }, admin).then((d) => d.sendNotification);
  const list = (u: User, vars: { first?: number; after?: string | null; unreadOnly?: boolean } = {}) =>
    app.data(NotificationsDocument, vars, u.token).then((d) => d.notifications);

  /** A live `notifications` subscription of `u`, acknowledged by the server before this resolves. */
  async function subscriber(u: User) {
    const client = app.ws(u.token);
    const watch = watchClient(client);
    const sub = subscribe(client, OnNotificationDocument);
    await watch.connected();
    return { client, watch, sub };
  }

  describe('the notifications subscription', () => {
    it('delivers the signed-in user their notification with every field, and the row is already stored on receipt', async () => {
      const user = await agent();
      const { sub } = await subscriber(user);
      await sendUntilReceived(user, sub);

      const notification = await send(user.id, 'Your leave was approved', 'Enjoy the break');
      const event = (await sub.next()).data!.notifications;
      // Stored first, pushed after the commit: the moment the event is here, the list holds it.
      const page = await list(user);
      expect(page.nodes[0]).toEqual(event);

      expect(event).toEqual({
        id: notification.id,
        kind: 'MESSAGE',
        title: 'Your leave was approved',
        body: 'Enjoy the break',
        createdAt: notification.createdAt,
        readAt: null,
      });
      expect(Math.abs(Date.parse(event.createdAt) - Date.now())).toBeLessThan(60_000);
    });

    it("delivers only the user's own notifications: a second subscriber sees none of the first user's", async () => {
      const alice = await agent();
      const bob = await agent();
      const a = await subscriber(alice);
      const b = await subscriber(bob);
      await sendUntilReceived(alice, a.sub);
      await sendUntilReceived(bob, b.sub);
      // Both subscriptions are live now. Everything sent to Alice from here on...
      const forAlice = [await send(alice.id, 'alice 1'), await send(alice.id, 'alice 2')];
      expect((await a.sub.next()).data?.notifications.id).toBe(forAlice[0].id);
      expect((await a.sub.next()).data?.notifications.id).toBe(forAlice[1].id);
      // ...is not in Bob's stream: the next thing Bob gets is Bob's own.
      const forBob = await send(bob.id, 'bob 1');
      expect((await b.sub.next()).data?.notifications).toMatchObject({ id: forBob.id, title: 'bob 1' });
      expect(b.sub.received).toEqual([]);
      expect(a.sub.received).toEqual([]);
    });

    it('pushes only after the commit, and never for a transaction that rolled back', async () => {
      const user = await agent();
      const { sub } = await subscriber(user);
      await sendUntilReceived(user, sub);
      const { notifications } = app.services;

      // Held open: nothing is pushed while the row is not committed...
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let flushed!: () => void;
      const written = new Promise<void>((r) => (flushed = r));
      let storedId = '';
      const committing = inTransaction(app.services.orm.em.fork(), async (em, afterCommit) => {
        storedId = notifications.notify(em, afterCommit, { userId: user.id, kind: 'TEST', title: 'held', body: 'b' }).id;
        await em.flush();
        flushed();
        await held;
      });
      await written;
      // One event per user arrives in order: a committed notification sent now comes first, and alone.
      const marker = await send(user.id, 'sent while the other is held');
      expect((await sub.next()).data?.notifications.id).toBe(marker.id);
      expect(sub.received).toEqual([]);
      release();
      await committing;
      // ...and it is pushed once committed.
      expect((await sub.next()).data?.notifications).toMatchObject({ id: storedId, kind: 'TEST', title: 'held' });

      // A rolled-back transaction stores nothing and pushes nothing.
      await expect(
        inTransaction(app.services.orm.em.fork(), async (em, afterCommit) => {
          notifications.notify(em, afterCommit, { userId: user.id, kind: 'TEST', title: 'rolled back', body: 'b' });
          await em.flush();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const after = await send(user.id, 'after the rollback');
      expect((await sub.next()).data?.notifications.id).toBe(after.id);
      expect((await list(user, { first: 100 })).nodes.map((n) => n.title)).not.toContain('rolled back');
    });
  });

  describe('the notifications list', () => {
    let user: User;
    let sent: Array<{ id: string; title: string }>;

    beforeAll(async () => {
      user = await agent();
      sent = [];
      for (let i = 1; i <= 5; i++) sent.push(await send(user.id, `n${i}`));
    });

    it('lists newest first and pages with cursors', async () => {
      const newestFirst = [...sent].reverse().map((n) => n.id);
      const p1 = await list(user, { first: 2 });
      expect(p1.nodes.map((n) => n.id)).toEqual(newestFirst.slice(0, 2));
      expect(p1.pageInfo.hasNextPage).toBe(true);
      const p2 = await list(user, { first: 2, after: p1.pageInfo.endCursor });
      expect(p2.nodes.map((n) => n.id)).toEqual(newestFirst.slice(2, 4));
      expect(p2.pageInfo.hasNextPage).toBe(true);
      const p3 = await list(user, { first: 2, after: p2.pageInfo.endCursor });
      expect(p3.nodes.map((n) => n.id)).toEqual(newestFirst.slice(4));
      expect(p3.pageInfo.hasNextPage).toBe(false);

      const all = await list(user);
      expect(all.nodes.map((n) => n.id)).toEqual(newestFirst);
      const times = all.nodes.map((n) => Date.parse(n.createdAt));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('markNotificationRead sets readAt (once), and unreadOnly leaves read ones out', async () => {
      const target = sent[1];
      const before = Date.now();
      const first = (await app.data(MarkNotificationReadDocument, { id: target.id }, user.token)).markNotificationRead;
      expect(first.id).toBe(target.id);
      expect(first.readAt).not.toBeNull();
      expect(Date.parse(first.readAt!)).toBeGreaterThanOrEqual(before - 1000);

      const again = (await app.data(MarkNotificationReadDocument, { id: target.id }, user.token)).markNotificationRead;
      expect(again.readAt).toBe(first.readAt);

      const all = await list(user);
      expect(all.nodes.find((n) => n.id === target.id)?.readAt).toBe(first.readAt);
      const unread = await list(user, { unreadOnly: true });
      expect(unread.nodes.map((n) => n.id)).toEqual(
        [...sent]
          .reverse()
          .filter((n) => n.id !== target.id)
          .map((n) => n.id),
      );
      expect(unread.nodes.every((n) => n.readAt === null)).toBe(true);
    });

    it("someone else's notification id is NOT_FOUND and stays unread; so is an unknown id", async () => {
      const other = await agent();
      const theirs = await send(other.id, 'private');
      const r = await app.exec(MarkNotificationReadDocument, { id: theirs.id }, user.token);
      expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(r.data ?? null).toBeNull();
      expect((await list(other)).nodes.find((n) => n.id === theirs.id)?.readAt).toBeNull();
      // Nor does their notification show in this user's list.
      expect((await list(user, { first: 100 })).nodes.map((n) => n.id)).not.toContain(theirs.id);

      const unknown = await app.exec(MarkNotificationReadDocument, { id: randomUUID() }, user.token);
      expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const malformed = await app.exec(MarkNotificationReadDocument, { id: 'not-a-uuid' }, user.token);
      expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('rejects a page size out of range and a foreign cursor with BAD_USER_INPUT', async () => {
      const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const cases = [
        { first: 0 },
        { first: 101 },
        { first: 2, after: 'garbage' },
        { first: 2, after: cursor({ createdAt: 1 }) },
        { first: 2, after: cursor(['not a date', 'not a uuid']) },
      ];
      for (const vars of cases) {
        const r = await app.exec(NotificationsDocument, vars, user.token);
        expect({ vars, code: r.errors?.[0]?.extensions?.code }).toEqual({ vars, code: 'BAD_USER_INPUT' });
      }
    });

    it('needs a signed-in user', async () => {
      const r = await app.exec(NotificationsDocument, {}, null);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('sendNotification', () => {
    it.each(['MANAGER', 'AGENT', 'CUSTOMER'] as const)('is FORBIDDEN to a %s, and nothing is stored', async (role) => {
      const target = await agent();
      const caller = await app.createUser({ role, departmentId: role === 'CUSTOMER' ? null : departmentId });
      const r = await app.exec(SendNotificationDocument, { userId: target.id, title: 't', body: 'b' }, caller.token);
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await list(target)).nodes).toEqual([]);
    });

    it('is UNAUTHENTICATED without a token', async () => {
      const target = await agent();
      const r = await app.exec(SendNotificationDocument, { userId: target.id, title: 't', body: 'b' }, null);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it.each([
      ['an empty title', '', 'b', 'title'],
      ['a blank title', '   ', 'b', 'title'],
      ['an empty body', 't', '', 'body'],
      ['a title over 200 characters', 'x'.repeat(201), 'b', 'title'],
    ])('rejects %s with BAD_USER_INPUT naming the field, and stores nothing', async (_what, title, body, field) => {
      const target = await agent();
      const r = await app.exec(SendNotificationDocument, { userId: target.id, title, body }, admin);
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.fields).toEqual([expect.objectContaining({ field })]);
      expect((await list(target)).nodes).toEqual([]);
    });

    it('answers NOT_FOUND for an unknown user, BAD_USER_INPUT for an id that is not one', async () => {
      const unknown = await app.exec(SendNotificationDocument, { userId: randomUUID(), title: 't', body: 'b' }, admin);
      expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const malformed = await app.exec(SendNotificationDocument, { userId: 'nope', title: 't', body: 'b' }, admin);
      expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('trims title and body and stores kind MESSAGE, unread', async () => {
      const target = await agent();
      const n = await send(target.id, '  Shift changed  ', '  See the board  ');
      expect(n).toMatchObject({ kind: 'MESSAGE', title: 'Shift changed', body: 'See the board', readAt: null });
      expect((await list(target)).nodes).toEqual([n]);
    });
  });

  /** Makes sure `sub` is registered on the server (see untilLive) with warm-up notifications to `user`. */
  function sendUntilReceived(user: User, sub: ReturnType<typeof subscribe<any, any>>): Promise<void> {
    return untilLive(
      sub,
      async (attempt) => (await send(user.id, `warm-up ${attempt}`)).id,
      (data) => data?.notifications?.id,
    );
  }
});
