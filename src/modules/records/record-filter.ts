import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden, InvalidInput } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import type { StoredFilter } from './export-job.entity';
import { maskText } from './masking';
import type { PiiRules } from './pii-rules';
import { MAX_SCORE, MIN_SCORE } from '../conversations/rating.policy';
import { ConversationSearchFilter, KEYWORD_LENGTH } from './records.inputs';

/** A manager without a department sees no conversation: an id no row has. */
const NOBODY = '00000000-0000-0000-0000-000000000000';
const WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * The filter as the viewer may use it: agents are held to their own conversations, managers to their
 * department, admins to everything; customers are refused. Asking for someone else's scope is FORBIDDEN,
 * a malformed condition BAD_USER_INPUT (every problem named at once), as is a keyword that is personal data.
 */
export function scopedFilter(viewer: Viewer, filter: ConversationSearchFilter, includeArchived: boolean, piiRules: PiiRules): StoredFilter {
  const problems: Array<{ field: string; message: string }> = [];
  for (const field of ['customerId', 'agentId', 'departmentId'] as const) {
    const id = filter[field];
    if (id && !isUuid(id)) problems.push({ field: `filter.${field}`, message: 'is not an id' });
  }
  if (filter.from && filter.to && filter.from >= filter.to) problems.push({ field: 'filter.to', message: 'must be after from' });
  if (
    filter.rating !== null &&
    filter.rating !== undefined &&
    !(Number.isInteger(filter.rating) && filter.rating >= MIN_SCORE && filter.rating <= MAX_SCORE)
  ) {
    problems.push({ field: 'filter.rating', message: `must be ${MIN_SCORE} to ${MAX_SCORE}` });
  }
  const keyword = filter.keyword?.trim() || null;
  if (filter.keyword !== null && filter.keyword !== undefined) {
    if (!keyword || keyword.length < KEYWORD_LENGTH.min || keyword.length > KEYWORD_LENGTH.max) {
      problems.push({ field: 'filter.keyword', message: `must be ${KEYWORD_LENGTH.min}–${KEYWORD_LENGTH.max} characters` });
    } else if (keywordBigrams(keyword).length === 0) {
      problems.push({ field: 'filter.keyword', message: 'must hold at least two letters or digits in a row' });
    } else if (maskText(keyword, piiRules) !== keyword) {
      // Texts hold personal data masked: such a keyword could only match an original, and would be kept in the audit.
      problems.push({
        field: 'filter.keyword',
        message: 'holds personal data (a phone, ID or card number, an e-mail address): texts keep it masked',
      });
    }
  }
  if (problems.length) throw new InvalidInput(problems);

  const scoped: StoredFilter = {
    customerId: filter.customerId ?? null,
    agentId: filter.agentId ?? null,
    departmentId: filter.departmentId ?? null,
    from: filter.from?.toISOString() ?? null,
    to: filter.to?.toISOString() ?? null,
    status: filter.status ?? null,
    rating: filter.rating ?? null,
    priority: filter.priority ?? null,
    intent: filter.intent ?? null,
    keyword,
    hasPii: filter.hasPii ?? null,
    includeArchived,
  };
  switch (viewer.role) {
    case Role.ADMIN:
      return scoped;
    case Role.MANAGER:
      if (scoped.departmentId && scoped.departmentId !== viewer.departmentId) throw new Forbidden('Managers see their own department only');
      return { ...scoped, departmentId: viewer.departmentId ?? NOBODY };
    case Role.AGENT:
      if (scoped.agentId && scoped.agentId !== viewer.id) throw new Forbidden('Agents see their own conversations only');
      return { ...scoped, agentId: viewer.id };
    default:
      throw new Forbidden('Customers cannot search or export records');
  }
}

/** The live tables, or the archive's. */
export interface RecordTables {
  conversations: 'conversations' | 'conversations_archive';
  messages: 'messages' | 'messages_archive';
  transfers: 'conversation_transfers' | 'conversation_transfers_archive';
  archived: boolean;
}
export const LIVE: RecordTables = {
  conversations: 'conversations',
  messages: 'messages',
  transfers: 'conversation_transfers',
  archived: false,
};
export const ARCHIVE: RecordTables = {
  conversations: 'conversations_archive',
  messages: 'messages_archive',
  transfers: 'conversation_transfers_archive',
  archived: true,
};

/** The tables a filter reads: the live ones, and the archive's too when it includes archived records. */
export function tablesOf(filter: StoredFilter): RecordTables[] {
  return filter.includeArchived ? [LIVE, ARCHIVE] : [LIVE];
}

/** The filter as SQL conditions on conversations `c` of `tables` (knex `?` parameters). */
export function filterSql(filter: StoredFilter, tables: RecordTables): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    conditions.push(sql);
    params.push(...values);
  };
  if (filter.customerId) add('c.customer_id = ?', filter.customerId);
  if (filter.agentId) add('c.agent_id = ?', filter.agentId);
  if (filter.departmentId) add('c.department_id = ?', filter.departmentId);
  if (filter.from) add('c.created_at >= ?', new Date(filter.from));
  if (filter.to) add('c.created_at < ?', new Date(filter.to));
  if (filter.status) add('c.status = ?', filter.status);
  if (filter.rating) add('c.rating = ?', filter.rating);
  if (filter.priority) add('c.priority = ?', filter.priority);
  if (filter.intent) add('c.intent = ?', filter.intent);
  if (filter.keyword) {
    const match = keywordSql(filter.keyword);
    add(`EXISTS (SELECT 1 FROM ${tables.messages} m WHERE m.conversation_id = c.id AND ${match.sql})`, ...match.params);
  }
  if (filter.hasPii !== null && filter.hasPii !== undefined) {
    add(
      `${filter.hasPii ? '' : 'NOT '}EXISTS (SELECT 1 FROM ${tables.messages} m WHERE m.conversation_id = c.id AND cardinality(m.pii_types) > 0)`,
    );
  }
  return { where: conditions.length ? conditions.join(' AND ') : 'TRUE', params };
}

/**
 * A message `m` whose (masked) content holds the keyword: the bigram index narrows (every bigram of the
 * keyword is in the text), ILIKE confirms the exact substring.
 */
export function keywordSql(keyword: string): { sql: string; params: unknown[] } {
  const query = keywordBigrams(keyword)
    .map((b) => `'${b}'`)
    .join(' & ');
  return {
    sql: `m.content ILIKE ? AND records_search_vector(m.content) @@ to_tsquery('simple', ?)`,
    params: [likePattern(keyword), query],
  };
}

export function likePattern(keyword: string): string {
  return `%${keyword.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The distinct pairs of adjacent letters or digits of the keyword, lower-cased as the index is. */
export function keywordBigrams(keyword: string): string[] {
  const chars = [...keyword.toLowerCase()];
  const out = new Set<string>();
  for (let i = 0; i + 1 < chars.length; i++) {
    if (WORD_CHAR.test(chars[i]) && WORD_CHAR.test(chars[i + 1])) out.add(chars[i] + chars[i + 1]);
  }
  return [...out];
}
