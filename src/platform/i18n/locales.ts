import { Role } from '../auth/roles';

/** The languages ShiftDesk speaks; every message of the catalogue has both. */
export const SUPPORTED_LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

/**
 * Without a stored or requested locale: customers read Chinese (the desk's customers are in China), staff
 * read English, which is what every message said before there was a choice (their consoles and scripts).
 */
export function defaultLocale(role: Role | null | undefined): Locale {
  return role === Role.CUSTOMER ? 'zh-CN' : 'en';
}

/** `zh`, `zh-cn`, `zh-Hans`, `zh-Hans-CN`, `en-GB`, ... → a supported locale; anything else → null. */
export function supportedLocale(tag: string): Locale | null {
  const lower = tag.trim().toLowerCase();
  if (lower === 'zh' || lower === 'zh-cn' || lower.startsWith('zh-hans') || lower === 'zh-sg') return 'zh-CN';
  if (lower === 'en' || lower.startsWith('en-')) return 'en';
  return null;
}

/** Accept-Language (`fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5`): the best supported locale, or null when none is. */
export function fromAcceptLanguage(header: string): Locale | null {
  const ranges = header
    .split(',')
    .map((part, order) => {
      const [tag, ...attrs] = part.trim().split(';');
      const q = attrs.map((a) => /^\s*q=([0-9.]+)\s*$/.exec(a)?.[1]).find(Boolean);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), order };
    })
    .filter((r) => r.tag && r.q > 0 && Number.isFinite(r.q))
    .sort((a, b) => b.q - a.q || a.order - b.order);
  for (const range of ranges) {
    const locale = supportedLocale(range.tag);
    if (locale) return locale;
  }
  return null;
}

/** The locale an operation speaks, and, when the caller asked for one ShiftDesk does not speak, what they asked. */
export interface ChosenLocale {
  locale: Locale;
  /** Set when the requested locale is not supported and `locale` is the fallback. */
  unsupported: string | null;
}

/**
 * The user's stored locale first, else what the request asks for (Accept-Language over HTTP, `locale` in
 * graphql-ws's connection_init), else `fallback` (the role's default unless the caller knows better).
 */
export function chooseLocale(
  stored: string | null | undefined,
  requested: string | null | undefined,
  role: Role | null | undefined,
  fallback: Locale = defaultLocale(role),
): ChosenLocale {
  const fromUser = stored ? supportedLocale(stored) : null;
  if (fromUser) return { locale: fromUser, unsupported: null };
  const trimmed = requested?.trim();
  if (trimmed && trimmed !== '*') {
    const asked = fromAcceptLanguage(trimmed.slice(0, 200));
    if (asked) return { locale: asked, unsupported: null };
    return { locale: fallback, unsupported: trimmed.slice(0, 200) };
  }
  return { locale: fallback, unsupported: null };
}
