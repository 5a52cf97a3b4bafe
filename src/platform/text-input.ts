import { FieldProblem, InvalidInput } from './errors';

/**
 * C0 control characters other than tab, line feed and carriage return. PostgreSQL cannot store NUL in text at
 * all, and none of the others belongs in anything a person types; tab and line breaks do, in text.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is looked for
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

/**
 * Refuses the arguments of a field when any string in them, at any depth (input object fields, list items),
 * holds a forbidden control character: BAD_USER_INPUT naming each field by its path (`input.tags[1]`), without
 * echoing the value.
 */
export function refuseControlCharacters(args: Record<string, unknown>): void {
  const problems: FieldProblem[] = [];
  for (const [name, value] of Object.entries(args)) collect(value, name, problems);
  if (problems.length) throw new InvalidInput(problems);
}

function collect(value: unknown, path: string, out: FieldProblem[]): void {
  if (typeof value === 'string') {
    const found = FORBIDDEN_CONTROL.exec(value);
    if (found)
      out.push({
        field: path,
        message: `contains the control character ${codePoint(found[0])}; of those only tab, line feed and carriage return are allowed`,
      });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => collect(item, `${path}[${i}]`, out));
  } else if (isPlainObject(value)) {
    for (const [key, field] of Object.entries(value)) collect(field, `${path}.${key}`, out);
  }
  // numbers, booleans, null and scalars parsed into objects (dates) hold no text
}

/** Input objects as graphql-js coerces them: `{}` or `Object.create(null)`. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}

function codePoint(char: string): string {
  return `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A limit as descriptions and messages write it: 5,000. */
export function formatLimit(n: number): string {
  return n.toLocaleString('en-US');
}
