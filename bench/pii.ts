import { maskText } from '../src/modules/records/masking';
import { PiiDetector } from '../src/modules/records/pii-detector';
import { shippedPiiRules } from '../src/modules/records/pii-rules';
import { corpusScores, loadPiiCorpus, naiveTypes, TypeScore } from './pii-corpus';
import { collectGarbage, describeMachine, envInt, machine, round, table } from './support';

/**
 * `npm run bench -- pii`: the personal-data detector (config/pii.json) on the labelled corpus shipped with the
 * tests (test/records/pii-corpus.json): precision and recall per type, beside a naive baseline (the same four
 * kinds by patterns alone, no GB 11643 / Luhn checks); then its cost per 200-character message, in-process,
 * beside the baseline's: medians over BENCH_ROUNDS rounds of BENCH_MESSAGES messages each (the corpus' texts
 * padded with ordinary chat text to 200 characters, and the same without any digit or @).
 */
export async function run(): Promise<void> {
  const m = machine();
  const rounds = envInt('BENCH_ROUNDS', 7);
  const perRound = envInt('BENCH_MESSAGES', 50_000, 100);
  const rules = shippedPiiRules();
  const detector = new PiiDetector(rules);
  const corpus = loadPiiCorpus();

  const shipped = corpusScores(corpus, (t) => detector.types(t));
  const naive = corpusScores(corpus, naiveTypes);

  const filler =
    '您好，请问这个订单什么时候能发货？我昨天下单的，页面一直显示待处理，麻烦帮我催一下，谢谢。另外发票能不能开成公司抬头，我们需要报销用的，辛苦了。';
  const pad = (t: string) => (t + filler.repeat(4)).slice(0, 200);
  const withPii = corpus.map((c) => pad(c.text));
  const plain = Array.from({ length: 64 }, (_, i) => (filler.slice(i % 20) + filler + filler + filler).slice(0, 200));

  const cost = (name: string, texts: string[], fn: (t: string) => unknown) => {
    const perMessageUs: number[] = [];
    let sink = 0;
    for (let w = 0; w < 2_000; w++) sink ^= fn(texts[w % texts.length]) ? 1 : 0; // warm-up: compiled and inlined
    for (let r = 0; r < rounds; r++) {
      collectGarbage();
      const t = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) sink ^= fn(texts[i % texts.length]) ? 1 : 0;
      perMessageUs.push(Number(process.hrtime.bigint() - t) / 1000 / perRound);
    }
    perMessageUs.sort((a, b) => a - b);
    return {
      name,
      medianUs: round(perMessageUs[Math.floor(rounds / 2)], 3),
      minUs: round(perMessageUs[0], 3),
      maxUs: round(perMessageUs[rounds - 1], 3),
      sink,
    };
  };
  const costs = [
    cost('detector.types (shipped rules)', withPii, (t) => detector.types(t).length),
    cost('naive patterns (baseline)', withPii, (t) => naiveTypes(t).length),
    cost('maskText (shipped rules)', withPii, (t) => maskText(t, rules).length),
    cost('detector.types, no digit or @', plain, (t) => detector.types(t).length),
    cost('naive patterns, no digit or @', plain, (t) => naiveTypes(t).length),
  ];

  const scoreRows = (label: string, scores: TypeScore[]) =>
    scores.map((s) => [`${label} ${s.type}`, s.truePositives, s.wrong.length, s.missed.length, round(s.precision, 4), round(s.recall, 4)]);
  console.log(describeMachine(m));
  console.log(`corpus: ${corpus.length} texts (${corpus.filter((c) => !c.types.length).length} hard negatives); rules: ${rules.source}\n`);
  console.log(
    table(
      ['detector / type', 'found', 'wrong', 'missed', 'precision', 'recall'],
      [...scoreRows('shipped', shipped), ...scoreRows('naive', naive)],
    ),
  );
  console.log(`aim: precision and recall >= 0.99 per type`);
  const wrongOrMissed = shipped.flatMap((s) => [
    ...s.wrong.map((t) => `${s.type} wrong: ${t}`),
    ...s.missed.map((t) => `${s.type} missed: ${t}`),
  ]);
  if (wrongOrMissed.length) console.log(`  ${wrongOrMissed.join('\n  ')}`);
  console.log(
    '\n' +
      table(
        ['cost per 200-character message', 'median µs', 'min µs', 'max µs', 'vs baseline'],
        costs.map((c, i) => [
          c.name,
          c.medianUs,
          c.minUs,
          c.maxUs,
          i === 0 || i === 2
            ? `${round(c.medianUs / costs[1].medianUs, 2)}×`
            : i === 3
              ? `${round(c.medianUs / costs[4].medianUs, 2)}×`
              : '',
        ]),
      ),
  );
  console.log(`aim: <= 20 µs per message; ${rounds} rounds of ${perRound} messages each\n`);
  const summary = (s: TypeScore) => ({
    type: s.type,
    found: s.truePositives,
    wrong: s.wrong.length,
    missed: s.missed.length,
    precision: round(s.precision, 4),
    recall: round(s.recall, 4),
  });
  console.log(
    JSON.stringify({
      benchmark: 'pii',
      machine: m,
      corpus: corpus.length,
      negatives: corpus.filter((c) => !c.types.length).length,
      shipped: shipped.map(summary),
      naive: naive.map(summary),
      costUs: Object.fromEntries(costs.map((c) => [c.name, { median: c.medianUs, min: c.minUs, max: c.maxUs }])),
      rounds,
      messagesPerRound: perRound,
    }),
  );
}
