import { isRecord } from '../../platform/json';
import { normaliseText } from '../knowledge/segmenter';

/** One rule agent messages are checked against (config/quality.json). */
export interface QualityRule {
  code: string;
  label: string;
  /** Normalised substrings. */
  phrases: string[];
  patterns: RegExp[];
  /** When one of these matches, the rule does not fire (a warning not to share a password is no request for one). */
  unless: RegExp[];
}

export interface ChecklistItem {
  key: string;
  label: string;
  maxScore: number;
}

export interface QualitySettings {
  rules: QualityRule[];
  checklist: ChecklistItem[];
  sampling: { perAgentPerWeek: number };
}

const CODE = /^[A-Z][A-Z0-9_]{1,39}$/;
const KEY = /^[a-z][a-z0-9_]{0,39}$/;

/** Checks and compiles config/quality.json; a problem is an Error naming the rule or field (config.ts adds the variable). */
export function parseQualitySettings(raw: unknown, source: string): QualitySettings {
  const fail = (field: string, message: string): never => {
    throw new Error(`${source}: ${field} ${message}`);
  };
  if (!isRecord(raw)) fail('(the file)', 'must be a JSON object');
  const r = raw as Record<string, unknown>;
  const list = (v: unknown, field: string): unknown[] => (Array.isArray(v) ? v : fail(field, 'must be an array'));
  const text = (v: unknown, field: string): string =>
    typeof v === 'string' && v.trim() ? v.trim() : fail(field, 'must be a non-empty string');

  const codes = new Set<string>();
  const rules = list(r.rules, 'rules').map((item, i): QualityRule => {
    if (!isRecord(item)) fail(`rules[${i}]`, 'must be an object');
    const o = item as Record<string, unknown>;
    const code = text(o.code, `rules[${i}].code`);
    if (!CODE.test(code)) fail(`rules[${i}].code`, 'must be UPPER_SNAKE_CASE (2 to 40 characters)');
    if (codes.has(code)) fail(`rule ${code}`, 'is defined twice');
    codes.add(code);
    const regexes = (v: unknown, field: string) =>
      list(v ?? [], `rule ${code}: ${field}`).map((p, j) => {
        const src = text(p, `rule ${code}: ${field}[${j}]`);
        try {
          return new RegExp(src, 'iu');
        } catch (err) {
          return fail(`rule ${code}: ${field}[${j}]`, `is not a valid regular expression: ${(err as Error).message}`);
        }
      });
    const rule: QualityRule = {
      code,
      label: text(o.label, `rule ${code}: label`),
      phrases: list(o.phrases ?? [], `rule ${code}: phrases`).map((p, j) => normaliseText(text(p, `rule ${code}: phrases[${j}]`))),
      patterns: regexes(o.patterns, 'patterns'),
      unless: regexes(o.unless, 'unless'),
    };
    if (!rule.phrases.length && !rule.patterns.length) fail(`rule ${code}`, 'needs at least one phrase or pattern');
    return rule;
  });

  const keys = new Set<string>();
  const checklist = list(r.checklist, 'checklist').map((item, i): ChecklistItem => {
    if (!isRecord(item)) fail(`checklist[${i}]`, 'must be an object');
    const o = item as Record<string, unknown>;
    const key = text(o.key, `checklist[${i}].key`);
    if (!KEY.test(key)) fail(`checklist[${i}].key`, 'must be lower_snake_case (1 to 40 characters)');
    if (keys.has(key)) fail(`checklist item ${key}`, 'is defined twice');
    keys.add(key);
    const maxScore = o.maxScore;
    if (typeof maxScore !== 'number' || !Number.isInteger(maxScore) || maxScore < 1 || maxScore > 100)
      fail(`checklist item ${key}: maxScore`, 'must be a whole number from 1 to 100');
    return { key, label: text(o.label, `checklist item ${key}: label`), maxScore: maxScore as number };
  });
  if (!checklist.length) fail('checklist', 'must list at least one item');

  const sampling = isRecord(r.sampling) ? r.sampling : fail('sampling', 'must be an object');
  const perAgentPerWeek = (sampling as Record<string, unknown>).perAgentPerWeek;
  if (typeof perAgentPerWeek !== 'number' || !Number.isInteger(perAgentPerWeek) || perAgentPerWeek < 0 || perAgentPerWeek > 100) {
    fail('sampling.perAgentPerWeek', 'must be a whole number from 0 to 100');
  }
  return { rules, checklist, sampling: { perAgentPerWeek: perAgentPerWeek as number } };
}

/** The rules a message breaks, each with the text that matched. */
export function findViolations(rules: QualityRule[], content: string): Array<{ rule: QualityRule; matched: string }> {
  const text = normaliseText(content);
  const found: Array<{ rule: QualityRule; matched: string }> = [];
  for (const rule of rules) {
    let matched = rule.phrases.find((p) => text.includes(p)) ?? null;
    if (matched === null) {
      for (const p of rule.patterns) {
        const m = p.exec(text);
        if (m) {
          matched = m[0];
          break;
        }
      }
    }
    if (matched !== null && !rule.unless.some((u) => u.test(text))) found.push({ rule, matched });
  }
  return found;
}
