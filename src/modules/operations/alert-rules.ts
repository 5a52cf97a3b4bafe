/**
 * Alert rules and webhooks (ALERT_RULES_FILE; default the shipped `config/alerts.json`), read once at start-up by
 * loadConfig. Any problem is an Error naming the file, the rule (or webhook) and the field.
 */

/**
 * What a rule can watch. `department` metrics are evaluated per department; `cluster` ones once for all.
 * What each measures, in words: the catalogue's `alert.metric.<name>` (src/platform/i18n/notification-messages.ts).
 */
export const ALERT_METRICS = {
  queue_length: { level: 'department' },
  avg_first_response_seconds: { level: 'department' },
  satisfaction: { level: 'department' },
  utilisation: { level: 'department' },
  on_shift_offline_seconds: { level: 'department' },
  sla_breaches_per_hour: { level: 'department' },
  error_rate: { level: 'cluster' },
} as const;
export type AlertMetric = keyof typeof ALERT_METRICS;

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const WEBHOOK_KINDS = ['generic', 'dingtalk', 'wecom'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export interface AlertRule {
  name: string;
  metric: AlertMetric;
  /** Fires while `value op threshold` holds. */
  op: '>' | '<';
  threshold: number;
  severity: Severity;
  /** The condition must hold this long before the alert opens. */
  forSeconds: number;
  /** ... and be clear this long before it resolves (hysteresis: no re-fire in between). */
  clearForSeconds: number;
  /** Department codes the rule watches; null: every department. Ignored by cluster metrics. */
  departments: string[] | null;
}

export interface AlertWebhook {
  name: string;
  kind: WebhookKind;
  url: string;
  /** generic: HMAC-SHA256 key; dingtalk: the robot's "加签" secret. Optional. */
  secret: string | null;
  /** Only alerts of these severities (null: all). */
  severities: Severity[] | null;
  /** Only alerts of these department codes (null: all, cluster alerts included). */
  departments: string[] | null;
}

export interface AlertSettings {
  source: string;
  rules: readonly AlertRule[];
  webhooks: readonly AlertWebhook[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const DURATION = /^(\d+)(s|m|h)$/;

/** `"30s"`, `"10m"`, `"1h"` or a number of seconds. */
function seconds(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null;
  const m = typeof v === 'string' ? DURATION.exec(v) : null;
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

function codes(v: unknown): string[] | null | undefined {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((c) => typeof c !== 'string' || !c)) return undefined;
  return v as string[];
}

export function parseAlertSettings(raw: unknown, source: string): AlertSettings {
  const fail = (where: string, message: string) => new Error(`${source}: ${where} ${message}`);
  if (!isRecord(raw) || !Array.isArray(raw.rules)) throw fail('rules', 'must be a list of rules');
  const names = new Set<string>();
  const rules = raw.rules.map((r, i): AlertRule => {
    const at = `rule ${isRecord(r) && typeof r.name === 'string' ? `"${r.name}"` : `#${i + 1}`}`;
    if (!isRecord(r)) throw fail(at, 'must be an object');
    if (typeof r.name !== 'string' || !NAME.test(r.name)) throw fail(at, 'name must be lowercase letters, digits, _ or - (at most 64)');
    if (names.has(r.name)) throw fail(at, 'name is used twice');
    names.add(r.name);
    if (typeof r.metric !== 'string' || !(r.metric in ALERT_METRICS)) {
      throw fail(at, `metric "${String(r.metric)}" is unknown (known: ${Object.keys(ALERT_METRICS).join(', ')})`);
    }
    if (r.op !== '>' && r.op !== '<') throw fail(at, 'op must be ">" or "<"');
    if (typeof r.threshold !== 'number' || !Number.isFinite(r.threshold)) throw fail(at, 'threshold must be a number');
    if (r.threshold < 0) throw fail(at, `threshold ${r.threshold} is negative`);
    const severity = r.severity ?? 'warning';
    if (!SEVERITIES.includes(severity as Severity)) throw fail(at, `severity must be one of ${SEVERITIES.join(', ')}`);
    const forSeconds = seconds(r.for ?? 0);
    if (forSeconds === null) throw fail(at, 'for must be a duration such as "30s", "5m" or a whole number of seconds');
    const clearForSeconds = seconds(r.clearFor ?? '1m');
    if (clearForSeconds === null) throw fail(at, 'clearFor must be a duration such as "30s", "5m" or a whole number of seconds');
    const departments = codes(r.departments);
    if (departments === undefined) throw fail(at, 'departments must be a list of department codes (or absent: all)');
    return {
      name: r.name,
      metric: r.metric as AlertMetric,
      op: r.op,
      threshold: r.threshold,
      severity: severity as Severity,
      forSeconds,
      clearForSeconds,
      departments,
    };
  });

  const hooks = raw.webhooks ?? [];
  if (!Array.isArray(hooks)) throw fail('webhooks', 'must be a list');
  const hookNames = new Set<string>();
  const webhooks = hooks.map((w, i): AlertWebhook => {
    const at = `webhook ${isRecord(w) && typeof w.name === 'string' ? `"${w.name}"` : `#${i + 1}`}`;
    if (!isRecord(w)) throw fail(at, 'must be an object');
    if (typeof w.name !== 'string' || !NAME.test(w.name)) throw fail(at, 'name must be lowercase letters, digits, _ or - (at most 64)');
    if (hookNames.has(w.name)) throw fail(at, 'name is used twice');
    hookNames.add(w.name);
    if (!WEBHOOK_KINDS.includes(w.kind as WebhookKind)) throw fail(at, `kind must be one of ${WEBHOOK_KINDS.join(', ')}`);
    if (!isHttpUrl(w.url)) throw fail(at, 'url must be an http:// or https:// URL');
    if (w.secret !== undefined && w.secret !== null && (typeof w.secret !== 'string' || !w.secret))
      throw fail(at, 'secret must be a non-empty string');
    const severities = codes(w.severities);
    if (severities === undefined || severities?.some((s) => !SEVERITIES.includes(s as Severity))) {
      throw fail(at, `severities must be a list of ${SEVERITIES.join(', ')}`);
    }
    const departments = codes(w.departments);
    if (departments === undefined) throw fail(at, 'departments must be a list of department codes (or absent: all)');
    return {
      name: w.name,
      kind: w.kind as WebhookKind,
      url: w.url as string,
      secret: (w.secret as string | undefined) ?? null,
      severities: severities as Severity[] | null,
      departments,
    };
  });
  return { source, rules, webhooks };
}

export function isHttpUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && Boolean(u.hostname);
  } catch {
    return false;
  }
}

/** Whether `value` breaks the rule; no value (nothing to measure, e.g. no ratings yet) never does. */
export function breaches(rule: Pick<AlertRule, 'op' | 'threshold'>, value: number | null): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  return rule.op === '>' ? value > rule.threshold : value < rule.threshold;
}
