/** An English text with `{name}` placeholders as a pattern, and its Chinese to fill from the captured values. */
export interface TextPattern {
  regex: RegExp;
  names: string[];
  zh: string;
}

const escape = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
const fixedLength = (en: string) => en.replace(/\{\w+\}/g, '').length;

/**
 * Templated texts as patterns: each `{name}` captures a value, put back into the Chinese by name. The most
 * specific first (most fixed text), so `must be at most {max} characters` wins over `must be at most {max}`.
 */
export function textPatterns(table: ReadonlyArray<readonly [en: string, zh: string]>): TextPattern[] {
  return [...table]
    .sort(([a], [b]) => fixedLength(b) - fixedLength(a))
    .map(([en, zh]) => {
      const names: string[] = [];
      const source = escape(en).replace(/\\?\{(\w+)\\?\}/g, (_whole, name: string) => {
        names.push(name);
        return '(.+?)';
      });
      return { regex: new RegExp(`^${source}$`, 's'), names, zh };
    });
}
