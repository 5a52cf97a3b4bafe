import { readJsonFile, shippedConfigFile } from '../knowledge/knowledge.settings';
import { PII_TYPES, PiiType } from './pii-type';

/** How a found value is checked before it counts: a pattern alone finds many order numbers. */
export type PiiCheck = 'none' | 'gb11643' | 'luhn';
const CHECKS: readonly PiiCheck[] = ['none', 'gb11643', 'luhn'];

export interface MaskShape {
  /** Characters of the value kept at its start and end (separators not counted). */
  keepStart: number;
  keepEnd: number;
  maskChar: string;
  /** > 0: the masked value is written in groups of this size, separated by a space (6222 **** **** 1234). */
  groupSize: number;
  /** > 0: the hidden part becomes exactly this many mask characters, whatever its length (zhan***@…). */
  fill: number;
}

export interface PiiRule {
  type: PiiType;
  /** Global, unicode; its named group `number` (or the whole match) is the value checked and masked. */
  pattern: RegExp;
  check: PiiCheck;
  mask: MaskShape;
}

/** The enabled rules in detection order (PII_TYPES): where two matches overlap, the earlier rule's wins. */
export interface PiiRules {
  source: string;
  rules: readonly PiiRule[];
}

/**
 * Parses a personal-data rules file (PII_RULES_FILE; default `config/pii.json`, shipped), read once at
 * start-up by loadConfig. Any problem is an Error naming the file and the field.
 */
export function parsePiiRules(raw: unknown, source: string): PiiRules {
  const problem = (field: string, message: string) => new Error(`${source}: ${field} ${message}`);
  if (!isRecord(raw) || !isRecord(raw.types)) throw problem('types', 'must be an object of type → rule');
  const types = raw.types;
  for (const name of Object.keys(types)) {
    if (!PII_TYPES.includes(name as PiiType)) throw problem(`types.${name}`, `is not a known type (${PII_TYPES.join(', ')})`);
  }
  const rules: PiiRule[] = [];
  for (const type of PII_TYPES) {
    const entry = types[type];
    if (entry === undefined) continue;
    const field = `types.${type}`;
    if (!isRecord(entry)) throw problem(field, 'must be an object');
    if (entry.enabled !== undefined && typeof entry.enabled !== 'boolean') throw problem(`${field}.enabled`, 'must be true or false');
    if (entry.enabled === false) continue;
    rules.push({
      type,
      pattern: pattern(entry.pattern, `${field}.pattern`, problem),
      check: check(entry.check, `${field}.check`, problem),
      mask: maskShape(entry.mask, `${field}.mask`, problem),
    });
  }
  return Object.freeze({ source, rules: Object.freeze(rules) });
}

type Problem = (field: string, message: string) => Error;

function pattern(value: unknown, field: string, problem: Problem): RegExp {
  if (typeof value !== 'string' || !value) throw problem(field, 'must be a non-empty regular expression');
  let re: RegExp;
  try {
    re = new RegExp(value, 'gu');
  } catch (err) {
    throw problem(field, `is not a valid regular expression: ${(err as Error).message}`);
  }
  // A pattern that matches nothing at all would loop forever and mask nothing.
  if (re.test('')) throw problem(field, 'must not match an empty text');
  re.lastIndex = 0;
  return re;
}

function check(value: unknown, field: string, problem: Problem): PiiCheck {
  if (value === undefined) return 'none';
  if (!CHECKS.includes(value as PiiCheck)) throw problem(field, `must be one of ${CHECKS.join(', ')}`);
  return value as PiiCheck;
}

function maskShape(value: unknown, field: string, problem: Problem): MaskShape {
  if (!isRecord(value)) throw problem(field, 'must be an object ({"keepStart": 3, "keepEnd": 4})');
  const count = (name: string, max: number): number => {
    const v = value[name];
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
      throw problem(`${field}.${name}`, `must be a whole number from 0 to ${max}`);
    return v;
  };
  const maskChar = value.maskChar === undefined ? '*' : value.maskChar;
  // One character that no pattern's digits or letters can be: masked text must never match again.
  if (typeof maskChar !== 'string' || [...maskChar].length !== 1 || /[\p{L}\p{N}\s]/u.test(maskChar)) {
    throw problem(`${field}.maskChar`, 'must be one character that is not a letter, digit or space');
  }
  return {
    keepStart: count('keepStart', 10),
    keepEnd: count('keepEnd', 10),
    maskChar,
    groupSize: count('groupSize', 10),
    fill: count('fill', 10),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The shipped defaults (`config/pii.json`), for tools and tests that run without loadConfig. */
export function shippedPiiRules(): PiiRules {
  const file = shippedConfigFile('pii.json');
  return parsePiiRules(readJsonFile(file), file);
}
