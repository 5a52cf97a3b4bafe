import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateWebhookDocument,
  OpsAlertRaisedDocument,
  OpsAlertsDocument,
  RequestServiceDocument,
  SetMyLocaleDocument,
  UpdateWebhookDocument,
  WebhooksDocument,
} from '../generated/graphql';
import { startReceiver } from '../integrations/webhook-receiver';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** One rule (a customer waiting 60 s) and the two group robots, all pointing at a local receiver. */
function alertRules(receiverUrl: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-i18n-alerts-')), 'alerts.json');
  writeFileSync(
    file,
    JSON.stringify({
      rules: [{ name: 'queue-long', metric: 'queue_length', op: '>', threshold: 0, severity: 'critical', for: '60s', clearFor: '2m' }],
      webhooks: [
        { name: 'ding', kind: 'dingtalk', url: `${receiverUrl}/robot/send?access_token=t` },
        { name: 'wecom', kind: 'wecom', url: `${receiverUrl}/cgi-bin/webhook/send?key=k` },
      ],
    }),
  );
  return file;
}

const env = (rulesFile: string, extra: Record<string, string> = {}) => ({
  ALERT_RULES_FILE: rulesFile,
  ALERT_EVALUATE_SECONDS: '3600',
  ALERT_WEBHOOK_ATTEMPTS: '1',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_ATTEMPTS: '1',
  WEBHOOK_OUTBOX_POLL_MS: '200',
  JOB_POLL_SECONDS: '1',
  ...extra,
});

/**
 * Raises the rule's alert in a department of the caller's own: a customer queues there and the evaluator runs
 * past the rule's 60 s (on a clock of its own, later than any evaluation before).
 */
function alertRaiser(app: () => TestApp) {
  let clock = Date.now() + 3_600_000;
  let n = 0;
  return async () => {
    const start = clock;
    clock += 10_000_000;
    const code = `i18n_${++n}_${Math.random().toString(36).slice(2, 8)}`;
    const dept = await app().createDepartment(`售后-${code}`, code);
    const manager = await app().createUser({ role: 'MANAGER', departmentId: dept.id });
    const customer = await app().createUser({ role: 'CUSTOMER' });
    const raise = async () => {
      await app().data(RequestServiceDocument, { input: { topic: code, message: '在吗' } }, customer.token);
      await app().services.alertEvaluator.evaluate(new Date(start));
      await app().services.alertEvaluator.evaluate(new Date(start + 61_000));
      const [row] = await app()
        .services.orm.em.fork()
        .execute<Array<{ id: string; summary: string }>>(`SELECT id, summary FROM alerts WHERE department_id = ?`, [dept.id]);
      expect(row).toBeDefined();
      return row;
    };
    return { dept, manager, raise };
  };
}

/** The robots' requests that carry this department's alert. */
const robotPushes = (receiver: Receiver, departmentName: string) => {
  const of = (prefix: string) =>
    receiver.got.filter((r) => r.path.startsWith(prefix) && r.body.includes(departmentName)).map((r) => r.json as unknown as any);
  return { ding: of('/robot/send'), wecom: of('/cgi-bin/webhook/send') };
};

/** The DingTalk and WeCom pushes about a department, once each robot has been told exactly once. */
async function robotsTold(receiver: Receiver, departmentName: string) {
  await eventually(
    () => {
      const pushed = robotPushes(receiver, departmentName);
      return pushed.ding.length === 1 && pushed.wecom.length === 1;
    },
    15_000,
    'robots told',
  );
  return robotPushes(receiver, departmentName);
}

