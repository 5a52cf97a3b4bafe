import { isRecord } from '../../platform/json';

/**
 * The domain lexicon (KNOWLEDGE_LEXICON_FILE; default `config/lexicon.json`): for each canonical term, the
 * colloquial forms, synonyms, English words and common typos customers use for it (退钱, 返还, refund → 退款;
 * 换一场 → 改签; 退漂 → 退票). Applied at index and at query time alike, so both sides meet on the canonical
 * term. Expansion is transitive (a variant of a variant reaches the top term), which is why a cycle is refused:
 * it would mean two terms each standing for the other, with no canonical one.
 */
export interface Lexicon {
  /** canonical term → the forms that stand for it (both sides trimmed, lower-case, simplified Chinese). */
  terms: Record<string, string[]>;
  /** The same shape, kept apart only so the file reads clearly: misspellings and homophones. */
  typos: Record<string, string[]>;
}

const SECTIONS = ['terms', 'typos'] as const;
const TERM_MAX = 30;

// opencc-js's typings are ESM-only; its CommonJS build is what runs here.

const { Converter } = require('opencc-js') as { Converter: (o: { from: string; to: string }) => (text: string) => string };
/** traditional (繁體, any regional form) → simplified; built once, ~0.2 ms for a chat message. */
const toSimplified = Converter({ from: 't', to: 'cn' });

/** NFKC (full-width → half-width), lower case, traditional characters → simplified. Index and queries alike. */
export function normaliseText(text: string): string {
  return toSimplified(text.normalize('NFKC').toLowerCase());
}

/** Parses and checks a lexicon file's JSON: an empty term or a cycle is an Error naming the file and the entry. */
export function parseLexicon(raw: unknown, source: string): Lexicon {
  const problem = (field: string, message: string) => new Error(`${source}: ${field} ${message}`);
  if (!isRecord(raw)) throw problem('(the file)', 'must be a JSON object');
  for (const key of Object.keys(raw)) {
    if (key !== '$comment' && !(SECTIONS as readonly string[]).includes(key))
      throw problem(key, `is not a section (known: ${SECTIONS.join(', ')})`);
  }
  const lexicon: Lexicon = { terms: {}, typos: {} };
  for (const section of SECTIONS) {
    const value = raw[section];
    if (value === undefined) continue;
    if (!isRecord(value)) throw problem(section, 'must be an object of term → [forms]');
    for (const [term, forms] of Object.entries(value)) {
      const canonical = checkTerm(term, `${section} (a canonical term)`, problem);
      if (!Array.isArray(forms) || !forms.length) throw problem(`${section}.${term}`, 'must be a non-empty array of strings');
      lexicon[section][canonical] = forms.map((f, i) => checkTerm(f, `${section}.${term}[${i}]`, problem));
    }
  }
  const cycle = findCycle(edgesOf(lexicon));
  if (cycle) throw problem('(cycle)', `${cycle.join(' → ')}: a term may not stand, directly or through others, for itself`);
  return lexicon;
}

function checkTerm(value: unknown, field: string, problem: (f: string, m: string) => Error): string {
  if (typeof value !== 'string' || !normaliseText(value).trim()) throw problem(field, 'is an empty term');
  const term = normaliseText(value).trim();
  if (Array.from(term).length > TERM_MAX) throw problem(field, `is longer than ${TERM_MAX} characters`);
  return term;
}

/** form → the canonical terms it stands for (one step). */
function edgesOf(lexicon: Lexicon): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const section of SECTIONS) {
    for (const [canonical, forms] of Object.entries(lexicon[section])) {
      for (const form of forms) {
        if (!edges.has(form)) edges.set(form, new Set());
        edges.get(form)!.add(canonical);
      }
    }
  }
  return edges;
}

