import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden, InvalidInput } from '../../platform/errors';
import { normaliseTags } from '../../platform/tags';
import { Faq, FaqScope, FaqStatus } from './faq.entity';
import { TAG_MAX, TAGS_MAX } from './faq.inputs';

/** A search query: 1 to 500 characters once trimmed. */
export const QUERY_MAX = 500;
export const SEARCH_LIMIT_MAX = 20;

type FaqShelf = Pick<Faq, 'scope' | 'departmentId'>;

// ---- Scope rules, as pure functions (see "Scope model" in docs/knowledge.md) ----

/** Admins keep every FAQ; a manager keeps their own department's; nobody else any. */
export function canEditFaq(viewer: Viewer, faq: FaqShelf): boolean {
  if (viewer.role === Role.ADMIN) return true;
  return (
    viewer.role === Role.MANAGER &&
    faq.scope === FaqScope.DEPARTMENT &&
    viewer.departmentId !== null &&
    faq.departmentId === viewer.departmentId
  );
}

/** Everyone signed in reads published FAQs; drafts and archived ones only their keepers. */
export function canReadFaq(viewer: Viewer, faq: FaqShelf & Pick<Faq, 'status'>): boolean {
  return faq.status === FaqStatus.PUBLISHED || canEditFaq(viewer, faq);
}

/** The department of a new FAQ (null for PUBLIC), or FORBIDDEN / BAD_USER_INPUT. */
export function faqPlacement(viewer: Viewer, scope: FaqScope, departmentId?: string | null): string | null {
  if (scope === FaqScope.PUBLIC) {
    if (viewer.role !== Role.ADMIN) throw new Forbidden('Only admins keep public FAQs');
    if (departmentId) throw new InvalidInput('departmentId', 'is only for DEPARTMENT FAQs');
    return null;
  }
  if (viewer.role === Role.ADMIN) {
    if (!departmentId) throw new InvalidInput('departmentId', 'is required for a DEPARTMENT FAQ');
    return departmentId;
  }
  if (viewer.role !== Role.MANAGER) throw new Forbidden('Only managers and admins keep FAQs');
  if (!viewer.departmentId) throw new Forbidden('You manage no department');
  if (departmentId && departmentId !== viewer.departmentId) throw new Forbidden("Managers keep their own department's FAQs only");
  return viewer.departmentId;
}

/** The trimmed query, or BAD_USER_INPUT when it is empty, longer than QUERY_MAX, or only punctuation and emoji. */
export function checkQuery(query: string): string {
  if (Array.from(query).length > QUERY_MAX) throw new InvalidInput('query', `must be at most ${QUERY_MAX} characters`);
  const q = query.trim();
  if (!q) throw new InvalidInput('query', 'must not be empty');
  // Punctuation or emoji alone have nothing to match: a clear refusal rather than an empty list.
  if (!SEARCHABLE.test(q))
    throw new InvalidInput(
      'query',
      'must contain a letter, a digit or a Chinese character (punctuation and emoji alone are not searchable)',
    );
  return q;
}

/** Whether a text has anything search can match (a letter, a digit or a CJK character). */
export const SEARCHABLE = /[\p{L}\p{N}]/u;

/** Trimmed, 1 to `max` characters (code points, as PostgreSQL's char_length counts). */
export function text(field: string, value: string, max: number): string {
  const v = value.trim();
  const length = Array.from(v).length;
  if (length < 1 || length > max) throw new InvalidInput(field, `must be 1 to ${max} characters`);
  return v;
}

export function tags(values: readonly string[]): string[] {
  const list = normaliseTags(values);
  if (list.length > TAGS_MAX) throw new InvalidInput('tags', `at most ${TAGS_MAX}`);
  for (const t of list) if (Array.from(t).length > TAG_MAX) throw new InvalidInput('tags', `each at most ${TAG_MAX} characters`);
  return list;
}
