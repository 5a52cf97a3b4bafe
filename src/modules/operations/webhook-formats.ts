import { createHmac } from 'node:crypto';
import { render } from '../../platform/i18n/catalogue';
import type { Locale } from '../../platform/i18n/locales';
import type { AlertWebhook } from './alert-rules';

/** What a webhook is told of an alert (`summary` in ALERT_LOCALE). */
export interface AlertPayload {
  id: string;
  rule: string;
  metric: string;
  severity: string;
  status: string;
  summary: string;
  departmentId: string | null;
  departmentCode: string | null;
  threshold: number;
  value: number;
  openedAt: string;
}

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The request for one webhook kind:
 * - generic: the payload as JSON; with a secret, `X-ShiftDesk-Timestamp` (Unix seconds) and
 *   `X-ShiftDesk-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, so a receiver can check
 *   both origin and freshness;
 * - dingtalk: a DingTalk group robot markdown message; with a secret (加签), `timestamp` (ms) and `sign`
 *   (base64 HMAC-SHA256 of `timestamp + "\n" + secret`) in the query string, as DingTalk documents;
 * - wecom: a WeCom (企业微信) group robot markdown message.
 * The robots' texts are in `locale` (ALERT_LOCALE): people read them in a group chat, with no language of their own.
 */
export function buildRequest(hook: AlertWebhook, alert: AlertPayload, locale: Locale, now = Date.now()): OutboundRequest {
  const json = { 'content-type': 'application/json' };
  const title = `[${alert.severity.toUpperCase()}] ${alert.rule}`;
  const lines = [
    `**${title}**`,
    alert.summary,
    render({ id: 'alert.push.value', params: { value: alert.value, threshold: alert.threshold } }, locale),
    render({ id: 'alert.push.opened', params: { openedAt: alert.openedAt } }, locale),
  ];
  switch (hook.kind) {
    case 'generic': {
      const body = JSON.stringify({ type: 'alert', alert });
      if (!hook.secret) return { url: hook.url, headers: json, body };
      const timestamp = String(Math.floor(now / 1000));
      return {
        url: hook.url,
        headers: {
          ...json,
          'x-shiftdesk-timestamp': timestamp,
          'x-shiftdesk-signature': `sha256=${signGeneric(hook.secret, timestamp, body)}`,
        },
        body,
      };
    }
    case 'dingtalk': {
      const body = JSON.stringify({ msgtype: 'markdown', markdown: { title, text: lines.join('\n\n') } });
      if (!hook.secret) return { url: hook.url, headers: json, body };
      const url = new URL(hook.url);
      const timestamp = String(now);
      url.searchParams.set('timestamp', timestamp);
      url.searchParams.set('sign', createHmac('sha256', hook.secret).update(`${timestamp}\n${hook.secret}`).digest('base64'));
      return { url: url.toString(), headers: json, body };
    }
    case 'wecom':
      return { url: hook.url, headers: json, body: JSON.stringify({ msgtype: 'markdown', markdown: { content: lines.join('\n') } }) };
  }
}

export function signGeneric(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** DingTalk and WeCom answer HTTP 200 with `errcode` ≠ 0 when they refuse a message. */
export function refusal(hook: AlertWebhook, responseText: string): string | null {
  if (hook.kind === 'generic') return null;
  try {
    const r = JSON.parse(responseText) as { errcode?: number; errmsg?: string };
    return r.errcode && r.errcode !== 0 ? `errcode ${r.errcode}: ${r.errmsg ?? ''}`.trim() : null;
  } catch {
    return null;
  }
}
