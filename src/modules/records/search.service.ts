import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { signedIn } from '../../platform/auth/scope';
import type { Role } from '../../platform/auth/roles';
import { checkCursor, checkPageSize, Page, pageOf } from '../../platform/pagination';
import { Conversation } from '../conversations/conversation.entity';
import { columnsOf, toEntities } from './archived-records';
import type { StoredFilter } from './export-job.entity';
import { maskText } from './masking';
import type { PiiRules } from './pii-rules';
import { filterSql, keywordSql, likePattern, RecordTables, scopedFilter, tablesOf } from './record-filter';
import { MATCHES_PER_HIT, SNIPPET_LENGTH } from './records.inputs';
import type { ConversationHit, ConversationSearchFilter, MessageMatch, TextRange } from './records.inputs';

/** A keyword in fewer messages than this is looked up through the index alone (see page). */
const CANDIDATE_CAP = 5000;
/** The newest conversations searched message by message before the index is asked (see page). */
const FIRST_WINDOW = 100;
/** A frequent keyword's newest conversations searched message by message (see page). */
const PROBE_WINDOW = 1000;

interface Cursor {
  createdAt: Date | string;
  id: string;
}

/**
 * searchConversations: conversations in the viewer's scope matching every condition, newest first, paged by
 * (created_at, id) like every other list; with a keyword, each hit's first matching messages, highlighted
 * in their masked text. The live and (includeArchived) the archive tables are read by one UNION ALL.
 */
export class RecordSearchService {
  constructor(
    private readonly piiRules: PiiRules,
    /** Tests set smaller ones to take each path with few rows. */
    private readonly sizes = { firstWindow: FIRST_WINDOW, candidateCap: CANDIDATE_CAP, probeWindow: PROBE_WINDOW },
  ) {}

  async search(
    scope: RequestScope,
    filter: ConversationSearchFilter,
    first: number,
    after: string | null | undefined,
    includeArchived: boolean,
  ): Promise<Page<ConversationHit>> {
    const viewer = signedIn(scope.viewer);
    checkPageSize(first);
    const props = scope.em.getMetadata().get(Conversation).properties;
    checkCursor(after, [props.createdAt, props.id]);
    const scoped = scopedFilter(viewer, filter, includeArchived, this.piiRules);
    const [afterCreatedAt, afterId] = after
      ? (JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as [string, string])
      : [null, null];

    const cursor: Cursor | null = afterId ? { createdAt: new Date(afterCreatedAt!), id: afterId } : null;
    const rows: Array<Record<string, unknown>> = [];
    for (const tables of tablesOf(scoped)) rows.push(...(await this.page(scope.em, scoped, tables, first + 1, cursor)));
    // Newest first across the live and the archived part (uuids compare as PostgreSQL orders them).
    rows.sort(
      (a, b) => +new Date(b.created_at as string) - +new Date(a.created_at as string) || (a.id! < b.id! ? 1 : a.id! > b.id! ? -1 : 0),
    );
    rows.splice(first + 1);
    const archivedIds = new Set(rows.filter((r) => r.archived).map((r) => r.id as string));
    const conversations = toEntities(scope.em, Conversation, rows.slice(0, first), (r) => Boolean(r.archived));
    const matches = scoped.keyword ? await this.matches(scope.em, scoped, conversations, archivedIds) : new Map<string, MessageMatch[]>();
    return pageOf(
      conversations.map((c) => ({ conversation: c, archived: archivedIds.has(c.id), matches: matches.get(c.id) ?? [] })),
      rows.length > first,
      ({ conversation: c }) => Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url'),
    );
  }

