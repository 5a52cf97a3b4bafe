import fc from 'fast-check';
import { loadConfig } from '../../src/config';
import { Bm25Index, combineScores } from '../../src/modules/knowledge/search';
import { BIGRAM_PREFIX, normaliseText, TextAnalyzer } from '../../src/modules/knowledge/segmenter';
import { DEFAULT_SEARCH_PARAMS, parseKnowledgeSettings } from '../../src/modules/knowledge/knowledge.settings';

const settings = loadConfig({}).knowledge;
const jieba = new TextAnalyzer({ engine: 'jieba', stopWords: settings.stopWords, lexicon: settings.lexicon });
const intl = new TextAnalyzer({ engine: 'intl', stopWords: settings.stopWords, lexicon: settings.lexicon });
const bare = new TextAnalyzer({ engine: 'jieba', stopWords: [], lexicon: { terms: {}, typos: {} } });

describe('segmenter', () => {
  it('Intl.Segmenter segments Chinese into words in this Node (full ICU)', () => {
    const words = Array.from(new Intl.Segmenter('zh', { granularity: 'word' }).segment('我想申请退票'), (s) => s.segment);
    expect(words).toContain('退票');
    expect(words.length).toBeLessThan(6);
  });

  it('cuts Chinese into real words, keeps the shorter words inside long ones, and drops punctuation and stop words', () => {
    const words = jieba.words('实名制演出的门票可以转赠吗？');
    expect(words).toEqual(expect.arrayContaining(['实名', '实名制', '演出', '转赠']));
    expect(words).not.toContain('的');
    expect(words).not.toContain('吗');
    expect(words).not.toContain('？');
    expect(intl.words('电子票可以退票吗')).toEqual(expect.arrayContaining(['退票']));
  });

  it('lower-cases Latin, folds full-width characters, and keeps numbers', () => {
    expect(normaliseText('ＡＰＰ Ｖip １２３')).toBe('app vip 123');
    expect(bare.words('iPhone上的APP打不开 1.2米')).toEqual(expect.arrayContaining(['iphone', 'app', '1.2']));
  });

  it('adds the lexicon’s canonical terms, so colloquial, misspelt and English words meet the FAQ’s wording', () => {
    expect(jieba.words('登陆不上')).toEqual(expect.arrayContaining(['登陆', '登录']));
    expect(jieba.words('refund 多久')).toEqual(expect.arrayContaining(['refund', '退款']));
    expect(jieba.words('小朋友')).toEqual(expect.arrayContaining(['小朋友', '儿童']));
    expect(bare.words('登陆')).not.toContain('登录');
  });

  it('indexes every CJK character pair as a prefixed bigram, so partial words match', () => {
    expect(bare.bigrams('转赠给朋友 ok 票')).toEqual(['转赠', '赠给', '给朋', '朋友', '票'].map((b) => BIGRAM_PREFIX + b));
    expect(bare.bigrams('hello 123')).toEqual([]);
  });

  it('names its analysis: other stop words or another lexicon make another id (stored terms are then re-analysed)', () => {
    const again = new TextAnalyzer({ engine: 'jieba', stopWords: settings.stopWords, lexicon: settings.lexicon });
    expect(again.id).toBe(jieba.id);
    expect(bare.id).not.toBe(jieba.id);
    expect(intl.id).not.toBe(jieba.id);
  });

  it('property: terms are never empty, never stop words, never punctuation-only, and analysis never throws', () => {
    const stop = new Set(settings.stopWords.map(normaliseText));
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60 }),
        fc.string({ unit: fc.constantFrom(...'退票实名制电子票的了吗，。！ abc123'.split('')), maxLength: 40 }),
        (a, b) => {
          for (const text of [a, b, a + b]) {
            for (const w of jieba.words(text)) {
              expect(w.trim()).toBe(w);
              expect(w.length).toBeGreaterThan(0);
              expect(/[\p{L}\p{N}]/u.test(w)).toBe(true);
              expect(stop.has(w)).toBe(false);
            }
            for (const t of jieba.bigrams(text)) expect(Array.from(t.slice(BIGRAM_PREFIX.length)).length).toBeLessThanOrEqual(2);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('BM25 index', () => {
  const index = () => {
    const i = new Bm25Index(DEFAULT_SEARCH_PARAMS);
    i.upsert({ id: 'refund', title: bare.terms('怎么申请退票'), body: bare.terms('在订单详情点击申请退票') });
    i.upsert({ id: 'fee', title: bare.terms('退票手续费是多少'), body: bare.terms('按时间阶梯收取手续费') });
    i.upsert({ id: 'transfer', title: bare.terms('电子票可以转赠吗'), body: bare.terms('在票夹中转赠给好友') });
    return i;
  };

  it('ranks by shared terms, best first, scores in (0, 1], only documents sharing a term', () => {
    const hits = index().search(bare.terms('退票要多少手续费'), 10);
    expect(hits[0].id).toBe('fee');
    expect(hits.map((h) => h.id)).not.toContain('transfer');
    for (const h of hits) expect(h.score > 0 && h.score <= 1).toBe(true);
    expect(hits[0].matched).toEqual(expect.arrayContaining(['手续费', '退票']));
    expect(new Set(hits[0].matched).size).toBe(hits[0].matched.length); // 退票 the word and ~退票 the bigram: once
    expect(index().search(bare.terms('天气预报'), 10)).toEqual([]);
    expect(index().search([], 10)).toEqual([]);
  });

  it('follows upserts and removals', () => {
    const i = index();
    i.remove('fee');
    expect(i.search(bare.terms('手续费'), 10)).toEqual([]);
    i.upsert({ id: 'transfer', title: bare.terms('退票手续费说明'), body: [] });
    expect(i.search(bare.terms('手续费'), 10).map((h) => h.id)).toEqual(['transfer']);
    expect(i.size).toBe(2);
    i.clear();
    expect(i.size).toBe(0);
  });

  it('property: scores stay in [0, 1], come best first, and the limit holds, for any documents and query', () => {
    const word = fc.constantFrom('退票', '手续费', '电子票', '转赠', '实名', 'app', '~退票', '~票', '发票', '会员');
    fc.assert(
      fc.property(
        fc.array(fc.record({ title: fc.array(word, { maxLength: 8 }), body: fc.array(word, { maxLength: 20 }) }), { maxLength: 30 }),
        fc.array(word, { maxLength: 6 }),
        fc.integer({ min: 1, max: 10 }),
        (docs, query, limit) => {
          const i = new Bm25Index(DEFAULT_SEARCH_PARAMS);
          docs.forEach((d, n) => i.upsert({ id: `d${n}`, ...d }));
          const hits = i.search(query, limit);
          expect(hits.length).toBeLessThanOrEqual(limit);
          for (let n = 0; n < hits.length; n++) {
            expect(hits[n].score).toBeGreaterThan(0);
            expect(hits[n].score).toBeLessThanOrEqual(1);
            if (n) expect(hits[n - 1].raw).toBeGreaterThanOrEqual(hits[n].raw);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds a homophone typo by its sound without a typo table, only where the misspelt pair is unknown', () => {
    // `bare` has no lexicon, so no typo entry: 退漂 and 腿票 reach 退票 only by sound (tui piao).
    const i = new Bm25Index(DEFAULT_SEARCH_PARAMS);
    i.upsert({ id: 'refund', title: bare.titleTerms('怎么申请退票'), body: bare.terms('在订单详情点击申请退票') });
    i.upsert({ id: 'fee', title: bare.titleTerms('手续费是多少'), body: bare.terms('按时间阶梯收取') });
    const search = (q: string) => i.search(bare.terms(q), 10, [], bare.soundOf);
    expect(bare.soundOf(`${BIGRAM_PREFIX}退漂`)).toBe('^tui piao');
    expect(bare.soundOf('退漂')).toBeUndefined(); // a word, not a bigram
    expect(bare.soundOf(`${BIGRAM_PREFIX}票a`)).toBeUndefined();
    expect(search('退漂怎么弄').map((h) => h.id)).toEqual(['refund']);
    expect(search('腿票').map((h) => h.id)).toEqual(['refund']);
    expect(i.search(bare.terms('腿票'), 10)).toEqual([]); // without the sounds: nothing
    // The misspelt query scores below the right one (its unknown pair stays in the bound); sounds never show as matched.
    const [typo] = search('腿票');
    const [right] = search('退票');
    expect(typo.score).toBeLessThan(right.score);
    expect(typo.matched).toEqual([]);
    // A pair some document holds is searched as itself only: 手续 is known, so its sound (shou xu) adds nothing.
    expect(search('手续').map((h) => h.id)).toEqual(['fee']);
    expect(search('手续')[0].raw).toBeCloseTo(i.search(bare.terms('手续'), 10)[0].raw, 10);
    // Sounds are not words of a document: its length, and so a correctly spelt query's score, does not change.
    const plain = new Bm25Index(DEFAULT_SEARCH_PARAMS);
    plain.upsert({ id: 'refund', title: bare.terms('怎么申请退票'), body: bare.terms('在订单详情点击申请退票') });
    plain.upsert({ id: 'fee', title: bare.terms('手续费是多少'), body: bare.terms('按时间阶梯收取') });
    expect(search('申请退票')[0].score).toBeCloseTo(plain.search(bare.terms('申请退票'), 10)[0].score, 10);
    // homophoneWeight 0 turns the path off.
    const off = new Bm25Index({ ...DEFAULT_SEARCH_PARAMS, homophoneWeight: 0 });
    off.upsert({ id: 'refund', title: bare.titleTerms('怎么申请退票'), body: [] });
    expect(off.search(bare.terms('腿票'), 10, [], bare.soundOf)).toEqual([]);
  });

  it('combines BM25 and trigram similarity into 0–1', () => {
    expect(combineScores(1, 1, { trigramWeight: 0.1 })).toBe(1);
    expect(combineScores(0, 0, { trigramWeight: 0.1 })).toBe(0);
    expect(combineScores(0.5, 0, { trigramWeight: 0.2 })).toBeCloseTo(0.4);
  });
});

describe('knowledge settings', () => {
  it('are checked with the field named', () => {
    const ok = { categories: ['退票'], stopWords: ['的'], search: { k1: 1.5 } };
    expect(parseKnowledgeSettings(ok, 'f.json')).toMatchObject({ categories: ['退票'], search: { ...DEFAULT_SEARCH_PARAMS, k1: 1.5 } });
    expect(() => parseKnowledgeSettings({ ...ok, categories: [] }, 'f.json')).toThrow(/f\.json: categories/);
    expect(() => parseKnowledgeSettings({ ...ok, categories: ['a', 'a'] }, 'f.json')).toThrow(/repeat/);
    expect(() => parseKnowledgeSettings({ ...ok, synonyms: { a: ['b'] } }, 'f.json')).toThrow(/synonyms moved to the lexicon file/);
    expect(() => parseKnowledgeSettings({ ...ok, search: { b: 2 } }, 'f.json')).toThrow(/search\.b must be a number from 0 to 1/);
    expect(() => parseKnowledgeSettings({ ...ok, search: { speed: 1 } }, 'f.json')).toThrow(/search\.speed is not a setting/);
    expect(() => parseKnowledgeSettings([], 'f.json')).toThrow(/JSON object/);
  });
});
