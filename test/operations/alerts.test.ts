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
  let other: { id: string };
  let elsewhere: { id: string };
  let otherManager: Person;
  let agent: Person;
  let outsider: Person;
  // The evaluator's clock, ahead of the wall clock; every episode gets a stretch of its own after the last one
  // taken, so each test's steps are later than any earlier evaluation whatever order the tests run in.
  let clock = Date.now() + 3_600_000;
  let episodes = 0;

  /** A department of its own (every department is watched by the rule), its manager and a customer. */
  const episode = async () => {
    const n = ++episodes;
    const start = clock;
    clock += 10_000_000;
    const dept = await app.createDepartment(`订单-${n}-组`, `order_${n}`);
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const at = (seconds: number, on: TestApp = app) => on.services.alertEvaluator.evaluate(new Date(start + seconds * 1000));
    const queue = async () => {
      const r = await app.data(RequestServiceDocument, { input: { topic: dept.code, message: '在吗' } }, customer.token);
      expect(r.requestService.status).toBe('QUEUED');
    };
    const leave = () => app.data(LeaveQueueDocument, {}, customer.token);
    const unresolved = async () =>
      (await app.services.orm.em
        .fork()
        .execute(`SELECT id, status FROM alerts WHERE department_id = ? AND status <> 'RESOLVED'`, [dept.id])) as Array<{
        id: string;
        status: string;
      }>;
    const count = async () =>
      (
        (await app.services.orm.em.fork().execute(`SELECT count(*)::int AS n FROM alerts WHERE department_id = ?`, [dept.id])) as [
          { n: number },
        ]
      )[0].n;
    /** Queues the customer and evaluates past the rule's 60 s: the department's alert opens. */
    const raise = async (from = 0) => {
      await queue();
      await at(from);
      await at(from + 61);
      const open = await unresolved();
      expect(open).toHaveLength(1);
      return open[0].id;
    };
    return { dept, manager, customer, at, queue, leave, unresolved, count, raise };
  };

  beforeAll(async () => {
    ok = await receiver(200);
    broken = await receiver(500);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-alerts-'));
    const rulesFile = path.join(dir, 'alerts.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({
        rules: [{ name: 'queue-long', metric: 'queue_length', op: '>', threshold: 0, severity: 'critical', for: '60s', clearFor: '2m' }],
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
    // Read-only for every test: two departments that never alert (nobody queues there), its manager, an agent, a customer.
    other = await app.createDepartment('售前咨询', 'sales');
    elsewhere = await app.createDepartment('售后服务', 'aftersales');
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: other.id });
    outsider = await app.createUser({ role: 'CUSTOMER' });
  });
  afterAll(async () => {
    await second?.stop();
    await app?.stop();
    ok?.server.close();
    broken?.server.close();
  });

  /** The generic webhook's requests for one alert (other tests' alerts go to the same receivers). */
  const genericFor = (got: Received[], alertId: string) =>
    got.filter((g) => (JSON.parse(g.body) as { alert?: { id?: string } }).alert?.id === alertId);

  it('opens once the condition has held for its duration, and tells subscribers and the department', async () => {
    const e = await episode();
    const live = watchSubscriptions(app.services.pubsub);
    const adminToken = await app.adminToken();
    const managerSub = subscribe(app.ws(e.manager.token), OpsAlertRaisedDocument, {});
    const adminSub = subscribe(app.ws(adminToken), OpsAlertRaisedDocument, { departmentId: null });
    const otherSub = subscribe(app.ws(otherManager.token), OpsAlertRaisedDocument, {});
    await live.until(3);
    await e.queue();
    expect(await e.at(0)).toBe(true);
    expect(await e.at(30)).toBe(true);
    expect(await e.unresolved()).toEqual([]);
    await e.at(61);
    const open = await e.unresolved();
    expect(open).toHaveLength(1);
    const alertId = open[0].id;

    const pushed = (await managerSub.next(5000)).data!.alertRaised;
    expect(pushed).toMatchObject({
      id: alertId,
      rule: 'queue-long',
      metric: 'queue_length',
      departmentId: e.dept.id,
      severity: 'critical',
      status: 'OPEN',
      value: 1,
      threshold: 0,
    });
    // The admin hears every department: an alert another test left pending may open in the same evaluation.
    let seenByAdmin = (await adminSub.next(5000)).data!.alertRaised;
    while (seenByAdmin.id !== alertId) seenByAdmin = (await adminSub.next(5000)).data!.alertRaised;
    expect(seenByAdmin.departmentId).toBe(e.dept.id);
    await expect(otherSub.next(500)).rejects.toThrow(/no event/);

    const notes = (await app.data(NotificationsDocument, { first: 10 }, e.manager.token)).notifications.nodes;
    expect(notes).toEqual([expect.objectContaining({ kind: 'ALERT', title: '[critical] queue-long' })]);
    expect(
      (await app.data(NotificationsDocument, { first: 50 }, adminToken)).notifications.nodes.filter(
        (n) => n.kind === 'ALERT' && n.body.includes(e.dept.name),
      ),
    ).toHaveLength(1);
    expect((await app.data(NotificationsDocument, { first: 10 }, otherManager.token)).notifications.nodes).toEqual([]);
    for (const s of [managerSub, adminSub, otherSub]) s.unsubscribe();
  });

  it('does not fire again while the episode lasts, even when it flaps (hysteresis), and resolves once clear long enough', async () => {
    const e = await episode();
    const alertId = await e.raise();
    await e.at(70);
    await e.leave();
    await e.at(80); // clear: CLEARING, still open
    expect((await e.unresolved()).map((a) => a.id)).toEqual([alertId]);
    await e.queue();
    await e.at(100); // back: FIRING again, no second alert
    await e.leave();
    await e.at(110);
    await e.at(200); // clear for 90 s < 2 min
    expect((await e.unresolved()).map((a) => a.id)).toEqual([alertId]);
    await e.at(231);
    expect(await e.unresolved()).toEqual([]);
    expect(await e.count()).toBe(1);
    const resolved = (await app.data(OpsAlertsDocument, { status: 'RESOLVED' }, e.manager.token)).alerts.nodes;
    expect(resolved.map((a) => a.id)).toEqual([alertId]);
    expect(resolved[0].resolvedAt).not.toBeNull();
  });

  it('opens one alert when evaluators of two processes race', async () => {
    const e = await episode();
    await e.queue();
    await Promise.all([e.at(300), e.at(300, second)]);
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => e.at(400 + i, i % 2 ? second : app)));
    expect(runs.some(Boolean)).toBe(true);
    expect(await e.unresolved()).toHaveLength(1);
    expect(await e.count()).toBe(1);
  });

  it('lists alerts by status for managers (their department) and admins, with cursors', async () => {
    const e = await episode();
    await e.raise();
    await e.leave();
    await e.at(70);
    await e.at(200); // clear for 130 s: the first alert is resolved
    const alertId = await e.raise(300);
    const mine = (await app.data(OpsAlertsDocument, { first: 1 }, e.manager.token)).alerts;
    expect(mine.nodes.map((a) => a.id)).toEqual([alertId]);
    expect(mine.pageInfo.hasNextPage).toBe(true);
    const next = (await app.data(OpsAlertsDocument, { first: 1, after: mine.pageInfo.endCursor }, e.manager.token)).alerts;
    expect(next.nodes).toHaveLength(1);
    expect(next.nodes[0].status).toBe('RESOLVED');
    expect(next.pageInfo.hasNextPage).toBe(false);
    const openForAdmin = (await app.data(OpsAlertsDocument, { status: 'OPEN', first: 100 }, await app.adminToken())).alerts.nodes;
    expect(openForAdmin.filter((a) => a.departmentId === e.dept.id).map((a) => a.id)).toEqual([alertId]);
    expect((await app.data(OpsAlertsDocument, {}, otherManager.token)).alerts.nodes).toEqual([]);
    for (const token of [agent.token, outsider.token]) {
      expect((await app.exec(OpsAlertsDocument, {}, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect((await app.exec(OpsAlertsDocument, { after: 'bogus' }, e.manager.token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('acknowledges an alert of the own department only, once', async () => {
    const e = await episode();
    const alertId = await e.raise();
    for (const [token, code] of [
      [otherManager.token, 'FORBIDDEN'],
      [agent.token, 'FORBIDDEN'],
      [outsider.token, 'FORBIDDEN'],
      [null, 'UNAUTHENTICATED'],
    ] as const) {
      expect((await app.exec(OpsAcknowledgeAlertDocument, { id: alertId, comment: 'mine' }, token)).errors?.[0]?.extensions?.code).toBe(
        code,
      );
    }
    expect((await e.unresolved())[0].status).toBe('OPEN'); // nothing changed
    const acked = (await app.data(OpsAcknowledgeAlertDocument, { id: alertId, comment: '  on it  ' }, e.manager.token)).acknowledgeAlert;
    expect(acked).toMatchObject({ id: alertId, status: 'ACKNOWLEDGED', acknowledgedById: e.manager.id, acknowledgeComment: 'on it' });
    expect((await app.exec(OpsAcknowledgeAlertDocument, { id: alertId }, await app.adminToken())).errors?.[0]?.extensions?.code).toBe(
      'CONFLICT',
    );
    expect(
      (await app.exec(OpsAcknowledgeAlertDocument, { id: '00000000-0000-4000-8000-000000000000' }, e.manager.token)).errors?.[0]?.extensions
        ?.code,
    ).toBe('NOT_FOUND');
    expect(
      (await app.exec(OpsAcknowledgeAlertDocument, { id: alertId, comment: 'x'.repeat(1001) }, e.manager.token)).errors?.[0]?.extensions
        ?.code,
    ).toBe('BAD_USER_INPUT');
    const [audit] = await app.services.orm.em.fork().execute(`SELECT action, comment FROM audit_entries WHERE target_id = ?`, [alertId]);
    expect(audit).toEqual({ action: 'alert.acknowledge', comment: 'on it' });
  });

  it('delivers to the webhooks in their formats, signed, and logs every attempt', async () => {
    const e = await episode();
    const alertId = await e.raise();
    const deliveries = async () =>
      (await app.data(OpsAlertDeliveriesDocument, { alertId, first: 20 }, e.manager.token)).alertDeliveries.nodes;
    // ops-json, ding and wecom, not sales-only (another department's); each attempt is logged after its answer.
    await eventually(async () => (await deliveries()).filter((d) => d.outcome === 'DELIVERED').length >= 3, 20_000, 'three deliveries');
    const generic = genericFor(ok.got, alertId);
    expect(generic).toHaveLength(1);
    for (const g of generic) {
      const ts = g.headers['x-shiftdesk-timestamp'] as string;
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
      expect(g.headers['x-shiftdesk-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${g.body}`).digest('hex')}`);
      expect(JSON.parse(g.body)).toMatchObject({
        type: 'alert',
        alert: { rule: 'queue-long', severity: 'critical', departmentCode: e.dept.code, departmentId: e.dept.id },
      });
    }
    const ofThisDepartment = ok.got.filter((g) => g.body.includes(e.dept.name));
    const ding = ofThisDepartment.find((g) => g.path.startsWith('/robot/send'))!;
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
    const wecom = ofThisDepartment.find((g) => g.path.startsWith('/cgi-bin/webhook/send'))!;
    expect(JSON.parse(wecom.body)).toMatchObject({ msgtype: 'markdown', markdown: { content: expect.stringContaining('queue-long') } });
    expect(ok.got.some((g) => g.path === '/sales')).toBe(false);

    expect(
      (await deliveries())
        .filter((d) => d.outcome === 'DELIVERED')
        .map((d) => d.webhook)
        .sort(),
    ).toEqual(['ding', 'ops-json', 'wecom']);
    expect((await app.exec(OpsAlertDeliveriesDocument, { alertId }, otherManager.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('gives up on a receiver that answers 500 after the configured attempts, leaving the alert as it was', async () => {
    const e = await episode();
    const alertId = await e.raise();
    // The job is over when pg-boss marks it failed (its retries used up): no further attempt can come after that.
    const jobState = async () =>
      (
        (await app.services.orm.em
          .fork()
          .execute(`SELECT state FROM pgboss.job WHERE name = 'alert-webhook' AND data->>'alertId' = ? AND data->>'webhook' = 'broken'`, [
            alertId,
          ])) as Array<{ state: string }>
      ).map((j) => j.state);
    await eventually(async () => (await jobState()).join() === 'failed', 40_000, 'the broken webhook job given up');
    expect(genericFor(broken.got, alertId)).toHaveLength(3);
    const log = (await app.data(OpsAlertDeliveriesDocument, { alertId, first: 20 }, e.manager.token)).alertDeliveries.nodes.filter(
      (d) => d.webhook === 'broken',
    );
    expect(log.map((d) => [d.attempt, d.outcome, d.responseStatus, d.error]).sort()).toEqual([
      [1, 'FAILED', 500, 'HTTP 500'],
      [2, 'FAILED', 500, 'HTTP 500'],
      [3, 'FAILED', 500, 'HTTP 500'],
    ]);
    expect(await e.unresolved()).toEqual([{ id: alertId, status: 'OPEN' }]);
  });

  it('refuses alertRaised out of scope', async () => {
    for (const [token, departmentId] of [
      [agent.token, null],
      [outsider.token, null],
      [otherManager.token, elsewhere.id],
    ] as const) {
      const sub = subscribe(app.ws(token), OpsAlertRaisedDocument, { departmentId });
      const first = await sub.next(5000).catch(() => null);
      const errors = first?.errors ?? (sub.error as readonly { extensions?: { code?: string } }[] | null);
      expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });
});
