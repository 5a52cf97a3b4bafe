import { BIGRAM_PREFIX, SOUND_PREFIX } from './segmenter';

/**
 * Ranking for FAQ search: Okapi BM25 over segmented terms, in memory, with two fields (BM25F-style): the
 * title (question + tags) counts `titleWeight` times, the body (answer) `bodyWeight` times; a CJK-bigram term
 * counts `bigramWeight` of a word. The index is rebuilt from stored terms (see FaqService), so it holds only
 * published FAQs and needs no text processing to load.
 *
 * Scores are normalised to 0–1 by the query's upper bound: the score a document would get if it held every
 * query term infinitely often, Σ idf·(k1+1) over the query's terms. So a document that matches every
 * (weighted) term of the query closely scores near 1 and one matching only common words near 0; query terms
 * no FAQ contains keep the bound up, so a query that is mostly unknown words never scores high.
 *
 * Sounds (`^tui piao`, see segmenter.ts) are a typo's way in, not words of the document: they do not count in
 * its length, and a query's sound is searched only in place of a bigram no document holds (退漂 → 退票's sound,
 * `homophoneWeight` of a word). The bound keeps the unknown bigram and leaves the sound out: it stands in for a
 * term already counted there. Counting both lowered every score of a query with pairs no FAQ holds, and halved
 * the tuning half's auto-answers over 72 FAQs.
 */
export interface SearchParams {
  k1: number;
  b: number;
  titleWeight: number;
  bodyWeight: number;
  bigramWeight: number;
  /** What a sound standing in for an unknown bigram counts, as a share of a word (0: no homophone path). */
  homophoneWeight: number;
  /** Share of the final score that is PostgreSQL's trigram similarity of the question to the query. */
  trigramWeight: number;
  /** Hits below this final score are not returned. */
  minScore: number;
  /** `bestAnswer` answers only with a hit at least this good. */
  bestAnswerMinScore: number;
}

export interface IndexedDocument {
  id: string;
  /** Terms of the question and the tags, repeats kept. */
  title: readonly string[];
  /** Terms of the answer, repeats kept. */
  body: readonly string[];
}

export interface Bm25Hit {
  id: string;
  /** BM25 divided by the query's upper bound: 0–1. */
  score: number;
  raw: number;
  /** The query's terms this document holds (bigrams without their prefix marker). */
  matched: string[];
}

interface Postings {
  slots: Int32Array;
  tf: Float32Array;
}

