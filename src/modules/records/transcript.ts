import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../../platform/auth/roles';
import { render as renderText } from '../../platform/i18n/catalogue';
import { chooseLocale } from '../../platform/i18n/locales';
import { User } from '../accounts/user.entity';
import type { ChatService } from '../conversations/chat.service';
import type { Conversation } from '../conversations/conversation.entity';
import type { Message } from '../conversations/message.entity';
import { isArchived } from './archived-records';
import { maskText } from './masking';
import type { PiiRules } from './pii-rules';
import { escapeHtml } from './search.service';

/** A transcript holds at most this many messages (far more than any real chat). */
const MAX_MESSAGES = 20_000;
const PAGE = 200;

/**
 * One conversation as a printable HTML page (GET /conversations/:id/transcript): for its customer, its agent
 * and staff in scope, archived or not; masked text only, every value escaped. The page carries its own
 * print styles and no scripts.
 */
export class TranscriptService {
  constructor(
    private readonly chat: ChatService,
    private readonly piiRules: PiiRules,
  ) {}

  /** NOT_FOUND / FORBIDDEN as conversation(id). */
  async render(em: EntityManager, viewer: Viewer, conversationId: string): Promise<string> {
    const scope = { viewer, em, traceId: '', logger: undefined as never, ip: '' };
    const c = await this.chat.readable(em, viewer, conversationId);
    const messages: Message[] = [];
    for (let after = 0; messages.length < MAX_MESSAGES;) {
      const page = await this.chat.messages(scope, c.id, after, PAGE);
      messages.push(...page.messages);
      if (!page.hasMore || !page.messages.length) break;
      after = page.messages[page.messages.length - 1].seq;
    }
    const users = new Map(
      (await em.find(User, { id: [c.customerId, ...(c.agentId ? [c.agentId] : [])] })).map((u) => [u.id, u.displayName]),
    );
    // A plain-HTTP page (no Accept-Language read): the system's name in the viewer's stored language or role's default.
    const system = renderText({ id: 'chat.systemSender' }, chooseLocale(viewer.locale, null, viewer.role).locale);
    return page(c, messages, users, this.piiRules, system);
  }
}

function page(c: Conversation, messages: Message[], names: Map<string, string>, rules: PiiRules, system: string): string {
  const who = (m: Message) => (m.senderId ? (names.get(m.senderId) ?? m.senderRole ?? '') : system);
  const rows = messages
    .map((m) => {
      const text = m.piiTypes === null || m.piiTypes.length ? maskText(m.content, rules) : m.content;
      return `<tr class="${m.kind === 'SYSTEM' ? 'system' : ''}"><td>${m.seq}</td><td>${escapeHtml(m.createdAt.toISOString())}</td><td>${escapeHtml(who(m))}</td><td>${escapeHtml(text)}</td></tr>`;
    })
    .join('\n');
  const facts: Array<[string, string]> = [
    ['Conversation', c.id],
    ['Topic', c.topic],
    ['Customer', names.get(c.customerId) ?? c.customerId],
    ['Agent', c.agentId ? (names.get(c.agentId) ?? c.agentId) : '—'],
    ['Status', `${c.status}${isArchived(c) ? ' (archived)' : ''}`],
    ['Created', c.createdAt.toISOString()],
    ['Ended', c.endedAt ? c.endedAt.toISOString() : '—'],
    ['Rating', c.rating ? String(c.rating) : '—'],
  ];
  return `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Transcript ${escapeHtml(c.id)}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
tr.system td{color:#666;font-style:italic}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
@media print{body{margin:0}tr{page-break-inside:avoid}}
</style></head><body>
<h1>Conversation transcript</h1>
<dl>${facts.map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
<table><thead><tr><th>#</th><th>Time (UTC)</th><th>From</th><th>Message</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
