import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, TestApp } from '../support/harness';
import { RequestServiceDocument } from '../generated/graphql';

const DEPLOY = path.join(__dirname, '../../deploy');
const METRIC_NAME = /\b((?:shiftdesk|process|nodejs)_[a-zA-Z0-9_]+)/g;

/** The metric families a live /metrics declares (`# TYPE name kind`). */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], m[2]);
  return out;
}

/** Whether `name` is a series of a declared family (histograms add _bucket, _sum and _count). */
function exported(name: string, declared: Map<string, string>): boolean {
  if (declared.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && ['histogram', 'summary'].includes(declared.get(base) ?? '');
}

function promtool(...args: string[]): string {
  const which = spawnSync('promtool', ['--version']);
  if (which.status !== 0)
    throw new Error('promtool is missing: install the Debian package `prometheus` (apt-get install prometheus); .ci/run does');
  return execFileSync('promtool', args, { cwd: path.join(DEPLOY, 'prometheus'), encoding: 'utf8' });
}

describe('Prometheus gauges, rules and the Grafana dashboard', () => {
  let app: TestApp;
  let metricsText: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { ALERT_EVALUATE_SECONDS: '3600' } });
    await app.createDepartment('订单问题', 'order');
    const customer = await app.createUser({ role: 'CUSTOMER' });
    await app.data(RequestServiceDocument, { input: { topic: 'order', message: '在吗' } }, customer.token);
    await app.services.alertEvaluator.evaluate();
    metricsText = await (await fetch(app.url.replace(/\/graphql$/, '/metrics'))).text();
  });
  afterAll(() => app.stop());

  it('exports the service figures per department, clients per role and open alerts', () => {
    expect(metricsText).toMatch(/^shiftdesk_queue_length\{department="order"\} 1$/m);
    expect(metricsText).toMatch(/^# TYPE shiftdesk_agent_utilisation gauge$/m);
    expect(metricsText).toMatch(/^# TYPE shiftdesk_first_response_seconds gauge$/m);
    expect(metricsText).toMatch(/^# TYPE shiftdesk_satisfaction gauge$/m);
    for (const role of ['ADMIN', 'MANAGER', 'AGENT', 'CUSTOMER'])
      expect(metricsText).toMatch(new RegExp(`^shiftdesk_connected_clients\\{role="${role}"\\} 0$`, 'm'));
    for (const severity of ['info', 'warning', 'critical'])
      expect(metricsText).toMatch(new RegExp(`^shiftdesk_open_alerts\\{severity="${severity}"\\} 0$`, 'm'));
  });

  it('drops the service figures once they are stale (another process evaluates now)', async () => {
    app.services.metrics.serviceFiguresTtlMs = 0;
    app.services.metrics.setServiceFigures([
      { department: 'order', queueLength: 3, utilisation: null, firstResponseSeconds: null, satisfaction: null },
    ]);
    await new Promise((r) => setTimeout(r, 5)); // time passing is the behaviour: with a TTL of 0 the figures are now stale
    const text = await app.services.metrics.registry.metrics();
    expect(text).not.toMatch(/^shiftdesk_queue_length\{/m);
  });

  it('has alert rules that promtool checks and whose unit tests pass', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
    expect(promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });

  it('has alert rules that use only metrics ShiftDesk exports', () => {
    const declared = families(metricsText);
    const names = [
      ...new Set([...readFileSync(path.join(DEPLOY, 'prometheus/alerts.yml'), 'utf8').matchAll(METRIC_NAME)].map((m) => m[1])),
    ];
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !exported(n, declared))).toEqual([]);
  });

  it('has a Grafana dashboard that parses, covers the reference panels and queries only exported metrics', () => {
    const dashboard = JSON.parse(readFileSync(path.join(DEPLOY, 'grafana/shiftdesk.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toBe('shiftdesk');
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'System',
      'Application',
      'Database',
      'Redis',
      'Per operation',
    ]);
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    const names = [...new Set(exprs.flatMap((e) => [...e.matchAll(METRIC_NAME)].map((m) => m[1])))];
    const declared = families(metricsText);
    expect(names.filter((n) => !exported(n, declared))).toEqual([]);
    // Each of the figures the issue names has a panel.
    for (const n of [
      'shiftdesk_queue_length',
      'shiftdesk_agent_utilisation',
      'shiftdesk_first_response_seconds',
      'shiftdesk_satisfaction',
      'shiftdesk_connected_clients',
      'shiftdesk_open_alerts',
    ]) {
      expect(names).toContain(n);
    }
  });
});
