import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import {
  LeaveQueueDocument,
  NotificationsDocument,
  OpsAcknowledgeAlertDocument,
  OpsAlertDeliveriesDocument,
  OpsAlertRaisedDocument,
  OpsAlertsDocument,
  RequestServiceDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };
interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP receiver: answers `status` to every request and keeps what it got. */
async function receiver(status: number): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"errcode":0}' : 'boom');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const SECRET = 'generic-secret';
const DING_SECRET = 'SEC-ding';

describe('alerts', () => {
  let ok: Awaited<ReturnType<typeof receiver>>;
  let broken: Awaited<ReturnType<typeof receiver>>;
  let app: TestApp;
  let second: TestApp;
  let dept: { id: string };
  let other: { id: string };
  let manager: Person;
  let otherManager: Person;
  let agent: Person;
  let customer: Person;
  let alertId: string;
  const t0 = Date.now() + 3_600_000; // the evaluator's clock, ahead of the wall clock so every step is later than the last

  const evaluateAt = (seconds: number, on: TestApp = app) => on.services.alertEvaluator.evaluate(new Date(t0 + seconds * 1000));
  const unresolved = async () =>
    (await app.services.orm.em
      .fork()
      .execute(`SELECT id, status FROM alerts WHERE rule = 'queue-long' AND status <> 'RESOLVED'`)) as Array<{
      id: string;
      status: string;
    }>;

  beforeAll(async () => {
    ok = await receiver(200);
    broken = await receiver(500);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-alerts-'));
    const rulesFile = path.join(dir, 'alerts.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({
        rules: [
          {
            name: 'queue-long',
            metric: 'queue_length',
            op: '>',
            threshold: 0,
            severity: 'critical',
            for: '60s',
            clearFor: '2m',
            departments: ['order'],
          },
        ],
        webhooks: [
          { name: 'ops-json', kind: 'generic', url: `${ok.url}/hook`, secret: SECRET },
          { name: 'ding', kind: 'dingtalk', url: `${ok.url}/robot/send?access_token=t`, secret: DING_SECRET },
          { name: 'wecom', kind: 'wecom', url: `${ok.url}/cgi-bin/webhook/send?key=k`, severities: ['critical'] },
          { name: 'sales-only', kind: 'generic', url: `${ok.url}/sales`, departments: ['sales'] },
          { name: 'broken', kind: 'generic', url: `${broken.url}/down` },
        ],
      }),
    );
    const env = {
      ALERT_RULES_FILE: rulesFile,
      ALERT_EVALUATE_SECONDS: '3600',
      ALERT_WEBHOOK_ATTEMPTS: '3',
      ALERT_WEBHOOK_RETRY_DELAY_SECONDS: '1',
      JOB_POLL_SECONDS: '1',
    };
    app = await startTestApp({ env });
    second = await startTestApp({ env, databaseUrl: app.databaseUrl });
    dept = await app.createDepartment('订单问题', 'order');
    other = await app.createDepartment('售前咨询', 'sales');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    customer = await app.createUser({ role: 'CUSTOMER' });
  });
  afterAll(async () => {
    await second?.stop();
    await app?.stop();
    ok?.server.close();
    broken?.server.close();
  });

  const queueOne = async () => {
    const r = await app.data(RequestServiceDocument, { input: { topic: 'order', message: '在吗' } }, customer.token);
    expect(r.requestService.status).toBe('QUEUED');
  };

  it('opens once the condition has held for its duration, and tells subscribers and the department', async () => {
    const live = watchSubscriptions(app.services.pubsub);
    const adminToken = await app.adminToken();
    const managerSub = subscribe(app.ws(manager.token), OpsAlertRaisedDocument, {});
    const adminSub = subscribe(app.ws(adminToken), OpsAlertRaisedDocument, { departmentId: null });
    const otherSub = subscribe(app.ws(otherManager.token), OpsAlertRaisedDocument, {});
    await live.until(3);
    await queueOne();
    expect(await evaluateAt(0)).toBe(true);
    expect(await evaluateAt(30)).toBe(true);
    expect(await unresolved()).toEqual([]);
    await evaluateAt(61);
    const open = await unresolved();
    expect(open).toHaveLength(1);
    alertId = open[0].id;

    const pushed = (await managerSub.next(5000)).data!.alertRaised;
    expect(pushed).toMatchObject({
      id: alertId,
      rule: 'queue-long',
      metric: 'queue_length',
      departmentId: dept.id,
      severity: 'critical',
      status: 'OPEN',
      value: 1,
      threshold: 0,
    });
    expect((await adminSub.next(5000)).data!.alertRaised.id).toBe(alertId);
    await expect(otherSub.next(500)).rejects.toThrow(/no event/);

    const notes = (await app.data(NotificationsDocument, { first: 10 }, manager.token)).notifications.nodes;
    expect(notes).toEqual([expect.objectContaining({ kind: 'ALERT', title: '[critical] queue-long' })]);
    expect(
      (await app.data(NotificationsDocument, { first: 10 }, await app.adminToken())).notifications.nodes.filter((n) => n.kind === 'ALERT'),
    ).toHaveLength(1);
    expect((await app.data(NotificationsDocument, { first: 10 }, otherManager.token)).notifications.nodes).toEqual([]);
    for (const s of [managerSub, adminSub, otherSub]) s.unsubscribe();
  });

  it('does not fire again while the episode lasts, even when it flaps (hysteresis), and resolves once clear long enough', async () => {
    await evaluateAt(70);
    await app.data(LeaveQueueDocument, {}, customer.token);
    await evaluateAt(80); // clear: CLEARING, still open
    expect((await unresolved()).map((a) => a.id)).toEqual([alertId]);
    await queueOne();
    await evaluateAt(100); // back: FIRING again, no second alert
    await app.data(LeaveQueueDocument, {}, customer.token);
    await evaluateAt(110);
    await evaluateAt(200); // clear for 90 s < 2 min
    expect((await unresolved()).map((a) => a.id)).toEqual([alertId]);
    await evaluateAt(231);
    expect(await unresolved()).toEqual([]);
    const [row] = await app.services.orm.em.fork().execute(`SELECT count(*)::int AS n FROM alerts`);
    expect(row.n).toBe(1);
    const resolved = (await app.data(OpsAlertsDocument, { status: 'RESOLVED' }, manager.token)).alerts.nodes;
    expect(resolved.map((a) => a.id)).toEqual([alertId]);
    expect(resolved[0].resolvedAt).not.toBeNull();
  });

  it('opens one alert when evaluators of two processes race', async () => {
    await queueOne();
    await Promise.all([evaluateAt(300), evaluateAt(300, second)]);
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => evaluateAt(400 + i, i % 2 ? second : app)));
    expect(runs.some(Boolean)).toBe(true);
    const open = await unresolved();
    expect(open).toHaveLength(1);
    const [row] = await app.services.orm.em.fork().execute(`SELECT count(*)::int AS n FROM alerts`);
    expect(row.n).toBe(2);
    alertId = open[0].id;
  });

  it('lists alerts by status for managers (their department) and admins, with cursors', async () => {
    const mine = (await app.data(OpsAlertsDocument, { first: 1 }, manager.token)).alerts;
    expect(mine.nodes.map((a) => a.id)).toEqual([alertId]);
    expect(mine.pageInfo.hasNextPage).toBe(true);
    const next = (await app.data(OpsAlertsDocument, { first: 1, after: mine.pageInfo.endCursor }, manager.token)).alerts;
    expect(next.nodes).toHaveLength(1);
    expect(next.pageInfo.hasNextPage).toBe(false);
    expect((await app.data(OpsAlertsDocument, { status: 'OPEN' }, await app.adminToken())).alerts.nodes.map((a) => a.id)).toEqual([
      alertId,
    ]);
    expect((await app.data(OpsAlertsDocument, {}, otherManager.token)).alerts.nodes).toEqual([]);
    for (const token of [agent.token, customer.token]) {
      expect((await app.exec(OpsAlertsDocument, {}, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect((await app.exec(OpsAlertsDocument, { after: 'bogus' }, manager.token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('acknowledges an alert of the own department only, once', async () => {
    for (const [token, code] of [
      [otherManager.token, 'FORBIDDEN'],
      [agent.token, 'FORBIDDEN'],
      [customer.token, 'FORBIDDEN'],
      [null, 'UNAUTHENTICATED'],
    ] as const) {
      expect((await app.exec(OpsAcknowledgeAlertDocument, { id: alertId, comment: 'mine' }, token)).errors?.[0]?.extensions?.code).toBe(
        code,
      );
    }
    expect((await unresolved())[0].status).toBe('OPEN'); // nothing changed
    const acked = (await app.data(OpsAcknowledgeAlertDocument, { id: alertId, comment: '  on it  ' }, manager.token)).acknowledgeAlert;
    expect(acked).toMatchObject({ id: alertId, status: 'ACKNOWLEDGED', acknowledgedById: manager.id, acknowledgeComment: 'on it' });
    expect((await app.exec(OpsAcknowledgeAlertDocument, { id: alertId }, await app.adminToken())).errors?.[0]?.extensions?.code).toBe(
      'CONFLICT',
    );
    expect(
      (await app.exec(OpsAcknowledgeAlertDocument, { id: '00000000-0000-4000-8000-000000000000' }, manager.token)).errors?.[0]?.extensions
        ?.code,
    ).toBe('NOT_FOUND');
    expect(
      (await app.exec(OpsAcknowledgeAlertDocument, { id: alertId, comment: 'x'.repeat(1001) }, manager.token)).errors?.[0]?.extensions
        ?.code,
    ).toBe('BAD_USER_INPUT');
    const [audit] = await app.services.orm.em.fork().execute(`SELECT action, comment FROM audit_entries WHERE target_id = ?`, [alertId]);
    expect(audit).toEqual({ action: 'alert.acknowledge', comment: 'on it' });
  });

  it('delivers to the webhooks in their formats, signed, and logs every attempt', async () => {
    // Each of the two alerts went to ops-json, ding and wecom (not sales-only), and to broken.
    await eventually(() => ok.got.length >= 6, 20_000, 'six deliveries');
    const generic = ok.got.filter((g) => g.path === '/hook');
    expect(generic).toHaveLength(2);
    for (const g of generic) {
      const ts = g.headers['x-shiftdesk-timestamp'] as string;
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
      expect(g.headers['x-shiftdesk-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${g.body}`).digest('hex')}`);
      expect(JSON.parse(g.body)).toMatchObject({
        type: 'alert',
        alert: { rule: 'queue-long', severity: 'critical', departmentCode: 'order', departmentId: dept.id },
      });
    }
    const ding = ok.got.find((g) => g.path.startsWith('/robot/send'))!;
    const q = new URL(ding.path, 'http://x').searchParams;
    expect(q.get('access_token')).toBe('t');
    expect(q.get('sign')).toBe(
      createHmac('sha256', DING_SECRET)
        .update(`${q.get('timestamp')}\n${DING_SECRET}`)
        .digest('base64'),
    );
    expect(JSON.parse(ding.body)).toMatchObject({
      msgtype: 'markdown',
      markdown: { title: '[CRITICAL] queue-long', text: expect.stringContaining('queue-long') },
    });
    const wecom = ok.got.find((g) => g.path.startsWith('/cgi-bin/webhook/send'))!;
    expect(JSON.parse(wecom.body)).toMatchObject({ msgtype: 'markdown', markdown: { content: expect.stringContaining('queue-long') } });
    expect(ok.got.some((g) => g.path === '/sales')).toBe(false);

    const log = (await app.data(OpsAlertDeliveriesDocument, { alertId, first: 20 }, manager.token)).alertDeliveries.nodes;
    expect(
      log
        .filter((d) => d.outcome === 'DELIVERED')
        .map((d) => d.webhook)
        .sort(),
    ).toEqual(['ding', 'ops-json', 'wecom']);
    expect((await app.exec(OpsAlertDeliveriesDocument, { alertId }, otherManager.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('gives up on a receiver that answers 500 after the configured attempts, leaving the alert as it was', async () => {
    await eventually(() => broken.got.length >= 6, 40_000, 'three attempts for each of the two alerts');
    await new Promise((r) => setTimeout(r, 5000)); // no fourth attempt comes
    expect(broken.got).toHaveLength(6);
    const log = (await app.data(OpsAlertDeliveriesDocument, { alertId, first: 20 }, manager.token)).alertDeliveries.nodes.filter(
      (d) => d.webhook === 'broken',
    );
    expect(log.map((d) => [d.attempt, d.outcome, d.responseStatus, d.error]).sort()).toEqual([
      [1, 'FAILED', 500, 'HTTP 500'],
      [2, 'FAILED', 500, 'HTTP 500'],
      [3, 'FAILED', 500, 'HTTP 500'],
    ]);
    expect((await unresolved())[0]).toEqual({ id: alertId, status: 'ACKNOWLEDGED' });
  });

  it('refuses alertRaised out of scope', async () => {
    for (const [token, departmentId] of [
      [agent.token, null],
      [customer.token, null],
      [manager.token, other.id],
    ] as const) {
      const sub = subscribe(app.ws(token), OpsAlertRaisedDocument, { departmentId });
      const first = await sub.next(5000).catch(() => null);
      const errors = first?.errors ?? (sub.error as readonly { extensions?: { code?: string } }[] | null);
      expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });
});
