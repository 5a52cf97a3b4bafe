import { CreateWebhookDocument, RequestServiceDocument, WebhookDeliveriesDocument } from '../generated/graphql';
import { isPrivateAddress } from '../../src/modules/integrations/webhook-address';
import { eventually, startTestApp, TestApp } from '../support/harness';
import { startReceiver } from './webhook-receiver';

describe('webhook addresses (SSRF)', () => {
  it('classes loopback, private, link-local, unique-local, unspecified and metadata addresses as private', () => {
    const inside = [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
    ];
    const outside = ['203.0.113.10', '8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'];
    expect(inside.filter((a) => !isPrivateAddress(a))).toEqual([]);
    expect(outside.filter((a) => isPrivateAddress(a))).toEqual([]);
  });

  describe('in production, without WEBHOOK_ALLOW_PRIVATE', () => {
    let app: TestApp;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let admin: string;

    beforeAll(async () => {
      receiver = await startReceiver();
      app = await startTestApp({
        env: { NODE_ENV: 'production', WEBHOOK_ATTEMPTS: '1', WEBHOOK_OUTBOX_POLL_MS: '200', JOB_POLL_SECONDS: '1' },
      });
      admin = await app.adminToken();
    });
    afterAll(async () => {
      await app?.stop();
      await receiver?.close();
    });

    const create = (url: string) => app.exec(CreateWebhookDocument, { input: { url, events: ['conversation.created'] } }, admin);

    it('refuses URLs of the server’s own network and plain http at creation, writing nothing', async () => {
      const webhooks = async () => (await app.services.orm.em.fork().execute(`SELECT count(*)::int AS n FROM webhooks`))[0].n;
      const before = await webhooks();
      for (const url of [
        'https://127.0.0.1/hook',
        'https://localhost:8443/hook',
        'https://10.0.0.5/hook',
        'https://192.168.1.20/hook',
        'https://169.254.169.254/latest/meta-data',
        'https://0.0.0.0/hook',
        'https://[::1]/hook',
        'https://[fd12:3456::1]/hook',
        'https://[::ffff:127.0.0.1]/hook',
        'http://203.0.113.10/hook',
      ]) {
        const res = await create(url);
        expect([url, res.errors?.[0].extensions?.code, res.errors?.[0].extensions?.fields?.[0]?.field]).toEqual([
          url,
          'BAD_USER_INPUT',
          'url',
        ]);
      }
      expect((await create('http://203.0.113.10/hook')).errors?.[0].message).toMatch(/https/);
      expect((await create('https://169.254.169.254/x')).errors?.[0].message).toMatch(/own network/);
      expect(await webhooks()).toBe(before);
      expect((await create('https://203.0.113.10/hook')).errors).toBeUndefined();
    });

    it('checks again at delivery time and connects only to the address it checked', async () => {
      const em = app.services.orm.em.fork();
      await em.execute(`UPDATE webhooks SET enabled = false`);
      const port = new URL(receiver.url).port;
      // A name that now resolves inside (DNS changed after creation), and a literal private address.
      const cases = [
        { url: `https://localhost:${port}/hook`, error: /localhost resolves to .*refused/ },
        { url: `https://127.0.0.1:${port}/hook`, error: /127\.0\.0\.1 is an address of the server's own network/ },
      ];
      const ids: string[] = [];
      for (const c of cases) {
        const input = { url: 'https://203.0.113.11/hook', events: ['conversation.created'] };
        const { webhook } = (await app.data(CreateWebhookDocument, { input }, admin)).createWebhook;
        await em.execute(`UPDATE webhooks SET url = ? WHERE id = ?`, [c.url, webhook.id]);
        ids.push(webhook.id);
      }
      const customer = await app.createUser({ role: 'CUSTOMER' });
      await app.createDepartment('订单问题', 'order');
      await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, customer.token);
      const latest = async (webhookId: string) =>
        (await app.data(WebhookDeliveriesDocument, { webhookId, first: 10 }, admin)).webhookDeliveries.nodes[0];
      for (const [i, c] of cases.entries()) {
        await eventually(async () => (await latest(ids[i]))?.status === 'FAILED', 15_000, `the delivery to ${c.url} refused`);
        const d = await latest(ids[i]);
        expect(d).toMatchObject({ attempts: 1, responseStatus: null });
        expect(d.error).toMatch(c.error);
      }
      expect(receiver.got).toHaveLength(0);
    });
  });
});
