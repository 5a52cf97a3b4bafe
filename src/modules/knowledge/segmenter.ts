import { createHash } from 'node:crypto';

/**
 * Chinese-aware tokenisation for the knowledge base. Chinese has no spaces, so words come from a real
 * segmenter: jieba (`@node-rs/jieba`, its search mode, which also yields the shorter words inside a long
 * one: 实名制 → 实名 实名制) by default, or ICU's dictionary segmenter (`Intl.Segmenter('zh', {granularity:
 * 'word'})`, built into Node with full ICU) when KNOWLEDGE_SEGMENTER=intl. Both are measured by the
 * knowledge benchmark.
 *
 * From a text it makes:
 * - words: word-like segments only (letters, digits or CJK), NFKC-normalised (full-width → half-width) and
 *   lower-cased, stop words dropped, and each word followed by its synonyms (退钱 → 退钱 退款, refund → 退款);
 * - bigrams: every pair of adjacent CJK characters, so a partial or unknown word still matches (转赠给 → 转赠 赠给),
 *   prefixed with `~` so they never share statistics with words.
 */
export type SegmenterEngine = 'jieba' | 'intl';

export interface AnalyzerSettings {
  engine: SegmenterEngine;
  stopWords: readonly string[];
  /** word → words it also stands for (lower-case keys). */
  synonyms: Readonly<Record<string, readonly string[]>>;
}

/** Bumped when the analysis itself changes, so stored terms made the old way are re-analysed. */
const ANALYSIS_VERSION = 1;

export const BIGRAM_PREFIX = '~';

const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]/u;
const CJK_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]+/gu;
const WORD_LIKE = /[\p{L}\p{N}]/u;

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

/** NFKC (full-width letters, digits and punctuation become ASCII) and lower case. */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

export function isCjk(ch: string): boolean {
  return CJK.test(ch);
}

export class TextAnalyzer {
  /** Identifies this analysis (engine, version, stop words, synonyms): stored with the terms it made. */
  readonly id: string;
  private readonly stop: ReadonlySet<string>;
  private readonly synonyms: ReadonlyMap<string, readonly string[]>;
  private cutter: WordCutter | null = null;

  constructor(readonly settings: AnalyzerSettings) {
    this.stop = new Set(settings.stopWords.map(normaliseText));
    this.synonyms = new Map(Object.entries(settings.synonyms).map(([k, v]) => [normaliseText(k), v.map(normaliseText)]));
    const digest = createHash('sha256')
      .update(JSON.stringify([ANALYSIS_VERSION, [...this.stop].sort(), [...this.synonyms.entries()].sort()]))
      .digest('hex')
      .slice(0, 12);
    this.id = `${settings.engine}:${ANALYSIS_VERSION}:${digest}`;
  }

  /** Loads the segmenter's dictionary now rather than on the first search. */
  warmUp(): void {
    this.words('预热');
  }

  /** Word terms, in order (repeats kept: they are term frequencies). */
  words(text: string): string[] {
    this.cutter ??= this.settings.engine === 'jieba' ? jieba() : intl();
    const out: string[] = [];
    for (const raw of this.cutter.cut(normaliseText(text))) {
      const word = raw.trim();
      if (!word || !WORD_LIKE.test(word) || this.stop.has(word)) continue;
      out.push(word);
      const also = this.synonyms.get(word);
      if (also) for (const s of also) if (s !== word && !this.stop.has(s)) out.push(s);
    }
    return out;
  }

  /** `~` + every pair of adjacent CJK characters, in order; a lone CJK character that is not a stop word stands alone. */
  bigrams(text: string): string[] {
    const out: string[] = [];
    for (const run of normaliseText(text).match(CJK_RUN) ?? []) {
      const chars = Array.from(run);
      if (chars.length === 1) {
        if (!this.stop.has(chars[0])) out.push(BIGRAM_PREFIX + chars[0]);
        continue;
      }
      for (let i = 0; i + 1 < chars.length; i++) out.push(BIGRAM_PREFIX + chars[i] + chars[i + 1]);
    }
    return out;
  }

  /** Every index term of a text: its words, then its bigrams. */
  terms(text: string): string[] {
    return [...this.words(text), ...this.bigrams(text)];
  }
}
