import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../../platform/auth/roles';
import { MessageId, render as renderText } from '../../platform/i18n/catalogue';
import { ChosenLocale, chooseLocale, Locale, supportedLocale } from '../../platform/i18n/locales';
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

  /**
   * NOT_FOUND / FORBIDDEN as conversation(id). In the reader's language: their stored locale, else `requested`
   * (Accept-Language), else, for the conversation's customer, the language it was held in, else the role's default.
   */
  async render(
    em: EntityManager,
    viewer: Viewer,
    conversationId: string,
    requested: string | null,
  ): Promise<{ html: string; chosen: ChosenLocale }> {
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
    const held = viewer.id === c.customerId && c.locale ? (supportedLocale(c.locale) ?? undefined) : undefined;
    const chosen = chooseLocale(viewer.locale, requested, viewer.role, held);
    return { html: page(c, messages, users, this.piiRules, chosen.locale), chosen };
  }
}

function page(c: Conversation, messages: Message[], names: Map<string, string>, rules: PiiRules, locale: Locale): string {
  const t = (id: MessageId, params?: Record<string, string>) => escapeHtml(renderText({ id, params }, locale));
  const system = renderText({ id: 'chat.systemSender' }, locale);
  const who = (m: Message) => (m.senderId ? (names.get(m.senderId) ?? m.senderRole ?? '') : system);
  const rows = messages
    .map((m) => {
      const text = m.piiTypes === null || m.piiTypes.length ? maskText(m.content, rules) : m.content;
      return `<tr class="${m.kind === 'SYSTEM' ? 'system' : ''}"><td>${m.seq}</td><td>${escapeHtml(m.createdAt.toISOString())}</td><td>${escapeHtml(who(m))}</td><td>${escapeHtml(text)}</td></tr>`;
    })
    .join('\n');
  // Labels in the reader's language; values (ids, the status code, times, names) as they are.
  const facts: Array<[MessageId, string]> = [
    ['transcript.conversation', c.id],
    ['transcript.topic', c.topic],
    ['transcript.customer', names.get(c.customerId) ?? c.customerId],
    ['transcript.agent', c.agentId ? (names.get(c.agentId) ?? c.agentId) : '—'],
    ['transcript.status', isArchived(c) ? renderText({ id: 'transcript.archived', params: { status: c.status } }, locale) : c.status],
    ['transcript.created', c.createdAt.toISOString()],
    ['transcript.ended', c.endedAt ? c.endedAt.toISOString() : '—'],
    ['transcript.rating', c.rating ? String(c.rating) : '—'],
  ];
  return `<!DOCTYPE html>
<html lang="${locale}"><head><meta charset="utf-8"><title>${t('transcript.title', { id: c.id })}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
tr.system td{color:#666;font-style:italic}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
@media print{body{margin:0}tr{page-break-inside:avoid}}
</style></head><body>
<h1>${t('transcript.heading')}</h1>
<dl>${facts.map(([k, v]) => `<dt>${t(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
<table><thead><tr><th>#</th><th>${t('transcript.time')}</th><th>${t('transcript.from')}</th><th>${t('transcript.message')}</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
