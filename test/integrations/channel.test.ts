import {
  ChannelInboundDocument,
  CreateApiKeyDocument,
  LinkChannelIdentityDocument,
  OnConversationEventsDocument,
} from '../generated/graphql';
import type { ApiKeyScope, ChannelInboundInput } from '../generated/graphql';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import { startTestApp, subscribe, TestApp } from '../support/harness';

describe('channel API', () => {
  let app: TestApp;
  let admin: string;
  let departmentId: string;
  let channelKey: string;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    departmentId = (await app.createDepartment('Channel desk', 'channeldesk')).id;
    channelKey = await createKey(['CHANNEL_WRITE'], departmentId);
  });
  afterAll(() => app.stop());

  async function createKey(scopes: ApiKeyScope[], department: string | null = null): Promise<string> {
    const { createApiKey } = await app.data(CreateApiKeyDocument, { input: { name: 'Bridge', scopes, departmentId: department } }, admin);
    return createApiKey.secret;
  }

  const em = () => app.services.orm.em.fork();
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}-${Date.now()}-${counter++}`;
  const inbound = (input: Partial<ChannelInboundInput>, key = channelKey) =>
    app.exec(
      ChannelInboundDocument,
      {
        input: {
          channel: 'wechat',
          externalCustomerId: fresh('openid'),
          displayName: '微信用户',
          externalMessageId: fresh('msg'),
          content: '你好，我的订单还没到',
          ...input,
        },
      },
      key,
    );
  const count = async (sql: string, params: unknown[] = []) => Number((await em().execute(sql, params))[0].n);

  it('makes a customer for a new identity and opens a conversation through routing, in the key’s department', async () => {
    const res = await inbound({ externalCustomerId: 'openid-first', externalMessageId: 'first-1' });
    expect(res.errors).toBeUndefined();
    const out = res.data!.channelInbound;
    expect(out.duplicate).toBe(false);
    expect(out.conversation).toMatchObject({ customerId: out.customerId, departmentId, status: 'QUEUED' });
    expect(out.serviceRequest?.status).toBe('QUEUED');
    expect(out.message).toMatchObject({ seq: 1, content: '你好，我的订单还没到', senderId: out.customerId });
    const [user] = await em().execute('SELECT role, display_name FROM users WHERE id = ?', [out.customerId]);
    expect(user).toEqual({ role: 'CUSTOMER', display_name: '微信用户' });

    // The next message of the same identity continues that conversation.
    const next = (await inbound({ externalCustomerId: 'openid-first', externalMessageId: 'first-2', content: '还在吗' })).data!
      .channelInbound;
    expect(next.customerId).toBe(out.customerId);
    expect(next.conversation!.id).toBe(out.conversation!.id);
    expect(next.message).toMatchObject({ seq: 2, content: '还在吗' });
    expect(next.serviceRequest).toBeNull();
  });

  it('takes an external message in once: a repeat answers the stored message and stores nothing', async () => {
    const input = { externalCustomerId: fresh('openid'), externalMessageId: fresh('msg') };
    const first = (await inbound(input)).data!.channelInbound;
    const again = (await inbound({ ...input, content: 'a retry of the bridge' })).data!.channelInbound;
    expect(again.duplicate).toBe(true);
    expect(again.message!.id).toBe(first.message!.id);
    expect(await count('SELECT count(*) AS n FROM messages WHERE conversation_id = ?', [first.conversation!.id])).toBe(1);
  });

  it('gives one customer, one conversation and one message when the same new message arrives many times at once', async () => {
    const input = { externalCustomerId: fresh('openid'), externalMessageId: fresh('msg') };
    const results = await Promise.all(Array.from({ length: 8 }, () => inbound(input)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const outs = results.map((r) => r.data!.channelInbound);
    expect(new Set(outs.map((o) => o.customerId)).size).toBe(1);
    expect(new Set(outs.map((o) => o.message!.id)).size).toBe(1);
    expect(outs.filter((o) => !o.duplicate)).toHaveLength(1);
    const customerId = outs[0].customerId;
    expect(await count('SELECT count(*) AS n FROM channel_identities WHERE external_customer_id = ?', [input.externalCustomerId])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM conversations WHERE customer_id = ?', [customerId])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM messages WHERE sender_id = ?', [customerId])).toBe(1);
  });

  it('stores every one of different messages sent at once by a new customer, in one conversation', async () => {
    const externalCustomerId = fresh('openid');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => inbound({ externalCustomerId, externalMessageId: fresh('msg'), content: `第${i}条` })),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    const outs = results.map((r) => r.data!.channelInbound);
    expect(new Set(outs.map((o) => o.conversation!.id)).size).toBe(1);
    expect(outs.map((o) => o.message!.seq).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await count('SELECT count(*) AS n FROM messages WHERE sender_id = ?', [outs[0].customerId])).toBe(6);
  });

  it('lets a key with conversations:read follow the conversation over graphql-ws: stored messages, then live ones', async () => {
    const externalCustomerId = fresh('openid');
    const opened = (await inbound({ externalCustomerId, content: '第一条' })).data!.channelInbound;
    const reader = app.ws(await createKey(['CONVERSATIONS_READ'], departmentId));
    const events = subscribe(reader, OnConversationEventsDocument, { conversationId: opened.conversation!.id, afterSeq: 0 });
    const replayed = await events.next();
    expect(replayed.errors).toBeUndefined();
    expect(replayed.data?.conversationEvents.message).toMatchObject({ seq: 1, content: '第一条' });
    await inbound({ externalCustomerId, content: '第二条' });
    expect((await events.next()).data?.conversationEvents.message).toMatchObject({ seq: 2, content: '第二条' });
    events.unsubscribe();
    // A key of another department is kept out.
    const outsider = app.ws(await createKey(['CONVERSATIONS_READ'], (await app.createDepartment('Other desk', 'otherdesk')).id));
    const refused = await subscribe(outsider, OnConversationEventsDocument, { conversationId: opened.conversation!.id }).next();
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  describe('bad input changes nothing', () => {
    const tables = async () => [
      await count('SELECT count(*) AS n FROM users'),
      await count('SELECT count(*) AS n FROM messages'),
      await count('SELECT count(*) AS n FROM channel_identities'),
    ];

    it.each([
      ['a channel name that is not one', { channel: 'We Chat!' }, 'BAD_USER_INPUT'],
      ['an empty message', { content: '   ' }, 'BAD_USER_INPUT'],
      ['a message over 5,000 characters', { content: 'x'.repeat(5001) }, 'BAD_USER_INPUT'],
      ['an external customer id over 200 characters', { externalCustomerId: 'x'.repeat(201) }, 'BAD_USER_INPUT'],
      ['no external message id', { externalMessageId: '' }, 'BAD_USER_INPUT'],
    ])('%s: %s', async (_what, input, code) => {
      const before = await tables();
      const res = await inbound(input);
      expect(res.errors?.[0].extensions?.code).toBe(code);
      expect(await tables()).toEqual(before);
    });

    it('a key without channel:write, and a person, are FORBIDDEN', async () => {
      const before = await tables();
      const readOnly = await createKey(['TICKETS_READ', 'CONVERSATIONS_READ']);
      for (const caller of [readOnly, admin]) {
        const res = await inbound({}, caller);
        expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
      expect(await tables()).toEqual(before);
    });
  });

  describe('linkChannelIdentity', () => {
    it('makes messages of another channel reach the same customer, audited', async () => {
      const wechat = (await inbound({ externalCustomerId: fresh('openid') })).data!.channelInbound;
      const address = `${fresh('mail')}@example.com`;
      const { linkChannelIdentity } = await app.data(
        LinkChannelIdentityDocument,
        { input: { channel: 'email', externalCustomerId: address, customerId: wechat.customerId } },
        admin,
      );
      expect(linkChannelIdentity).toMatchObject({ channel: 'email', externalCustomerId: address, customerId: wechat.customerId });
      const mail = (await inbound({ channel: 'email', externalCustomerId: address, content: 'Any news?' })).data!.channelInbound;
      expect(mail.customerId).toBe(wechat.customerId);
      expect(mail.conversation!.id).toBe(wechat.conversation!.id);
      expect(await em().count(AuditEntry, { action: 'channel_identity.link', targetId: linkChannelIdentity.id })).toBe(1);
    });

    it('moves an identity a bridge already knew to the customer named (by a key with channel:write too)', async () => {
      const known = (await inbound({ externalCustomerId: 'openid-moved' })).data!.channelInbound;
      const target = await app.createUser({ role: 'CUSTOMER' });
      const moved = await app.data(
        LinkChannelIdentityDocument,
        { input: { channel: 'wechat', externalCustomerId: 'openid-moved', customerId: target.id } },
        channelKey,
      );
      expect(moved.linkChannelIdentity.customerId).toBe(target.id);
      const after = (await inbound({ externalCustomerId: 'openid-moved' })).data!.channelInbound;
      expect(after.customerId).toBe(target.id);
      expect(after.customerId).not.toBe(known.customerId);
    });

    it('keeps one row per identity when links and its first message race', async () => {
      const externalCustomerId = fresh('openid');
      const customers = await Promise.all([1, 2, 3].map(() => app.createUser({ role: 'CUSTOMER' })));
      const results = await Promise.all([
        ...customers.map((c) =>
          app.exec(LinkChannelIdentityDocument, { input: { channel: 'wechat', externalCustomerId, customerId: c.id } }, admin),
        ),
        inbound({ externalCustomerId }),
      ]);
      for (const r of results) expect(r.errors).toBeUndefined();
      const rows = await em().execute('SELECT customer_id FROM channel_identities WHERE channel = ? AND external_customer_id = ?', [
        'wechat',
        externalCustomerId,
      ]);
      expect(rows).toHaveLength(1);
      // Whoever came last decided; the next message goes to that customer.
      const next = (await inbound({ externalCustomerId })).data!.channelInbound;
      expect(next.customerId).toBe(rows[0].customer_id);
    });

    it('refuses a customer that is not one, and agents', async () => {
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const before = await count('SELECT count(*) AS n FROM channel_identities');
      const notCustomer = await app.exec(
        LinkChannelIdentityDocument,
        { input: { channel: 'email', externalCustomerId: 'x@example.com', customerId: agent.id } },
        admin,
      );
      expect(notCustomer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      const byAgent = await app.exec(
        LinkChannelIdentityDocument,
        { input: { channel: 'email', externalCustomerId: 'x@example.com', customerId: agent.id } },
        agent.token,
      );
      expect(byAgent.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(await count('SELECT count(*) AS n FROM channel_identities')).toBe(before);
    });
  });
});
