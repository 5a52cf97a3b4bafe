import { messageIds, render } from './catalogue';
import { ERROR_TEXTS } from './error-texts';
import type { Locale } from './locales';
import { textPatterns } from './text-patterns';

/**
 * The catalogue's error texts too: an InvalidInput given a message id still lists its fields' messages in
 * English (`extensions.fields`), and those are translated here like any other.
 */
const TABLE: ReadonlyArray<readonly [en: string, zh: string]> = [
  ...ERROR_TEXTS,
  ...messageIds()
    .filter((id) => id.startsWith('error.'))
    .map((id) => [render({ id }, 'en'), render({ id }, 'zh-CN')] as const),
];

/** Every English text and its Chinese (for the test that finds texts without one). */
export const errorTextTable = () => TABLE;

const EXACT = new Map(TABLE.filter(([en]) => !/\{\w+\}/.test(en)));

/** Templated texts (text-patterns.ts): the most specific first. */
const PATTERNS = textPatterns(TABLE.filter(([en]) => /\{\w+\}/.test(en)));

function translateOne(text: string): string | null {
  const exact = EXACT.get(text);
  if (exact !== undefined) return exact;
  for (const { regex, names, zh } of PATTERNS) {
    const match = regex.exec(text);
    if (match) return zh.replace(/\{(\w+)\}/g, (whole, name: string) => match[names.indexOf(name) + 1] ?? whole);
  }
  return null;
}

/**
 * The Chinese of an English error text, or null when there is none. Also handles the compositions that
 * InvalidInput and unique-constraint conflicts write: `field message` and several of them joined by `; `.
 */
export function chineseErrorText(text: string): string | null {
  const whole = translateOne(text);
  if (whole !== null) return whole;
  const parts = text.split('; ').map((part) => {
    const field = /^(\S+) (.+)$/s.exec(part);
    const rest = field ? translateOne(field[2]) : null;
    return rest === null ? null : `${field![1]} ${rest}`;
  });
  return parts.every((p) => p !== null) ? parts.join('；') : null;
}

/** An inline English error text as `locale` reads it: English as written, Chinese when the table has it. */
export function localizedErrorText(text: string, locale: Locale): string {
  return locale === 'zh-CN' ? (chineseErrorText(text) ?? text) : text;
}
