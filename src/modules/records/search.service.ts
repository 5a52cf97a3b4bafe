import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../context';
import { signedIn } from '../../platform/auth/scope';
import type { Role } from '../../platform/auth/roles';
import { checkCursor, checkPageSize, Page } from '../../platform/pagination';
import { Conversation } from '../conversations/conversation.entity';
import { columnsOf, toEntities } from './archived-records';
import type { StoredFilter } from './export-job.entity';
import { maskText } from './masking';
import type { PiiRules } from './pii-rules';
import { filterSql, likePattern, RecordTables, scopedFilter, tablesOf } from './record-filter';
import type { ConversationHit, ConversationSearchFilter, MessageMatch, TextRange } from './records.inputs';

const MATCHES_PER_HIT = 5;
const SNIPPET_LENGTH = 160;

/**
 * searchConversations: conversations in the viewer's scope matching every condition, newest first, paged by
 * (created_at, id) like every other list; with a keyword, each hit's first matching messages, highlighted
 * in their masked text. The live and (includeArchived) the archive tables are read by one UNION ALL.
 */
export class RecordSearchService {
  constructor(private readonly piiRules: PiiRules) {}

  async search(scope: RequestScope, filter: ConversationSearchFilter, first: number, after: string | null | undefined, includeArchived: boolean): Promise<Page<ConversationHit>> {
    const viewer = signedIn(scope.viewer);
    checkPageSize(first);
    const props = scope.em.getMetadata().get(Conversation).properties;
    checkCursor(after, [props.createdAt, props.id]);
    const scoped = scopedFilter(viewer, filter, includeArchived);
    const [afterCreatedAt, afterId] = after ? (JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as [string, string]) : [null, null];

    const parts: string[] = [];
    const params: unknown[] = [];
    for (const tables of tablesOf(scoped)) {
      const { where, params: p } = filterSql(scoped, tables);
      const page = afterId ? ' AND (c.created_at, c.id) < (?, ?)' : '';
      // Each part ordered and limited on its own, so each can walk its index and stop early.
      parts.push(
        `(SELECT ${columnsOf(scope.em, Conversation, 'c')}, ${tables.archived} AS archived FROM ${tables.conversations} c
          WHERE ${where}${page} ORDER BY c.created_at DESC, c.id DESC LIMIT ?)`,
      );
      params.push(...p, ...(afterId ? [new Date(afterCreatedAt!), afterId] : []), first + 1);
    }
    const rows = await scope.em.execute<Array<Record<string, unknown>>>(
      `SELECT * FROM (${parts.join(' UNION ALL ')}) hits ORDER BY created_at DESC, id DESC LIMIT ?`,
      [...params, first + 1],
    );
    const archivedIds = new Set(rows.filter((r) => r.archived).map((r) => r.id as string));
    const conversations = toEntities(scope.em, Conversation, rows.slice(0, first), (r) => Boolean(r.archived));
    const matches = scoped.keyword ? await this.matches(scope.em, scoped, conversations, archivedIds) : new Map<string, MessageMatch[]>();
    const last = conversations[conversations.length - 1];
    return {
      nodes: conversations.map((c) => ({ conversation: c, archived: archivedIds.has(c.id), matches: matches.get(c.id) ?? [] })),
      pageInfo: {
        hasNextPage: rows.length > first,
        endCursor: last ? Buffer.from(JSON.stringify([last.createdAt.toISOString(), last.id])).toString('base64url') : null,
      },
    };
  }

  /** The first matching messages of each hit, oldest first, in masked text. */
  private async matches(em: EntityManager, filter: StoredFilter, hits: Conversation[], archivedIds: Set<string>): Promise<Map<string, MessageMatch[]>> {
    const out = new Map<string, MessageMatch[]>();
    for (const tables of tablesOf(filter)) {
      const ids = hits.filter((c) => archivedIds.has(c.id) === tables.archived).map((c) => c.id);
      if (!ids.length) continue;
      for (const row of await matchingMessages(em, tables, ids, filter.keyword!)) {
        const list = out.get(row.conversation_id) ?? [];
        list.push(this.highlight(row, filter.keyword!));
        out.set(row.conversation_id, list);
      }
    }
    return out;
  }

  private highlight(row: MatchRow, keyword: string): MessageMatch {
    // Masked again here (idempotent): what is shown is the masked text whatever the column holds.
    const text = row.pii_types === null || row.pii_types.length ? maskText(row.content, this.piiRules) : row.content;
    const { snippet, ranges } = snippetAround(text, keyword);
    return { messageId: row.id, seq: row.seq, senderRole: row.sender_role, createdAt: new Date(row.created_at), snippet, ranges, highlighted: toHtml(snippet, ranges) };
  }
}

interface MatchRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_role: Role | null;
  created_at: Date | string;
  content: string;
  pii_types: string[] | null;
}

function matchingMessages(em: EntityManager, tables: RecordTables, conversationIds: string[], keyword: string): Promise<MatchRow[]> {
  // The conversations are few (one page): their messages are read by (conversation_id, seq), the text compared directly.
  return em.execute<MatchRow[]>(
    `SELECT id, conversation_id, seq, sender_role, created_at, content, pii_types FROM (
       SELECT m.*, row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.seq) AS n
         FROM ${tables.messages} m
        WHERE m.conversation_id = ANY(?::uuid[]) AND m.content ILIKE ?
     ) found WHERE n <= ? ORDER BY conversation_id, seq`,
    [`{${conversationIds.join(',')}}`, likePattern(keyword), MATCHES_PER_HIT],
  );
}

/** A window of the text around the first match, and every match inside it (case-insensitive, as ILIKE). */
export function snippetAround(text: string, keyword: string): { snippet: string; ranges: TextRange[] } {
  const lower = text.toLowerCase();
  const needle = keyword.toLowerCase();
  const first = lower.indexOf(needle);
  let start = 0;
  if (first > 0 && text.length > SNIPPET_LENGTH) start = Math.max(0, Math.min(first - 40, text.length - SNIPPET_LENGTH));
  const end = Math.min(text.length, start + SNIPPET_LENGTH);
  const prefix = start > 0 ? '…' : '';
  const snippet = prefix + text.slice(start, end) + (end < text.length ? '…' : '');
  const ranges: TextRange[] = [];
  if (needle.length) {
    for (let at = lower.indexOf(needle, start); at >= 0 && at + needle.length <= end; at = lower.indexOf(needle, at + needle.length)) {
      ranges.push({ start: at - start + prefix.length, length: needle.length });
    }
  }
  return { snippet, ranges };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

function toHtml(snippet: string, ranges: TextRange[]): string {
  let out = '';
  let at = 0;
  for (const r of ranges) {
    out += escapeHtml(snippet.slice(at, r.start)) + '<mark>' + escapeHtml(snippet.slice(r.start, r.start + r.length)) + '</mark>';
    at = r.start + r.length;
  }
  return out + escapeHtml(snippet.slice(at));
}
