import { createHash } from 'node:crypto';
import { pinyin } from 'pinyin-pro';
import { Lexicon, LexiconMatcher, normaliseText } from './lexicon';

export { normaliseText } from './lexicon';

/**
 * Chinese-aware tokenisation for the knowledge base. Chinese has no spaces, so words come from a real
 * segmenter: jieba (`@node-rs/jieba`, its search mode, which also yields the shorter words inside a long
 * one: 实名制 → 实名 实名制) by default, or ICU's dictionary segmenter (`Intl.Segmenter('zh', {granularity:
 * 'word'})`, built into Node with full ICU) when KNOWLEDGE_SEGMENTER=intl. Both are measured by the
 * knowledge benchmark.
 *
 * From a text it makes:
 * - words: word-like segments only (letters, digits or CJK), normalised (NFKC: full-width → half-width; lower
 *   case; traditional → simplified characters by opencc-js), stop words dropped, each word followed by the
 *   canonical terms the domain lexicon gives it (退钱 → 退钱 退款, refund → 退款, 退漂 → 退票), and then the
 *   canonical terms of the lexicon's multi-character forms found anywhere in the text (换一场 → 改签);
 * - bigrams: every pair of adjacent CJK characters, so a partial or unknown word still matches (转赠给 → 转赠 赠给),
 *   prefixed with `~` so they never share statistics with words; the canonical terms add theirs;
 * - sounds: each bigram's toneless pinyin (`^tui piao` for 退票, by pinyin-pro, which reads a polyphone in its
 *   context), indexed for titles and phrasings only. A query's bigram that no FAQ holds stands in by its sound
 *   (`soundOf`), so a homophone typed by a pinyin keyboard (退漂, 腿票) still finds 退票 without a typo table
 *   (see search.ts).
 */
export type SegmenterEngine = 'jieba' | 'intl';

export interface AnalyzerSettings {
  engine: SegmenterEngine;
  stopWords: readonly string[];
  lexicon: Lexicon;
}

/**
 * Bumped when the analysis itself changes, so stored terms made the old way are re-analysed. 3: lexicon forms
 * found where they overlap (能退回); 4: every form found at one place (寄丢 and 寄), punctuation folded in the
 * match text; 5: titles and phrasings carry their bigrams' sounds.
 */
const ANALYSIS_VERSION = 5;

export const BIGRAM_PREFIX = '~';
export const SOUND_PREFIX = '^';

const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]/u;
const CJK_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]+/gu;
const WORD_LIKE = /[\p{L}\p{N}]/u;
/** Runs of anything but letters, digits and combining marks: punctuation, symbols, emoji, spaces. */
const NOT_WORD = /[^\p{L}\p{N}\p{M}]+/gu;

interface WordCutter {
  cut(text: string): string[];
}

let jiebaCutter: WordCutter | null = null;

/** jieba's dictionary takes ~0.3 s and ~90 MB to load: once per process, on first use. */
function jieba(): WordCutter {
  if (!jiebaCutter) {
    const { Jieba } = require('@node-rs/jieba') as typeof import('@node-rs/jieba');

    const { dict } = require('@node-rs/jieba/dict') as { dict: Uint8Array };
    const instance = Jieba.withDict(dict);
    jiebaCutter = { cut: (text) => instance.cutForSearch(text, true) };
  }
  return jiebaCutter;
}

function intl(): WordCutter {
  const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });
  return { cut: (text) => Array.from(segmenter.segment(text), (s) => s.segment) };
}

export function isCjk(ch: string): boolean {
  return CJK.test(ch);
}

export class TextAnalyzer {
  /** Identifies this analysis (engine, version, stop words, lexicon): stored with the terms it made. */
  readonly id: string;
  private readonly stop: ReadonlySet<string>;
  private readonly lexicon: LexiconMatcher;
  private cutter: WordCutter | null = null;

  constructor(readonly settings: AnalyzerSettings) {
    this.stop = new Set(settings.stopWords.map(normaliseText));
    this.lexicon = new LexiconMatcher(settings.lexicon);
    const digest = createHash('sha256')
      .update(JSON.stringify([ANALYSIS_VERSION, [...this.stop].sort(), settings.lexicon]))
      .digest('hex')
      .slice(0, 12);
    this.id = `${settings.engine}:${ANALYSIS_VERSION}:${digest}`;
  }

