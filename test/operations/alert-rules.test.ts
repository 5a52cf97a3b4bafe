import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../src/config';
import { step, AlertState } from '../../src/modules/operations/alert-state';
import { breaches } from '../../src/modules/operations/alert-rules';

const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-alert-rules-'));
const rule = { name: 'queue-long', metric: 'queue_length', op: '>', threshold: 50, severity: 'critical', for: '1m' };

/** loadConfig with ALERT_RULES_FILE holding `content`; the error message, or null when it loads. */
function startUpProblem(content: unknown): string | null {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  try {
    loadConfig({ ALERT_RULES_FILE: file, DATA_DIR: dir });
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe('alert rules configuration', () => {
  it('ships the reference thresholds as defaults', () => {
    const { rules } = loadConfig({ DATA_DIR: dir }).operations.alerts;
    const byMetric = Object.fromEntries(rules.map((r) => [r.metric, r]));
    expect(byMetric.queue_length).toMatchObject({ op: '>', threshold: 50 });
    expect(byMetric.avg_first_response_seconds).toMatchObject({ op: '>', threshold: 30 });
    expect(byMetric.satisfaction).toMatchObject({ op: '<', threshold: 3.5 });
    expect(byMetric.utilisation).toMatchObject({ op: '>', threshold: 0.9 });
    expect(byMetric.on_shift_offline_seconds).toMatchObject({ op: '>', threshold: 600 });
    expect(byMetric.sla_breaches_per_hour).toBeDefined();
    expect(byMetric.error_rate).toBeDefined();
    for (const r of rules) expect(['info', 'warning', 'critical']).toContain(r.severity);
    // The shipped file is valid JSON with a comment for operators.
    expect(JSON.parse(readFileSync(path.join(__dirname, '../../config/alerts.json'), 'utf8')).$comment).toMatch(/metric/);
  });

  it('names an unknown metric at start-up', () => {
    expect(startUpProblem({ rules: [{ ...rule, metric: 'queue_size' }] })).toMatch(
      /ALERT_RULES_FILE: .*rule "queue-long" metric "queue_size" is unknown/,
    );
  });

  it('names a negative threshold at start-up', () => {
    expect(startUpProblem({ rules: [{ ...rule, threshold: -1 }] })).toMatch(/rule "queue-long" threshold -1 is negative/);
  });

  it('refuses a webhook URL that is not http(s)', () => {
    for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url']) {
      expect(startUpProblem({ rules: [rule], webhooks: [{ name: 'w', kind: 'generic', url }] })).toMatch(
        /webhook "w" url must be an http:\/\/ or https:\/\/ URL/,
      );
    }
    expect(startUpProblem({ rules: [rule], webhooks: [{ name: 'w', kind: 'generic', url: 'https://example.com/hook' }] })).toBeNull();
  });

  it('refuses other mistakes with the field named', () => {
    expect(startUpProblem({ rules: [{ ...rule, severity: 'loud' }] })).toMatch(/severity must be one of/);
    expect(startUpProblem({ rules: [{ ...rule, for: 'soon' }] })).toMatch(/for must be a duration/);
    expect(startUpProblem({ rules: [{ ...rule, op: '>=' }] })).toMatch(/op must be/);
    expect(startUpProblem({ rules: [rule, rule] })).toMatch(/name is used twice/);
    expect(startUpProblem({ rules: [rule], webhooks: [{ name: 'w', kind: 'slack', url: 'https://x.test' }] })).toMatch(
      /kind must be one of generic, dingtalk, wecom/,
    );
    expect(startUpProblem('{ not json')).toMatch(/ALERT_RULES_FILE/);
  });
});

describe('alert state machine', () => {
  const timing = { forSeconds: 60, clearForSeconds: 120 };
  const at = (s: number) => new Date(1_700_000_000_000 + s * 1000);

  it('opens after `for`, survives flapping, resolves after `clearFor`', () => {
    const seq: Array<[number, boolean]> = [
      [0, true],
      [30, true],
      [61, true],
      [70, false],
      [80, true],
      [90, false],
      [209, false],
      [211, false],
    ];
    let row: { state: AlertState; since: Date } | null = null;
    const actions: Array<[number, string | null, AlertState]> = [];
    for (const [s, breaching] of seq) {
      const next = step(row, breaching, at(s), timing);
      actions.push([s, next.action, next.state]);
      row = next;
    }
    expect(actions).toEqual([
      [0, null, 'PENDING'],
      [30, null, 'PENDING'],
      [61, 'open', 'FIRING'],
      [70, null, 'CLEARING'],
      [80, null, 'FIRING'],
      [90, null, 'CLEARING'],
      [209, null, 'CLEARING'],
      [211, 'resolve', 'OK'],
    ]);
  });

  it('opens and resolves exactly alternately, whatever the sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), fc.boolean()), { maxLength: 200 }),
        fc.nat(120),
        fc.nat(120),
        (steps, forSeconds, clearForSeconds) => {
          let row: { state: AlertState; since: Date } | null = null;
          let t = 0;
          let open = false;
          for (const [dt, breaching] of steps) {
            t += dt;
            const next = step(row, breaching, at(t), { forSeconds, clearForSeconds });
            if (next.action === 'open') {
              expect(open).toBe(false);
              open = true;
            }
            if (next.action === 'resolve') {
              expect(open).toBe(true);
              open = false;
            }
            expect(open).toBe(next.state === 'FIRING' || next.state === 'CLEARING');
            row = next;
          }
        },
      ),
    );
  });

  it('never breaches on a missing value', () => {
    expect(breaches({ op: '<', threshold: 3.5 }, null)).toBe(false);
    expect(breaches({ op: '<', threshold: 3.5 }, 3.4)).toBe(true);
    expect(breaches({ op: '>', threshold: 50 }, 50)).toBe(false);
  });
});
