import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestApp, TestApp } from '../support/harness';
import { publishLabelledFaqs } from './labelled-faqs';
import testSet from './faq-testset.json';

/**
 * A regression guard on the search quality: the shipped test set (72 FAQs of a ticketing platform, customer
 * questions worded differently, each labelled with the FAQ it should find) through the real pipeline
 * (segmenter, lexicon, BM25 index, the PostgreSQL trigram path). Only the TUNING half is held to floors here:
 * the held-out half is measured by the benchmark and never tuned on, floors included. The floors sit a few
 * questions under what was measured when they were set (top-1 0.95, top-3 1.0 over the 125 tuning questions),
 * so a change that loses a few questions fails here.
 */
const TOP1_FLOOR = 0.9;
const TOP3_FLOOR = 0.96;

describe('FAQ search quality on the shipped test set', () => {
  let app: TestApp;
  let keyOf: Map<string, string>;
  const em = (): EntityManager => app.services.orm.em.fork() as EntityManager;

  beforeAll(async () => {
    app = await startTestApp();
    keyOf = await publishLabelledFaqs(app, testSet.faqs);
  });
  afterAll(() => app.stop());

  const tuning = testSet.queries.filter((q) => q.split === 'tuning');

  it('the test set is what issue 15 asks for: ≥ 200 labelled questions, none a copy of its FAQ, split into two halves', () => {
    expect(testSet.faqs.length).toBeGreaterThanOrEqual(60);
    expect(testSet.queries.length).toBeGreaterThanOrEqual(200);
    const heldOut = testSet.queries.filter((q) => q.split === 'heldOut');
    expect(heldOut.length + tuning.length).toBe(testSet.queries.length);
    expect(Math.abs(heldOut.length - tuning.length)).toBeLessThanOrEqual(2);
    const questions = new Map(testSet.faqs.map((f) => [f.key, f.question]));
    for (const q of testSet.queries) {
      expect(questions.has(q.expected)).toBe(true);
      expect(q.query).not.toBe(questions.get(q.expected));
    }
    expect(new Set(testSet.queries.map((q) => q.kind))).toEqual(new Set(['paraphrase', 'colloquial', 'typo', 'mixed', 'traditional']));
    expect(new Set(testSet.noAnswer.map((q) => q.split))).toEqual(new Set(['tuning', 'heldOut']));
  });

  it(`finds the labelled FAQ first for ≥ ${TOP1_FLOOR} and among the first three for ≥ ${TOP3_FLOOR} of the tuning questions, beating substring matching`, async () => {
    let top1 = 0;
    let top3 = 0;
    let naive1 = 0;
    let naive3 = 0;
    const misses: string[] = [];
    for (const q of tuning) {
      const hits = await app.services.faqs.rank(em(), q.query, 3);
      const keys = hits.map((h) => keyOf.get(h.faq.id));
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
      for (const h of hits) expect(h.score > 0 && h.score <= 1).toBe(true);
      if (keys[0] === q.expected) top1++;
      if (keys.includes(q.expected)) top3++;
      else misses.push(`${q.query} → ${keys.join(', ')} (expected ${q.expected})`);
      const naive = naiveTop3(q.query);
      if (naive[0] === q.expected) naive1++;
      if (naive.includes(q.expected)) naive3++;
    }
    const n = tuning.length;
    const report = { top1: top1 / n, top3: top3 / n, naiveTop1: naive1 / n, naiveTop3: naive3 / n, misses };
    if (report.top1 < TOP1_FLOOR || report.top3 < TOP3_FLOOR)
      throw new Error(`search quality fell below the floor: ${JSON.stringify(report, null, 2)}`);
    expect(report.top1).toBeGreaterThanOrEqual(TOP1_FLOOR);
    expect(report.top3).toBeGreaterThanOrEqual(TOP3_FLOOR);
    expect(report.top1).toBeGreaterThan(report.naiveTop1);
    expect(report.top3).toBeGreaterThan(report.naiveTop3);
  });

  it('bestAnswer stays silent on questions no FAQ answers, and answers most that one does', async () => {
    for (const q of testSet.noAnswer.filter((x) => x.split === 'tuning'))
      expect(await app.services.faqs.bestAnswer(em(), q.query, { recordUse: false })).toBeNull();
    let answered = 0;
    for (const q of tuning) {
      const best = await app.services.faqs.bestAnswer(em(), q.query, { recordUse: false });
      if (best && keyOf.get(best.faq.id) === q.expected) answered++;
    }
    expect(answered / tuning.length).toBeGreaterThanOrEqual(0.45);
  });
});

/** The baseline: FAQs ranked by how many of the query's characters (letters, digits, CJK) their question contains. */
function naiveTop3(query: string): string[] {
  const chars = [...new Set(Array.from(query.toLowerCase()).filter((c) => /[\p{L}\p{N}]/u.test(c)))];
  return testSet.faqs
    .map((f) => ({ key: f.key, n: chars.filter((c) => f.question.toLowerCase().includes(c)).length }))
    .filter((x) => x.n > 0)
    .sort((a, b) => b.n - a.n)
    .slice(0, 3)
    .map((x) => x.key);
}