  /**
   * Up to `limit` conversations of one part (live or archive), newest first. A keyword is looked up in three
   * steps, as the planner cannot tell a rare keyword from a frequent one (it multiplies the frequencies of
   * the keyword's bigrams and of the ILIKE, and then either fetches and sorts every candidate of a frequent
   * keyword, or reads every message of the table for a rare one):
   * 1. the newest FIRST_WINDOW conversations in scope, read message by message (LATERAL … LIMIT 1 through
   *    (conversation_id, seq)): a frequent keyword fills the page there at once;
   * 2. the bigram index, stopping at CANDIDATE_CAP matching messages: fewer means these are all, and the page
   *    is those conversations that pass the other conditions;
   * 3. otherwise the keyword is frequent but not recent: the newest PROBE_WINDOW conversations as in 1, and
   *    what is left from the index among older conversations.
   */
  private async page(
    em: EntityManager,
    filter: StoredFilter,
    tables: RecordTables,
    limit: number,
    cursor: Cursor | null,
  ): Promise<Array<Record<string, unknown>>> {
    const columns = `${columnsOf(em, Conversation, 'c')}, ${tables.archived} AS archived`;
    const before = (until: Cursor | null) => (until ? ' AND (c.created_at, c.id) < (?::timestamptz, ?)' : '');
    const beforeParams = (until: Cursor | null) => (until ? [until.createdAt, until.id] : []);
    const select = (where: string, params: unknown[], until: Cursor | null, n: number) =>
      em.execute<Array<Record<string, unknown>>>(
        `SELECT ${columns} FROM ${tables.conversations} c WHERE ${where}${before(until)} ORDER BY c.created_at DESC, c.id DESC LIMIT ?`,
        [...params, ...beforeParams(until), n],
      );
    if (!filter.keyword) {
      const { where, params } = filterSql(filter, tables);
      return select(where, params, cursor, limit);
    }
    const plain = filterSql({ ...filter, keyword: null }, tables);
    const recent = (window: number) =>
      em.execute<Array<Record<string, unknown>>>(
        `SELECT c.* FROM (SELECT ${columns} FROM ${tables.conversations} c WHERE ${plain.where}${before(cursor)}
                            ORDER BY c.created_at DESC, c.id DESC LIMIT ?) c
          CROSS JOIN LATERAL (SELECT 1 FROM ${tables.messages} m WHERE m.conversation_id = c.id AND m.content ILIKE ? LIMIT 1) hit
          ORDER BY c.created_at DESC, c.id DESC LIMIT ?`,
        [...plain.params, ...beforeParams(cursor), window, likePattern(filter.keyword!), limit],
      );
    const first = await recent(this.sizes.firstWindow);
    if (first.length >= limit) return first;

    const match = keywordSql(filter.keyword);
    const [found] = await em.execute<Array<{ n: number; ids: string | null }>>(
      `SELECT count(*)::int AS n, array_agg(DISTINCT conversation_id)::text AS ids
         FROM (SELECT m.conversation_id FROM ${tables.messages} m WHERE ${match.sql} LIMIT ?) m`,
      [...match.params, this.sizes.candidateCap],
    );
    if (found.n < this.sizes.candidateCap)
      return found.ids ? select(`${plain.where} AND c.id = ANY(?::uuid[])`, [...plain.params, found.ids], cursor, limit) : [];

    const probe = await recent(this.sizes.probeWindow);
    if (probe.length >= limit) return probe;
    // Where the window ended (as text: a Date would drop the microseconds); none: it held every conversation.
    const [end] = await em.execute<Array<{ created_at: string; id: string }>>(
      `SELECT c.created_at::text AS created_at, c.id FROM ${tables.conversations} c WHERE ${plain.where}${before(cursor)}
        ORDER BY c.created_at DESC, c.id DESC OFFSET ? LIMIT 1`,
      [...plain.params, ...beforeParams(cursor), this.sizes.probeWindow - 1],
    );
    if (!end) return probe;
    const { where, params } = filterSql(filter, tables);
    return [...probe, ...(await select(where, params, { createdAt: end.created_at, id: end.id }, limit - probe.length))];
  }

  /** The first matching messages of each hit, oldest first, in masked text. */
  private async matches(
    em: EntityManager,
    filter: StoredFilter,
    hits: Conversation[],
    archivedIds: Set<string>,
  ): Promise<Map<string, MessageMatch[]>> {
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
    return {
      messageId: row.id,
      seq: row.seq,
      senderRole: row.sender_role,
      createdAt: new Date(row.created_at),
      snippet,
      ranges,
      highlighted: toHtml(snippet, ranges),
    };
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
