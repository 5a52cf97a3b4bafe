import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { LexiconMatcher, normaliseText, parseLexicon } from '../../src/modules/knowledge/lexicon';
import { TextAnalyzer } from '../../src/modules/knowledge/segmenter';

const shipped = loadConfig({}).knowledge;
const analyzer = new TextAnalyzer({ engine: 'jieba', stopWords: shipped.stopWords, lexicon: shipped.lexicon });

/** A lexicon file in a temp dir, and the start-up (loadConfig) that reads it. */
function startWith(lexicon: unknown): () => unknown {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'lexicon-')), 'lexicon.json');
  writeFileSync(file, typeof lexicon === 'string' ? lexicon : JSON.stringify(lexicon));
  return () => loadConfig({ KNOWLEDGE_LEXICON_FILE: file });
}

describe('domain lexicon', () => {
  it('the shipped default maps the colloquial forms of the issue to the FAQ wording', () => {
    const cases: Array<[string, string]> = [
      ['退钱多久到', '退款'],
      ['能换一场吗', '改签'],
      ['付款失败', '支付'],
      ['这个券用不了', '优惠券'],
      ['几点进场', '入场'],
      ['可以挑位置吗', '选座'],
      ['delivery 多久', '快递'],
      ['real-name 要带啥', '实名制'],
      ['invoices', '发票'],
      ['退漂', '退票'],
    ];
    for (const [text, canonical] of cases) expect(analyzer.words(text)).toContain(canonical);
  });

  it('covers the after-sales vocabulary beyond the issue: payment, fees, seats, documents, weather, account (general domain terms)', () => {
    const cases: Array<[string, string]> = [
      ['付了两次钱', '重复支付'],
      ['退票费多少', '手续费'],
      ['想和朋友坐一起', '连座'],
      ['香港人能买吗', '港澳台'],
      ['忘带身份证了', '身份证丢失'],
      ['下大雨还演吗', '恶劣天气'],
      ['换手机号了', '换绑'],
      ['要公司发票', '专票'],
      ['抢不到票', '库存不足'],
    ];
    // A canonical term is added, then segmented like any text (重复支付 → 重复 支付).
    for (const [text, canonical] of cases) expect(analyzer.words(text)).toEqual(expect.arrayContaining(analyzer.words(canonical)));
  });

  it('turns traditional characters into simplified ones before anything else (opencc-js), at index and query time alike', () => {
    expect(normaliseText('門票可以退嗎')).toBe('门票可以退吗');
    expect(normaliseText('ＡＰＰ 進場')).toBe('app 进场');
    expect(analyzer.terms('發票怎麼開')).toEqual(analyzer.terms('发票怎么开'));
    expect(analyzer.words('優惠券用不了')).toContain('优惠券');
  });

  it('finds Chinese and several-word forms anywhere in the text, one-word Latin forms only as whole words', () => {
    const m = new LexiconMatcher(parseLexicon({ terms: { 优惠券: ['券', '优惠码'], 退款: ['refund'] } }, 'x.json'));
    expect(m.ofPhrases('券用不了')).toEqual(['优惠券']);
    expect(m.ofWord('refund')).toEqual(['退款']);
    expect(m.ofWord('refunded')).toEqual([]);
    expect(m.ofPhrases('有优惠码吗')).toEqual(['优惠券']);
    expect(m.canonicalise('优惠码怎么用')).toBe('优惠券怎么用');
  });

  it('finds forms that overlap: 能退回来 holds 能退 and 退回; every form starting at one place counts, each term once', () => {
    const m = new LexiconMatcher(
      parseLexicon({ terms: { 退票: ['能退'], 退款: ['退回', '退回来了'], 改签: ['换一场'], 快递: ['寄'], 丢件: ['寄丢'] } }, 'x.json'),
    );
    expect(m.ofPhrases('钱啥时候能退回来')).toEqual(['退票', '退款']);
    expect(m.ofPhrases('钱退回来了吗')).toEqual(['退款']);
    expect(m.ofPhrases('寄丢了')).toEqual(['丢件', '快递']); // the longer form does not hide the shorter one's meaning
    expect(m.ofPhrases('𠀀换一场𠀀能退')).toEqual(['改签', '退票']); // a character beyond the BMP before a form
  });

  it('expands transitively: a form of a form reaches the top term', () => {
    const m = new LexiconMatcher(parseLexicon({ terms: { 电子票: ['二维码'] }, typos: { 二维码: ['二唯码'] } }, 'x.json'));
    expect(m.ofPhrases('二唯码')).toEqual(['二维码', '电子票']);
    expect(m.canonicalise('二唯码打不开')).toBe('电子票打不开');
  });

  it('start-up refuses a cycle, naming the file and the cycle', () => {
    expect(startWith({ terms: { 退款: ['退钱'], 退钱: ['退款'] } })).toThrow(
      /KNOWLEDGE_LEXICON_FILE: .*lexicon\.json: \(cycle\) (退款 → 退钱 → 退款|退钱 → 退款 → 退钱)/,
    );
    expect(startWith({ terms: { a: ['b'], b: ['c'], c: ['a'] } })).toThrow(/lexicon\.json: \(cycle\)/);
    expect(startWith({ terms: { 退款: ['退款'] } })).toThrow(/\(cycle\) 退款 → 退款/);
  });

  it('start-up refuses an empty term (canonical or form), naming the file and the entry', () => {
    expect(startWith({ terms: { ' ': ['退钱'] } })).toThrow(
      /KNOWLEDGE_LEXICON_FILE: .*lexicon\.json: terms \(a canonical term\) is an empty term/,
    );
    expect(startWith({ terms: { 退款: ['退钱', '  '] } })).toThrow(/lexicon\.json: terms\.退款\[1\] is an empty term/);
    expect(startWith({ typos: { 退票: [] } })).toThrow(/typos\.退票 must be a non-empty array/);
    expect(startWith({ synonyms: {} })).toThrow(/synonyms is not a section/);
    expect(startWith('{ not json')).toThrow(/KNOWLEDGE_LEXICON_FILE: .*not valid JSON/);
  });

  it('the shipped lexicon loads, and another lexicon is another analysis (stored terms are re-analysed)', () => {
    expect(Object.keys(shipped.lexicon.terms).length).toBeGreaterThan(20);
    const other = new TextAnalyzer({ engine: 'jieba', stopWords: shipped.stopWords, lexicon: { terms: { 退款: ['退钱'] }, typos: {} } });
    expect(other.id).not.toBe(analyzer.id);
  });
});
