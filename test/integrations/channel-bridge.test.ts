import { createHmac } from 'node:crypto';
import {
  ChannelInboundDocument,
  CreateApiKeyDocument,
  CreateWebhookDocument,
  HeartbeatDocument,
  SendMessageDocument,
} from '../generated/graphql';
import { eventually, startTestApp, TestApp } from '../support/harness';
import { startReceiver } from './webhook-receiver';

/**
 * A channel bridge end to end, as docs/integrations.md describes it: one API key feeds a WeChat customer's
 * message in (channelInbound) and registers the bridge's webhook; the agent's reply reaches the bridge as a
 * signed `message.created` delivery, which the bridge tells apart from its own customer's message by sender.
 */
describe('a channel bridge: messages in through channelInbound, agents’ replies out through webhooks', () => {
  let app: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    app = await startTestApp({
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_OUTBOX_POLL_MS: '200', JOB_POLL_SECONDS: '1', ROUTING_REQUIRE_SHIFT: 'false' },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('routes the bridged customer to an agent and delivers the agent’s reply to the bridge, signed', async () => {
    const admin = await app.adminToken();
    const dept = await app.createDepartment('微信客服', 'wechatdesk');
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    await app.data(HeartbeatDocument, {}, agent.token);
    const key = (
      await app.data(
        CreateApiKeyDocument,
        { input: { name: 'WeChat bridge', scopes: ['CHANNEL_WRITE', 'WEBHOOKS_MANAGE'], departmentId: dept.id } },
        admin,
      )
    ).createApiKey.secret;

    // The bridge registers its webhook with its own key.
    const hook = await app.exec(CreateWebhookDocument, { input: { url: `${receiver.url}/wechat`, events: ['message.created'] } }, key);
    expect(hook.errors).toBeUndefined();
    const secret = hook.data!.createWebhook.secret;
    expect(hook.data!.createWebhook.webhook.departmentId).toBe(dept.id);

    const inbound = await app.exec(
      ChannelInboundDocument,
      {
        input: {
          channel: 'wechat',
          externalCustomerId: 'o6_bridge_customer',
          displayName: '王女士',
          externalMessageId: 'wx-msg-1',
          content: '你好，我的订单还没到',
        },
      },
      key,
    );
    expect(inbound.errors).toBeUndefined();
    const { customerId, conversation } = inbound.data!.channelInbound;
    expect(conversation).toMatchObject({ departmentId: dept.id, status: 'ACTIVE' });

    const reply = await app.exec(
      SendMessageDocument,
      { input: { conversationId: conversation!.id, content: '您好，我来帮您查一下', clientMessageId: 'reply-1' } },
      agent.token,
    );
    expect(reply.errors).toBeUndefined();

    await eventually(() => receiver.got.filter((r) => r.path === '/wechat').length >= 2, 15_000, 'both messages delivered');
    const got = receiver.got.filter((r) => r.path === '/wechat');
    expect(got.map((r) => r.json.type)).toEqual(['message.created', 'message.created']);
    for (const r of got) {
      const expected = `sha256=${createHmac('sha256', secret)
        .update(`${String(r.headers['x-shiftdesk-timestamp'])}.${r.body}`)
        .digest('hex')}`;
      expect(r.headers['x-shiftdesk-signature']).toBe(expected);
      expect(r.json.object.conversationId).toBe(conversation!.id);
    }
    // What the bridge forwards to WeChat: the messages of its customer's conversation not sent by that customer.
    const toForward = got.filter((r) => r.json.object.senderId !== customerId);
    expect(toForward).toHaveLength(1);
    expect(toForward[0].json.object).toMatchObject({ senderId: agent.id, content: '您好，我来帮您查一下', seq: 2 });
  });
});