describe('texts rendered when read: alert summaries, webhooks’ disabled reasons; alert pushes in ALERT_LOCALE', () => {
  let app: TestApp;
  let receiver: Receiver;
  const episode = alertRaiser(() => app);

  beforeAll(async () => {
    receiver = await startReceiver((p) => (p.startsWith('/down') ? 500 : 200));
    app = await startTestApp({ env: env(alertRules(receiver.url)) });
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  const summaryOf = async (token: string, alertId: string, headers: Record<string, string> = {}) => {
    const res = await app.exec(OpsAlertsDocument, { first: 50 }, token, headers);
    expect(res.errors).toBeUndefined();
    return res.data!.alerts.nodes.find((a) => a.id === alertId)!.summary;
  };

  it('Alert.summary reads in the reader’s language (stored locale over Accept-Language over the role’s default)', async () => {
    const { dept, manager, raise } = await episode();
    const alert = await raise();
    const english = `queue-long: customers waiting in the queue is 1 (> 0) in ${dept.name}`;
    const chinese = `queue-long：排队等待的客户数为 1（> 0），部门：${dept.name}`;
    expect(await summaryOf(manager.token, alert.id)).toBe(english);
    expect(await summaryOf(manager.token, alert.id, { 'accept-language': 'zh-CN,zh;q=0.9' })).toBe(chinese);
    await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, manager.token);
    expect(await summaryOf(manager.token, alert.id, { 'accept-language': 'en' })).toBe(chinese);
    await app.data(SetMyLocaleDocument, { locale: null }, manager.token);
    // The column keeps the rendering in ALERT_LOCALE (zh-CN by default), for SQL readers and the integrations' webhooks.
    expect(alert.summary).toBe(chinese);
  });

  it('an unsupported Accept-Language falls back to the role’s default and says so', async () => {
    const { dept, manager, raise } = await episode();
    const alert = await raise();
    const res = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}`, 'accept-language': 'fr-FR' },
      body: JSON.stringify({ query: '{ alerts(first: 50) { nodes { id summary } } }' }),
    });
    const body = (await res.json()) as { data: { alerts: { nodes: Array<{ id: string; summary: string }> } }; extensions?: unknown };
    expect(body.data.alerts.nodes.find((a) => a.id === alert.id)?.summary).toBe(
      `queue-long: customers waiting in the queue is 1 (> 0) in ${dept.name}`,
    );
    expect(body.extensions).toEqual({ locale: { requested: 'fr-FR', used: 'en', supported: ['zh-CN', 'en'] } });
  });

  it('an alert stored before summaries were kept as messages reads as it was written', async () => {
    const { dept, manager } = await episode();
    const [old] = await app.services.orm.em.fork().execute<Array<{ id: string }>>(
      `INSERT INTO alerts (id, rule, metric, department_id, severity, summary, threshold, value)
       VALUES (gen_random_uuid(), 'legacy', 'queue_length', ?, 'warning', 'legacy: queue is long', 5, 9) RETURNING id`,
      [dept.id],
    );
    expect(await summaryOf(manager.token, old.id, { 'accept-language': 'zh-CN' })).toBe('legacy: queue is long');
    expect(await summaryOf(manager.token, old.id)).toBe('legacy: queue is long');
  });

  it('alertRaised is pushed over graphql-ws in the language of each connection', async () => {
    const { dept, manager, raise } = await episode();
    const auth = `Bearer ${manager.token}`;
    const live = watchSubscriptions(app.services.pubsub);
    const zh = subscribe(app.ws(manager.token, { connectionParams: { authorization: auth, locale: 'zh-CN' } }), OpsAlertRaisedDocument, {});
    const en = subscribe(app.ws(manager.token), OpsAlertRaisedDocument, {});
    await live.until(2);
    const alert = await raise();
    const [pushedZh, pushedEn] = await Promise.all([zh.next(), en.next()]);
    expect(pushedZh.data?.alertRaised).toMatchObject({
      id: alert.id,
      summary: `queue-long：排队等待的客户数为 1（> 0），部门：${dept.name}`,
    });
    expect(pushedEn.data?.alertRaised).toMatchObject({
      id: alert.id,
      summary: `queue-long: customers waiting in the queue is 1 (> 0) in ${dept.name}`,
    });
  });

  it('DingTalk and WeCom pushes are in ALERT_LOCALE, zh-CN by default; codes and values as they are', async () => {
    const { dept, raise } = await episode();
    const alert = await raise();
    const { ding, wecom } = await robotsTold(receiver, dept.name);
    const text: string = ding[0].markdown.text;
    expect(ding[0].markdown.title).toBe('[CRITICAL] queue-long');
    expect(text.split('\n\n')).toEqual([
      '**[CRITICAL] queue-long**',
      `queue-long：排队等待的客户数为 1（> 0），部门：${dept.name}`,
      '当前值：1（阈值 0）',
      expect.stringMatching(/^开始时间：\d{4}-\d\d-\d\dT/),
    ]);
    expect(wecom[0].markdown.content.split('\n')).toEqual(text.split('\n\n'));
    expect(alert.summary).toBe(`queue-long：排队等待的客户数为 1（> 0），部门：${dept.name}`);
  });

  it('Webhook.disabledReason when disabled by hand reads in the reader’s language; cleared when enabled again', async () => {
    const { manager } = await episode();
    const created = (
      await app.data(CreateWebhookDocument, { input: { url: `${receiver.url}/ok`, events: ['alert.raised'] } }, manager.token)
    ).createWebhook.webhook;
    const disabled = (await app.data(UpdateWebhookDocument, { id: created.id, input: { enabled: false } }, manager.token)).updateWebhook;
    expect(disabled).toMatchObject({ enabled: false, disabledReason: 'disabled by hand' });
    const read = async (headers: Record<string, string> = {}) => {
      const res = await app.exec(WebhooksDocument, {}, manager.token, headers);
      expect(res.errors).toBeUndefined();
      return res.data!.webhooks.find((w) => w.id === created.id)!.disabledReason;
    };
    expect(await read({ 'accept-language': 'zh-CN' })).toBe('已手动停用');
    expect(await read()).toBe('disabled by hand');
    await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, manager.token);
    expect(await read({ 'accept-language': 'en' })).toBe('已手动停用');
    await app.data(SetMyLocaleDocument, { locale: null }, manager.token);
    const enabled = (await app.data(UpdateWebhookDocument, { id: created.id, input: { enabled: true } }, manager.token)).updateWebhook;
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null });
  });

  it('Webhook.disabledReason of a webhook disabled for failing reads in the reader’s language', async () => {
    const { dept, manager, raise } = await episode();
    const created = (
      await app.data(CreateWebhookDocument, { input: { url: `${receiver.url}/down`, events: ['alert.raised'] } }, manager.token)
    ).createWebhook.webhook;
    // It has been failing for two days when the next attempt fails.
    await app.services.orm.em.fork().execute(`UPDATE webhooks SET failing_since = now() - interval '2 days' WHERE id = ?`, [created.id]);
    await raise();
    const hook = async (headers: Record<string, string> = {}) =>
      (await app.exec(WebhooksDocument, {}, manager.token, headers)).data!.webhooks.find((w) => w.id === created.id)!;
    await eventually(async () => (await hook()).enabled === false, 15_000, `webhook of ${dept.name} disabled`);
    expect((await hook()).disabledReason).toMatch(/^every delivery failed for \d+ [hs]$/);
    expect((await hook({ 'accept-language': 'zh-CN' })).disabledReason).toMatch(/^所有投递已连续失败 \d+ [hs]$/);
  });
});

describe('alert pushes with ALERT_LOCALE=en', () => {
  let app: TestApp;
  let receiver: Receiver;
  const episode = alertRaiser(() => app);

  beforeAll(async () => {
    receiver = await startReceiver();
    app = await startTestApp({ env: env(alertRules(receiver.url), { ALERT_LOCALE: 'en' }) });
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('DingTalk and WeCom read English; readers of the API still read their own language', async () => {
    const { dept, manager, raise } = await episode();
    const alert = await raise();
    const english = `queue-long: customers waiting in the queue is 1 (> 0) in ${dept.name}`;
    const { ding, wecom } = await robotsTold(receiver, dept.name);
    expect(ding[0].markdown.text.split('\n\n')).toEqual([
      '**[CRITICAL] queue-long**',
      english,
      'value: 1 (threshold 0)',
      expect.stringMatching(/^opened: \d{4}-\d\d-\d\dT/),
    ]);
    expect(wecom[0].markdown.content).toContain(english);
    expect(alert.summary).toBe(english);
    const res = await app.exec(OpsAlertsDocument, { first: 50 }, manager.token, { 'accept-language': 'zh-CN' });
    expect(res.data!.alerts.nodes.find((a) => a.id === alert.id)?.summary).toBe(
      `queue-long：排队等待的客户数为 1（> 0），部门：${dept.name}`,
    );
  });
});
