import { readFileSync } from 'node:fs';
import { analyseFaq } from '../src/modules/knowledge/faq-index';
import { Bm25Index, SearchParams } from '../src/modules/knowledge/search';
import type { TextAnalyzer } from '../src/modules/knowledge/segmenter';

/**
 * Issue 15, item 5 ("semantic matching, if it can be had honestly"), measured rather than shipped: word2vec
 * vectors in the binary format of Google's tool (a header `<words> <dimensions>`, then per word its text, a
 * space and the floats). The one npm package found that carries Chinese vectors inside it is `node-synonyms`
 * 1.3.1 (data/words.vector: 125,796 words × 100 dimensions, trained on Chinese Wikipedia, GPL-3.0), so the
 * benchmark reads the file from wherever it was unpacked (`BENCH_WORD_VECTORS`) and adds no dependency.
 */
export class WordVectors {
  private constructor(
    readonly dimensions: number,
    private readonly vectors: Map<string, Float32Array>,
  ) {}

  get size(): number {
    return this.vectors.size;
  }

  static load(file: string): WordVectors {
    const buf = readFileSync(file);
    const headerEnd = buf.indexOf(10);
    const [count, dimensions] = buf.subarray(0, headerEnd).toString('ascii').trim().split(/\s+/).map(Number);
    if (!(count > 0 && dimensions > 0)) throw new Error(`${file}: not a word2vec binary file (header "${buf.subarray(0, headerEnd)}")`);
    const vectors = new Map<string, Float32Array>();
    let at = headerEnd + 1;
    for (let i = 0; i < count; i++) {
      const space = buf.indexOf(32, at);
      const word = buf.subarray(at, space).toString('utf8').trim();
      const v = new Float32Array(dimensions);
      for (let j = 0; j < dimensions; j++) v[j] = buf.readFloatLE(space + 1 + 4 * j);
      vectors.set(word, unit(v));
      at = space + 1 + 4 * dimensions;
      if (buf[at] === 10) at++;
    }
    return new WordVectors(dimensions, vectors);
  }

  /**
   * A text's vector: the idf-weighted mean of its words' unit vectors (the analyzer's words, so lexicon terms
   * count too); a word without a vector counts as the mean of its characters' vectors at half weight. Null when
   * nothing in the text has a vector.
   */
  embed(words: readonly string[], idf: (word: string) => number): Float32Array | null {
    const sum = new Float32Array(this.dimensions);
    let any = false;
    for (const word of words) {
      let v = this.vectors.get(word);
      let weight = idf(word);
      if (!v) {
        const chars = Array.from(word)
          .map((c) => this.vectors.get(c))
          .filter((x): x is Float32Array => x !== undefined);
        if (!chars.length) continue;
        v = new Float32Array(this.dimensions);
        for (const c of chars) for (let j = 0; j < v.length; j++) v[j] += c[j] / chars.length;
        weight /= 2;
      }
      for (let j = 0; j < sum.length; j++) sum[j] += weight * v[j];
      any = true;
    }
    return any ? unit(sum) : null;
  }
}

function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < v.length; j++) v[j] /= norm;
  return v;
}

function cosine(a: Float32Array | null, b: Float32Array | null): number {
  if (!a || !b) return 0;
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

/**
 * BM25 in memory (as the benchmark's other in-memory rows), its best 30 re-ranked by
 * `score + weight · cosine(query, question + tags)`: the top three test-set keys per question.
 */
export function bm25WithVectors(
  corpus: Array<{ key?: string; question: string; answer: string; tags: string[] }>,
  analyzer: TextAnalyzer,
  params: SearchParams,
  vectors: WordVectors,
  weight: number,
): (q: string) => Array<string | undefined> {
  const index = new Bm25Index(params);
  const documentFrequency = new Map<string, number>();
  corpus.forEach((f, i) => {
    const { titleTerms, bodyTerms } = analyseFaq(analyzer, f);
    index.upsert({ id: String(i), title: titleTerms, body: bodyTerms });
    for (const w of new Set(analyzer.words(f.question))) documentFrequency.set(w, (documentFrequency.get(w) ?? 0) + 1);
  });
  const idf = (w: string) => Math.log(1 + corpus.length / (1 + (documentFrequency.get(w) ?? 0)));
  const faqVectors = corpus.map((f) => vectors.embed(analyzer.words([f.question, ...f.tags].join('\n')), idf));
  return (q) => {
    const query = vectors.embed(analyzer.words(q), idf);
    return index
      .search(analyzer.terms(q), 30)
      .map((h) => ({ i: Number(h.id), score: h.score + weight * cosine(query, faqVectors[Number(h.id)]) }))
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .slice(0, 3)
      .map((h) => corpus[h.i].key ?? '(distractor)');
  };
}
