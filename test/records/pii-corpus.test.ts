import { PiiDetector } from '../../src/modules/records/pii-detector';
import { shippedPiiRules } from '../../src/modules/records/pii-rules';
import { PiiType } from '../../src/modules/records/pii-type';
import { corpusScores, loadPiiCorpus, naiveTypes } from '../../bench/pii-corpus';

test('the labelled corpus has 300+ Chinese texts with every type and hard negatives', () => {
  const corpus = loadPiiCorpus();
  expect(corpus.length).toBeGreaterThanOrEqual(300);
  for (const type of Object.values(PiiType)) expect(corpus.filter((t) => t.types.includes(type)).length).toBeGreaterThanOrEqual(40);
  expect(corpus.filter((t) => !t.types.length).length).toBeGreaterThanOrEqual(100);
});

test('the shipped rules find each type in the corpus with precision and recall of at least 0.99', () => {
  const detector = new PiiDetector(shippedPiiRules());
  const scores = corpusScores(loadPiiCorpus(), (text) => detector.types(text));
  for (const s of scores) {
    // The texts missed and wrongly found are printed when a score falls short.
    expect({ type: s.type, precisionOk: s.precision >= 0.99, recallOk: s.recall >= 0.99, missed: s.missed, wrong: s.wrong }).toMatchObject({
      precisionOk: true,
      recallOk: true,
    });
  }
});

test('the negatives are hard: patterns without the checks mistake them for ID and card numbers', () => {
  const naive = corpusScores(loadPiiCorpus(), naiveTypes);
  const precision = Object.fromEntries(naive.map((s) => [s.type, s.precision]));
  expect(precision[PiiType.ID_CARD]).toBeLessThan(0.9);
  expect(precision[PiiType.BANK_CARD]).toBeLessThan(0.9);
});