/** A cycle of the form → canonical graph as its path (first term repeated at the end), or null. */
function findCycle(edges: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (term: string): string[] | null => {
    if (state.get(term) === 'done') return null;
    if (state.get(term) === 'open') return [...path.slice(path.indexOf(term)), term];
    state.set(term, 'open');
    path.push(term);
    for (const next of edges.get(term) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(term, 'done');
    return null;
  };
  for (const term of [...edges.keys()].sort()) {
    const found = visit(term);
    if (found) return found;
  }
  return null;
}

const CJK_TERM = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]+$/u;
/** A Latin form of several words (real-name, qr code): no segmenter keeps it whole, so it is found in the text. */
const LATIN_PHRASE = /^[a-z0-9]+(?:[ -][a-z0-9]+)+$/;

/** Forms found in the text rather than among the segmenter's words. */
function isPhrase(form: string): boolean {
  return CJK_TERM.test(form) || LATIN_PHRASE.test(form);
}

function phrasePattern(form: string): string {
  return LATIN_PHRASE.test(form) ? `(?<![a-z0-9])${escapeRegExp(form)}(?![a-z0-9])` : escapeRegExp(form);
}

/**
 * Finds a lexicon's forms in normalised text. Chinese forms are found anywhere in the text (a segmenter splits
 * 换一场 into 换 / 一场, and glues 券 to the next character, so a word-level lookup would miss them), Latin forms of
 * several words (real-name) as whole words; one-word Latin forms only as words from the segmenter (refund, not
 * refunded).
 */
export class LexiconMatcher {
  /** form → every canonical term it reaches (transitively), in a stable order. */
  private readonly expansions = new Map<string, string[]>();
  /** form → the one canonical term it is replaced by in trigram text: one that is no form itself. */
  private readonly canonicalOf = new Map<string, string>();
  private readonly phrasePattern: RegExp | null;
  /** Phrase forms by their first character, longest first, each with a sticky pattern to test it at a place. */
  private readonly phrasesByFirst = new Map<number, Array<{ text: string; pattern: RegExp }>>();

  constructor(lexicon: Lexicon) {
    const edges = edgesOf(lexicon);
    const reach = (form: string, seen = new Set<string>()): string[] => {
      for (const next of edges.get(form) ?? []) {
        if (seen.has(next)) continue;
        seen.add(next);
        reach(next, seen);
      }
      return [...seen];
    };
    for (const form of edges.keys()) {
      const all = reach(form);
      this.expansions.set(form, all);
      this.canonicalOf.set(form, all.find((t) => !edges.has(t)) ?? all[0]);
    }
    const phrases = [...edges.keys()].filter(isPhrase).sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.phrasePattern = phrases.length ? new RegExp(phrases.map(phrasePattern).join('|'), 'gu') : null;
    for (const text of phrases) {
      const first = text.codePointAt(0)!;
      const forms = this.phrasesByFirst.get(first) ?? [];
      forms.push({ text, pattern: new RegExp(phrasePattern(text), 'uy') });
      this.phrasesByFirst.set(first, forms);
    }
  }

  /** The canonical terms a segmented word stands for (empty when it is none of the lexicon's forms, or a phrase form). */
  ofWord(word: string): readonly string[] {
    return isPhrase(word) ? [] : (this.expansions.get(word) ?? []);
  }

  /**
   * The canonical terms of every Chinese or several-word form found in the text, in order. Forms may overlap,
   * and every form found counts: 能退回来 holds 能退 (退票) and 退回 (退款); 寄丢了 holds 寄丢 (丢件) and, at the
   * same place, 寄 (快递) — a longer form adds a meaning, it does not hide the shorter one's.
   */
  ofPhrases(text: string): string[] {
    const out: string[] = [];
    for (let at = 0; at < text.length; at += text.codePointAt(at)! > 0xffff ? 2 : 1) {
      const here = new Set<string>(); // 退回来了 and 退回 at one place are one 退款
      for (const form of this.phrasesByFirst.get(text.codePointAt(at)!) ?? []) {
        form.pattern.lastIndex = at;
        if (form.pattern.test(text)) for (const term of this.expansions.get(form.text) ?? []) here.add(term);
      }
      out.push(...here);
    }
    return out;
  }

  /** The text with every Chinese or several-word form replaced by its first canonical term: for trigram matching. */
  canonicalise(text: string): string {
    if (!this.phrasePattern) return text;
    return text.replace(this.phrasePattern, (form) => this.canonicalOf.get(form) ?? form);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