export class Bm25Index {
  private readonly termIds = new Map<string, number>();
  private readonly terms: string[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly ids: Array<string | null> = [];
  /** Per slot: the document's distinct term ids (ascending) and their weighted frequencies. */
  private readonly docTerms: Array<Int32Array | null> = [];
  private readonly docTf: Array<Float32Array | null> = [];
  private readonly docLen: number[] = [];
  private readonly free: number[] = [];
  private totalLen = 0;
  private postings: Array<Postings | undefined> | null = null;
  /** Per slot: k1·(1 − b + b·len/avglen), fixed when the postings are built. */
  private norm = new Float64Array(0);
  private scratch = new Float64Array(0);

  constructor(private readonly params: SearchParams) {}

  get size(): number {
    return this.slotOf.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  upsert(doc: IndexedDocument): void {
    this.remove(doc.id);
    const weighted = new Map<number, number>();
    const add = (terms: readonly string[], weight: number) => {
      for (const t of terms) {
        let id = this.termIds.get(t);
        if (id === undefined) {
          id = this.terms.length;
          this.terms.push(t);
          this.termIds.set(t, id);
        }
        weighted.set(id, (weighted.get(id) ?? 0) + weight);
      }
    };
    add(doc.title, this.params.titleWeight);
    add(doc.body, this.params.bodyWeight);
    const ids = Int32Array.from([...weighted.keys()].sort((a, b) => a - b));
    const tf = Float32Array.from(ids, (id) => weighted.get(id)!);
    const len = wordCount(doc.title) * this.params.titleWeight + wordCount(doc.body) * this.params.bodyWeight;
    const slot = this.free.pop() ?? this.ids.length;
    this.ids[slot] = doc.id;
    this.docTerms[slot] = ids;
    this.docTf[slot] = tf;
    this.docLen[slot] = len;
    this.totalLen += len;
    this.slotOf.set(doc.id, slot);
    this.postings = null;
  }

  remove(id: string): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.totalLen -= this.docLen[slot];
    this.ids[slot] = null;
    this.docTerms[slot] = null;
    this.docTf[slot] = null;
    this.docLen[slot] = 0;
    this.slotOf.delete(id);
    this.free.push(slot);
    this.postings = null;
  }

  clear(): void {
    for (const id of [...this.slotOf.keys()]) this.remove(id);
  }

  /**
   * The best `limit` documents for the query's terms (repeats count), best first; only documents that share a
   * term. Documents named in `include` that share a term are returned too, after those. `soundOf` gives a
   * query bigram's sound: a bigram no document holds is searched by its sound as well.
   */
  search(
    queryTerms: readonly string[],
    limit: number,
    include: readonly string[] = [],
    soundOf?: (bigram: string) => string | undefined,
  ): Bm25Hit[] {
    if (!queryTerms.length || !this.size) return [];
    const postings = this.build();
    const { k1 } = this.params;
    const n = this.size;
    const counts = new Map<string, number>();
    for (const t of queryTerms) counts.set(t, (counts.get(t) ?? 0) + 1);
    if (soundOf && this.params.homophoneWeight > 0) {
      for (const t of queryTerms) {
        if (!t.startsWith(BIGRAM_PREFIX)) continue;
        const id = this.termIds.get(t);
        if (id !== undefined && postings[id]) continue;
        const sound = soundOf(t);
        if (sound) counts.set(sound, (counts.get(sound) ?? 0) + 1);
      }
    }

    // One scratch array per index, reset below for the slots touched: no 10,000-slot allocation per search.
    if (this.scratch.length < this.ids.length) this.scratch = new Float64Array(this.ids.length);
    const scores = this.scratch;
    const touched: number[] = [];
    let bound = 0;
    const used: Array<{ termId: number; weight: number }> = [];
    for (const [term, qtf] of counts) {
      const boost = term.startsWith(BIGRAM_PREFIX)
        ? this.params.bigramWeight
        : term.startsWith(SOUND_PREFIX)
          ? this.params.homophoneWeight
          : 1;
      const termId = this.termIds.get(term);
      const list = termId === undefined ? undefined : postings[termId];
      const df = list?.slots.length ?? 0;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      const weight = boost * qtf * idf;
      if (!term.startsWith(SOUND_PREFIX)) bound += weight * (k1 + 1);
      if (!list || termId === undefined) continue;
      used.push({ termId, weight });
      const { slots, tf } = list;
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i];
        if (scores[s] === 0) touched.push(s);
        const f = tf[i];
        scores[s] += (weight * f * (k1 + 1)) / (f + this.norm[s]);
      }
    }
    if (bound <= 0) {
      for (const slot of touched) scores[slot] = 0;
      return [];
    }
    if (!touched.length) return [];
    const top = selectTop(touched, scores, limit);
    for (const id of include) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined && scores[slot] > 0 && !top.includes(slot)) top.push(slot);
    }
    const hits = top.map((slot) => ({
      id: this.ids[slot]!,
      raw: scores[slot],
      score: Math.min(1, scores[slot] / bound),
      // A word and its bigram read the same without the prefix (退票, ~退票): each once.
      matched: [
        ...new Set(
          used
            .filter((u) => !this.terms[u.termId].startsWith(SOUND_PREFIX) && binarySearch(this.docTerms[slot]!, u.termId))
            .map((u) => stripPrefix(this.terms[u.termId])),
        ),
      ],
    }));
    for (const slot of touched) scores[slot] = 0;
    return hits;
  }

  /** Inverted lists and length norms, rebuilt after any change (a publish or an edit: rare next to searches). */
  private build(): Array<Postings | undefined> {
    if (this.postings) return this.postings;
    const { k1, b } = this.params;
    const avg = this.size ? this.totalLen / this.size : 1;
    const df = new Int32Array(this.terms.length);
    this.norm = new Float64Array(this.ids.length);
    for (let s = 0; s < this.ids.length; s++) {
      const terms = this.docTerms[s];
      if (!terms) continue;
      this.norm[s] = k1 * (1 - b + (b * this.docLen[s]) / (avg || 1));
      for (let i = 0; i < terms.length; i++) df[terms[i]]++;
    }
    const lists: Array<Postings | undefined> = new Array(this.terms.length);
    const fill = new Int32Array(this.terms.length);
    for (let t = 0; t < df.length; t++) if (df[t]) lists[t] = { slots: new Int32Array(df[t]), tf: new Float32Array(df[t]) };
    for (let s = 0; s < this.ids.length; s++) {
      const terms = this.docTerms[s];
      if (!terms) continue;
      const tfs = this.docTf[s]!;
      for (let i = 0; i < terms.length; i++) {
        const list = lists[terms[i]]!;
        const at = fill[terms[i]]++;
        list.slots[at] = s;
        list.tf[at] = tfs[i];
      }
    }
    this.postings = lists;
    return lists;
  }
}

/** The `limit` slots with the highest scores, best first (ties: lower slot first, i.e. stable). */
function selectTop(slots: number[], scores: Float64Array, limit: number): number[] {
  const byScore = (a: number, b: number) => scores[b] - scores[a] || a - b;
  if (slots.length <= limit * 4) return slots.sort(byScore).slice(0, limit);
  // The limit-th best score, by a numeric typed-array sort (much faster than sorting the slots by a comparator).
  const values = Float64Array.from(slots, (s) => scores[s]).sort();
  const threshold = values[values.length - Math.min(limit, values.length)];
  return slots
    .filter((s) => scores[s] >= threshold)
    .sort(byScore)
    .slice(0, limit);
}

/** A document's length in words and bigrams: its sounds do not count. */
function wordCount(terms: readonly string[]): number {
  let count = 0;
  for (const t of terms) if (!t.startsWith(SOUND_PREFIX)) count++;
  return count;
}

function binarySearch(sorted: Int32Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid];
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function stripPrefix(term: string): string {
  return term.startsWith(BIGRAM_PREFIX) ? term.slice(BIGRAM_PREFIX.length) : term;
}

/** The final 0–1 score of a hit: BM25's share and the question's trigram similarity to the query. */
export function combineScores(bm25: number, trigram: number, params: Pick<SearchParams, 'trigramWeight'>): number {
  const w = Math.min(1, Math.max(0, params.trigramWeight));
  const s = (1 - w) * bm25 + w * trigram;
  return Math.min(1, Math.max(0, s));
}