  /** Loads the segmenter's dictionary now rather than on the first search. */
  warmUp(): void {
    this.words('预热');
  }

  /** Word terms, in order (repeats kept: they are term frequencies), then those of the lexicon's canonical terms. */
  words(text: string): string[] {
    return this.analyse(normaliseText(text)).words;
  }

  /**
   * The text as compared by pg_trgm, and for sameness (a phrasing that repeats a question): normalised, the
   * lexicon's multi-character forms replaced by their terms, then punctuation and symbols folded into single
   * spaces (pg_trgm splits words there anyway), so 怎么退票？ and 怎么退票 are the same text.
   */
  matchText(text: string): string {
    return this.lexicon.canonicalise(normaliseText(text).trim()).replace(NOT_WORD, ' ').trim();
  }

  /** Words (the text's, then its canonical terms' words) and the canonical terms the lexicon adds. */
  private analyse(normal: string): { words: string[]; canonical: string[] } {
    const words = this.segment(normal);
    const canonical: string[] = [];
    for (const word of words) for (const s of this.lexicon.ofWord(word)) if (s !== word) canonical.push(s);
    canonical.push(...this.lexicon.ofPhrases(normal));
    const kept = canonical.filter((s) => !this.stop.has(s));
    for (const s of kept) words.push(...this.segment(s));
    return { words, canonical: kept };
  }

  private segment(normal: string): string[] {
    this.cutter ??= this.settings.engine === 'jieba' ? jieba() : intl();
    const out: string[] = [];
    for (const raw of this.cutter.cut(normal)) {
      const word = raw.trim();
      if (!word || !WORD_LIKE.test(word) || this.stop.has(word)) continue;
      out.push(word);
    }
    return out;
  }

  /** `~` + every pair of adjacent CJK characters, in order; a lone CJK character that is not a stop word stands alone. */
  bigrams(text: string): string[] {
    return this.bigramsOf(normaliseText(text));
  }

  private bigramsOf(normal: string): string[] {
    const out: string[] = [];
    for (const run of normal.match(CJK_RUN) ?? []) {
      const chars = Array.from(run);
      if (chars.length === 1) {
        if (!this.stop.has(chars[0])) out.push(BIGRAM_PREFIX + chars[0]);
        continue;
      }
      for (let i = 0; i + 1 < chars.length; i++) out.push(BIGRAM_PREFIX + chars[i] + chars[i + 1]);
    }
    return out;
  }

  /** Every index term of a text: its words, then its bigrams (and those of the canonical terms it stands for). */
  terms(text: string): string[] {
    const normal = normaliseText(text);
    const { words, canonical } = this.analyse(normal);
    return [...words, ...this.bigramsOf(normal), ...canonical.flatMap((t) => this.bigramsOf(t))];
  }

  /** The index terms of a question (with its tags) or a phrasing: `terms`, then its bigrams' sounds. */
  titleTerms(text: string): string[] {
    return [...this.terms(text), ...this.soundsOf(normaliseText(text))];
  }

  /**
   * A query bigram's sound (`~退漂` → `^tui piao`), asked by the index only for a bigram no FAQ holds: most
   * of a query's are known, and reading the pairs alone (~1.6 µs each) costs less than the whole query's pinyin.
   */
  readonly soundOf = (bigram: string): string | undefined => {
    const chars = Array.from(bigram.slice(BIGRAM_PREFIX.length));
    if (!bigram.startsWith(BIGRAM_PREFIX) || chars.length !== 2 || !CJK.test(chars[0]) || !CJK.test(chars[1])) return undefined;
    const syllables = pinyin(chars.join(''), { toneType: 'none', type: 'array' });
    return syllables.length === 2 ? `${SOUND_PREFIX}${syllables[0]} ${syllables[1]}` : undefined;
  };

  /** Every bigram's sound, in order (repeats kept, as term frequencies), each pair read in its run's context. */
  private soundsOf(normal: string): string[] {
    const out: string[] = [];
    for (const run of normal.match(CJK_RUN) ?? []) {
      const chars = Array.from(run);
      if (chars.length < 2) continue;
      const syllables = pinyin(run, { toneType: 'none', type: 'array' });
      if (syllables.length !== chars.length) continue; // never seen: one syllable per CJK character
      for (let i = 0; i + 1 < chars.length; i++) out.push(`${SOUND_PREFIX}${syllables[i]} ${syllables[i + 1]}`);
    }
    return out;
  }
}
