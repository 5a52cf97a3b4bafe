import { hasResidentIdShape, isResidentId, passesLuhn } from './pii-checks';
import type { PiiRule, PiiRules } from './pii-rules';
import { PiiType } from './pii-type';

/** One piece of personal data in a text: [start, end) is the whole match, [valueStart, valueEnd) the masked value. */
export interface PiiMatch {
  type: PiiType;
  start: number;
  end: number;
  valueStart: number;
  valueEnd: number;
}

/** Separators written inside numbers (138-1234-5678, 6222 0212 …): kept as written, never checked. */
const SEPARATORS = /[ -]/g;

/**
 * Finds personal data in a text with the configured rules. Each rule's pattern proposes candidates, its
 * check (GB 11643, Luhn) keeps the real ones; where candidates of two rules overlap, the rule listed first
 * wins. Pure and synchronous: it runs on every stored text, the chat's hot path included.
 */
export class PiiDetector {
  constructor(readonly rules: PiiRules) {}

  /** The matches in text order. */
  find(text: string): PiiMatch[] {
    const hasDigit = /\d/.test(text);
    const hasAt = text.includes('@');
    if (!hasDigit && !hasAt) return [];
    const found: PiiMatch[] = [];
    for (const rule of this.rules.rules) {
      // Every phone, ID and card number has digits and every address an @: a text without them is skipped.
      if (rule.type === PiiType.EMAIL ? !hasAt : !hasDigit) continue;
      collect(rule, text, found);
    }
    return found.length > 1 ? found.sort((a, b) => a.start - b.start) : found;
  }

  /** The distinct types found, in the order of PiiType's declaration (stable for storage and comparison). */
  types(text: string): PiiType[] {
    const matches = this.find(text);
    if (!matches.length) return [];
    const seen = new Set(matches.map((m) => m.type));
    return ORDER.filter((t) => seen.has(t));
  }
}

const ORDER = Object.values(PiiType);

function collect(rule: PiiRule, text: string, found: PiiMatch[]): void {
  // The rule's own global pattern: the scan is synchronous, so nothing else moves its lastIndex meanwhile.
  const re = rule.pattern;
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      re.lastIndex++;
      continue;
    }
    const value = m.groups?.number;
    const valueStart = value === undefined ? start : start + m[0].indexOf(value);
    const valueEnd = value === undefined ? end : valueStart + value.length;
    // A candidate that fails its check or is taken by an earlier rule must not hide a real one that starts
    // inside it (the next phone after a failed 19-digit run): the scan goes on from its next character.
    if (!passes(rule, text.slice(valueStart, valueEnd)) || found.some((f) => f.start < end && start < f.end)) {
      re.lastIndex = start + 1;
      continue;
    }
    found.push({ type: rule.type, start, end, valueStart, valueEnd });
  }
  re.lastIndex = 0;
}

function passes(rule: PiiRule, value: string): boolean {
  switch (rule.check) {
    case 'gb11643':
      return isResidentId(value.replace(SEPARATORS, ''));
    case 'luhn': {
      const digits = value.replace(SEPARATORS, '');
      return passesLuhn(digits) && !hasResidentIdShape(digits);
    }
    default:
      return true;
  }
}
