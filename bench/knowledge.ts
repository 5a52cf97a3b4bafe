import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../src/context';
import { Role } from '../src/platform/auth/roles';
import { createLogger } from '../src/platform/logger';
import { FaqScope } from '../src/modules/knowledge/faq.entity';
import { analyseFaq } from '../src/modules/knowledge/faq-index';
import { Bm25Index } from '../src/modules/knowledge/search';
import { TextAnalyzer } from '../src/modules/knowledge/segmenter';
import { parseLexicon } from '../src/modules/knowledge/lexicon';
import { distractors, loadTestSet, readTestFile, Split, TestSet } from './knowledge-corpus';
import { bm25WithVectors, WordVectors } from './word-vectors';
import { collectGarbage, describeMachine, envInt, gql, machine, percentile, round, startBenchServer, table } from './support';

/**
 * `npm run bench -- knowledge`: FAQ search over 10,000 published FAQs (the 72 of the shipped test set plus
 * generated, plausible distractors about specific events), against PostgreSQL.
 *
 * - Accuracy on the test set's held-out half (never tuned on) and, apart, its tuning half: top-1, top-3 and the
 *   share of questions with no result, for the shipped ranking (BM25 over jieba words + CJK bigrams + the
 *   lexicon, plus the pg_trgm path), beside baselines — whole-query substring (ILIKE), shared characters,
 *   pg_trgm similarity alone — and ablations (trigram weight 0, no lexicon, Intl.Segmenter instead of jieba;
 *   with BENCH_WORD_VECTORS, a re-rank by word vectors). Misses are listed for the tuning half only.
 * - Auto-answer: precision at AUTO_ANSWER_THRESHOLD on each half (unanswerable questions answered count as
 *   wrong), and a threshold sweep on the tuning half, which is how the threshold is chosen.
 * - Latency: `searchFaqs` as full GraphQL round trips over HTTP (sequential), and the service's ranking
 *   in-process, p50/p99 over BENCH_SEARCHES searches cycling through the questions.
 * - Learning from service: the shipped ranking again once the tuning half's questions are accepted phrasings of
 *   their FAQs, as the learning loop would make them; measured last, on the held-out half.
 */
export async function run(): Promise<void> {
  const m = machine();
  const corpusSize = envInt('BENCH_FAQS', 10_000, 100);
  const searches = envInt('BENCH_SEARCHES', 2_000, 10);
  const set = loadTestSet();
  const server = await startBenchServer();
  try {
    const services = server.app.services;
    const faqs = services.faqs;
    const em = (): EntityManager => services.orm.em.fork() as EntityManager;
    const { data: login } = await gql<{ login: { token: string; user: { id: string } } }>(
      server.url,
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }',
      { e: server.adminEmail, p: server.adminPassword },
    );
    const token = login.login.token;
    const scope = (): RequestScope => ({
      viewer: { id: login.login.user.id, role: Role.ADMIN, departmentId: null },
      em: em(),
      traceId: 'bench',
      logger: createLogger('silent'),
      ip: '',
    });

    // The test set through the service (create + publish), the distractors straight into the table.
    const keyOf = new Map<string, string>();
    for (const f of set.faqs) {
      const faq = await faqs.create(scope(), {
        question: f.question,
        answer: f.answer,
        category: f.category,
        tags: f.tags,
        scope: FaqScope.PUBLIC,
      });
      await faqs.publish(scope(), faq.id);
      keyOf.set(faq.id, f.key);
    }
    const extra = distractors(corpusSize - set.faqs.length, services.config.knowledge.categories);
    let t = performance.now();
    await insertPublished(em(), faqs.analyzer, login.login.user.id, extra);
    const loadMs = performance.now() - t;

    // First search: the index catches up with all 10,000 rows.
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    t = performance.now();
    await faqs.rank(em(), '退票', 3);
    const indexBuildMs = performance.now() - t;
    collectGarbage();
    const indexHeapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    if (faqs.index.size !== corpusSize) throw new Error(`index holds ${faqs.index.size} FAQs, expected ${corpusSize}`);

    // ---- Accuracy, per split (the held-out half is what counts: nothing was tuned on it) ----
    const halves = { heldOut: set.queries.filter((q) => q.split === 'heldOut'), tuning: set.queries.filter((q) => q.split === 'tuning') };
    const accuracy: Record<string, { heldOut: Metrics; tuning: Metrics }> = {};
    const score = (name: string, rank: (q: string) => Promise<Array<string | undefined>> | Array<string | undefined>) => async () => {
      const out = { heldOut: await measure(halves.heldOut, rank), tuning: await measure(halves.tuning, rank) };
      accuracy[name] = out;
      return out;
    };
    // Misses are printed for the tuning half only: reading the held-out half's would be tuning on it.
    const missed: string[] = [];
    const shippedRank = async (q: string) => (await faqs.rank(em(), q, 3)).map((h) => keyOf.get(h.faq.id) ?? '(distractor)');
    const engine = services.config.knowledge.engine;
    const other = engine === 'jieba' ? 'intl' : 'jieba';
    await score(`shipped: BM25 (${engine} words + bigrams + lexicon) + pg_trgm path`, shippedRank)();
    for (const q of halves.tuning) {
      const keys = await shippedRank(q.query);
      if (keys[0] !== q.expected) missed.push(`${q.query} → ${keys.join(', ') || '(nothing)'} (expected ${q.expected})`);
    }

    const params = services.config.knowledge.search;
    const trigramWeight = params.trigramWeight;
    params.trigramWeight = 0;
    await score('BM25 + lexicon, trigram weight 0', shippedRank)();
    params.trigramWeight = trigramWeight;
    const homophoneWeight = params.homophoneWeight;
    params.homophoneWeight = 0;
    await score('shipped, without the homophone path (homophoneWeight 0)', shippedRank)();
    params.homophoneWeight = homophoneWeight;

    const corpus = [...set.faqs.map((f) => ({ ...f, key: f.key as string | undefined })), ...extra.map((f) => ({ ...f, key: undefined }))];
    const knowledge = services.config.knowledge;
    const noLexicon = inMemory(
      corpus,
      new TextAnalyzer({ engine, stopWords: knowledge.stopWords, lexicon: { terms: {}, typos: {} } }),
      params,
    );
    await score('BM25 only, no lexicon', noLexicon)();
    const otherEngine = inMemory(
      corpus,
      new TextAnalyzer({ engine: other, stopWords: knowledge.stopWords, lexicon: knowledge.lexicon }),
      params,
    );
    await score(`BM25 only, ${other === 'intl' ? 'Intl.Segmenter' : 'jieba'} instead of ${engine}`, otherEngine)();
    // Before and after the second tuning round (issue 15), side by side on one path (BM25 in memory, no trigram):
    // the first round's lexicon (test/knowledge/lexicon-round1.json) and weights, then today's.
    const round1 = inMemory(
      corpus,
      new TextAnalyzer({
        engine,
        stopWords: knowledge.stopWords,
        lexicon: parseLexicon(readTestFile('lexicon-round1.json'), 'lexicon-round1.json'),
      }),
      { ...params, titleWeight: 3, bigramWeight: 1, trigramWeight: 0.1 },
    );
    await score('BM25 only, first round: its lexicon and weights (title 3, bigram 1)', round1)();
    await score('BM25 only, this lexicon and weights', inMemory(corpus, faqs.analyzer, params))();
    // Semantic matching (issue 15, item 5) measured, not shipped: see bench/word-vectors.ts and docs/knowledge.md.
    const vectorsFile = process.env.BENCH_WORD_VECTORS;
    if (vectorsFile) {
      const vectors = WordVectors.load(vectorsFile);
      for (const [label, analyzer] of [
        ['', faqs.analyzer],
        [', no lexicon', new TextAnalyzer({ engine, stopWords: knowledge.stopWords, lexicon: { terms: {}, typos: {} } })],
      ] as const) {
        for (const weight of [0.1, 0.2]) {
          const rank = bm25WithVectors(corpus, analyzer, params, vectors, weight);
          await score(`BM25 + word2vec re-rank (${vectors.size} words), weight ${weight}${label}`, rank)();
        }
      }
    }

    const idToKey = (rows: Array<{ id: string }>) => rows.map((r) => keyOf.get(r.id) ?? '(distractor)');
    await score('baseline: pg_trgm similarity(question) only', async (q) =>
      idToKey(await em().execute(`SELECT id FROM faqs WHERE status = 'PUBLISHED' ORDER BY similarity(question, ?) DESC, id LIMIT 3`, [q])),
    )();
    await score('baseline: substring (question or answer ILIKE %query%)', async (q) =>
      idToKey(
        await em().execute(`SELECT id FROM faqs WHERE status = 'PUBLISHED' AND (question || answer) ILIKE ? ORDER BY id LIMIT 3`, [
          `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
        ]),
      ),
    )();
    await score('baseline: most query characters in the question', sharedCharacters(corpus))();

    // ---- Auto-answer: precision at the threshold, and how the threshold was chosen (on the tuning half only) ----
    const best = new Map<string, { key: string | undefined; score: number } | null>();
    for (const q of [...set.queries.map((x) => x.query), ...set.noAnswer.map((x) => x.query)]) {
      const [top] = await faqs.rank(em(), q, 1);
      best.set(q, top ? { key: keyOf.get(top.faq.id), score: top.score } : null);
    }
    const answering = (split: Split, threshold: number) => {
      let right = 0;
      let wrong = 0;
      for (const q of set.queries.filter((x) => x.split === split)) {
        const b = best.get(q.query);
        if (b && b.score >= threshold) {
          if (b.key === q.expected) right++;
          else wrong++;
        }
      }
      const unanswerable = set.noAnswer.filter((x) => x.split === split);
      const falseAnswers = unanswerable.filter((x) => (best.get(x.query)?.score ?? 0) >= threshold).length;
      const questions = set.queries.filter((x) => x.split === split).length;
      const answered = right + wrong + falseAnswers;
      return {
        threshold,
        precision: answered ? round(right / answered, 3) : null,
        answeredShare: round((right + wrong) / questions, 3),
        answeredUnanswerable: `${falseAnswers}/${unanswerable.length}`,
      };
    };
    const sweep = Array.from({ length: 15 }, (_, i) => round(0.2 + i * 0.05, 2)).map((t) => answering('tuning', t));
    // The lowest threshold from which on the tuning half's precision stays ≥ 0.95 wherever anything is answered.
    const chosen =
      sweep.find((x, i) => x.answeredShare > 0 && sweep.slice(i).every((y) => y.precision === null || y.precision >= 0.95))?.threshold ??
      null;
    const autoAnswerThreshold = knowledge.autoAnswerThreshold;
    const autoAnswer = {
      threshold: autoAnswerThreshold,
      heldOut: answering('heldOut', autoAnswerThreshold),
      tuning: answering('tuning', autoAnswerThreshold),
      bestAnswerMinScore: {
        heldOut: answering('heldOut', params.bestAnswerMinScore),
        tuning: answering('tuning', params.bestAnswerMinScore),
      },
      chosenOnTuning: chosen === null ? null : { heldOut: answering('heldOut', chosen), tuning: answering('tuning', chosen) },
    };

    // ---- Latency ----
    const queries = set.queries.map((q) => q.query);
    const http: number[] = [];
    const inProcess: number[] = [];
    const document = 'query ($q: String!) { searchFaqs(query: $q, limit: 5) { score matchedTerms faq { id question answer category } } }';
    for (let i = -20; i < searches; i++) {
      const q = queries[(i + queries.length * 20) % queries.length];
      const t0 = performance.now();
      await gql(server.url, document, { q }, token);
      if (i >= 0) http.push(performance.now() - t0);
    }
    for (let i = -20; i < searches; i++) {
      const q = queries[(i + queries.length * 20) % queries.length];
      const t0 = performance.now();
      await faqs.rank(em(), q, 5);
      if (i >= 0) inProcess.push(performance.now() - t0);
    }
    // The floor under every HTTP figure: a query that touches no FAQ (context, auth, GraphQL, JSON, loopback).
    const floor: number[] = [];
    for (let i = -20; i < Math.min(searches, 500); i++) {
      const t0 = performance.now();
      await gql(server.url, '{ faqCategories }', undefined, token);
      if (i >= 0) floor.push(performance.now() - t0);
    }
    const stats = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return { p50: round(percentile(s, 50), 2), p99: round(percentile(s, 99), 2), max: round(s[s.length - 1], 2), runs: s.length };
    };
    const latency = { http: stats(http), inProcess: stats(inProcess), httpFloor: stats(floor) };

    // ---- Learning from service (issue 15, item 3), last: it changes the index ----
    // What the learning loop would do once the tuning half's questions had been asked and answered well: each
    // accepted as a phrasing of its FAQ. Only the held-out half's figure means anything here (the tuning half now
    // searches its own words); no rule or weight changes.
    let learnt = 0;
    const refused: string[] = [];
    for (const q of halves.tuning) {
      const faqId = [...keyOf].find(([, key]) => key === q.expected)?.[0];
      if (!faqId) continue;
      try {
        await services.faqPhrasings.add(scope(), faqId, q.query);
        learnt++;
      } catch (err) {
        // refused as it would be for a manager (e.g. with the lexicon applied it reads as its FAQ's own question)
        refused.push(`${q.query} → ${q.expected}: ${(err as Error).message}`);
      }
    }
    await score(`shipped, after learning ${learnt} tuning questions as phrasings (held-out only)`, shippedRank)();

    console.log(describeMachine(m));
    console.log(
      `database: ${server.database}; corpus: ${corpusSize} published FAQs (${set.faqs.length} of the test set + ${extra.length} distractors); ` +
        `${halves.heldOut.length} held-out and ${halves.tuning.length} tuning questions\n`,
    );
    console.log(
      table(
        ['ranking', 'held-out top-1', 'top-3', 'empty', 'tuning top-1', 'top-3', 'empty'],
        Object.entries(accuracy).map(([name, a]) => [
          name,
          a.heldOut.top1,
          a.heldOut.top3,
          a.heldOut.empty,
          a.tuning.top1,
          a.tuning.top3,
          a.tuning.empty,
        ]),
      ),
    );
    console.log('aims on the held-out half: top-1 ≥ 0.85, top-3 ≥ 0.95, empty ≤ 0.01\n');
    console.log('auto-answer threshold sweep on the TUNING half (precision counts answers to unanswerable questions as wrong):');
    console.log(
      table(
        ['threshold', 'precision', 'answered share', 'unanswerable answered'],
        sweep.map((x) => [x.threshold, x.precision ?? '-', x.answeredShare, x.answeredUnanswerable]),
      ),
    );
    console.log(
      `\nAUTO_ANSWER_THRESHOLD ${autoAnswerThreshold}: held-out precision ${autoAnswer.heldOut.precision ?? '-'} answering ${autoAnswer.heldOut.answeredShare} of the questions ` +
        `(${autoAnswer.heldOut.answeredUnanswerable} unanswerable answered); tuning ${autoAnswer.tuning.precision ?? '-'} / ${autoAnswer.tuning.answeredShare}. ` +
        `bestAnswerMinScore ${params.bestAnswerMinScore}: held-out precision ${autoAnswer.bestAnswerMinScore.heldOut.precision ?? '-'} answering ${autoAnswer.bestAnswerMinScore.heldOut.answeredShare}`,
    );
    const c = autoAnswer.chosenOnTuning;
    console.log(
      c
        ? `threshold chosen on the tuning half (precision ≥ 0.95 from there up): ${c.heldOut.threshold}: held-out precision ${c.heldOut.precision ?? '-'} answering ${c.heldOut.answeredShare} (${c.heldOut.answeredUnanswerable} unanswerable answered)\n`
        : 'no threshold keeps the tuning precision ≥ 0.95\n',
    );
    console.log(
      table(
        ['searchFaqs over 10,000 FAQs', 'runs', 'p50 ms', 'p99 ms', 'max ms', 'target'],
        [
          ['GraphQL over HTTP (limit 5)', latency.http.runs, latency.http.p50, latency.http.p99, latency.http.max, 'p99 < 30 ms'],
          [
            'in-process ranking (FaqService.rank)',
            latency.inProcess.runs,
            latency.inProcess.p50,
            latency.inProcess.p99,
            latency.inProcess.max,
            '',
          ],
          [
            'HTTP floor: { faqCategories } (no search)',
            latency.httpFloor.runs,
            latency.httpFloor.p50,
            latency.httpFloor.p99,
            latency.httpFloor.max,
            '',
          ],
        ],
      ),
    );
    console.log(
      `\ndistractors inserted in ${round(loadMs / 1000, 1)} s (segmented with ${services.config.knowledge.engine}); index caught up with ${corpusSize} rows in ${round(indexBuildMs, 0)} ms, ` +
        `~${round(indexHeapMiB, 1)} MiB of heap`,
    );
    console.log(
      `tuning questions missed at top-1 (shipped; the held-out half's are not printed): ${missed.length}\n  ${missed.join('\n  ')}`,
    );
    if (refused.length) console.log(`tuning questions refused as phrasings: ${refused.length}\n  ${refused.join('\n  ')}`);
    console.log(
      JSON.stringify({
        benchmark: 'knowledge',
        machine: m,
        database: server.database,
        corpus: corpusSize,
        questions: { heldOut: halves.heldOut.length, tuning: halves.tuning.length },
        accuracy,
        autoAnswer,
        thresholdSweepTuning: sweep,
        latencyMs: latency,
        indexBuildMs: round(indexBuildMs, 0),
        indexHeapMiB: round(indexHeapMiB, 1),
      }),
    );
  } finally {
    await server.stop();
  }
}

/** Distractors straight into the table, already published and analysed (trigram text too), under one new index version. */
async function insertPublished(
  em: EntityManager,
  analyzer: TextAnalyzer,
  createdById: string,
  rows: Array<{ question: string; answer: string; category: string; tags: string[] }>,
): Promise<void> {
  const [{ version }] = await em.execute<Array<{ version: string }>>(
    `UPDATE knowledge_index_state SET version = version + 1 WHERE id = 1 RETURNING version`,
  );
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000).map((r) => {
      const terms = analyseFaq(analyzer, r);
      return { id: randomUUID(), ...r, title_terms: terms.titleTerms, body_terms: terms.bodyTerms, match_text: terms.matchText };
    });
    await em.execute(
      `INSERT INTO faqs (id, scope, question, answer, category, tags, status, title_terms, body_terms, match_text, analyzer, revision, created_by_id, published_at)
       SELECT id, 'PUBLIC', question, answer, category, tags, 'PUBLISHED', title_terms, body_terms, match_text, ?, ?, ?, now()
         FROM jsonb_to_recordset(?::jsonb) AS t(id uuid, question text, answer text, category text, tags text[], title_terms text[], body_terms text[], match_text text)`,
      [analyzer.id, version, createdById, JSON.stringify(chunk)],
    );
  }
}

/** BM25 alone, in memory, with another analysis: a ranking of the top three test-set keys per question. */
function inMemory(
  corpus: Array<{ key?: string; question: string; answer: string; tags: string[] }>,
  analyzer: TextAnalyzer,
  params: ConstructorParameters<typeof Bm25Index>[0],
): (q: string) => Array<string | undefined> {
  const index = new Bm25Index(params);
  const keys = new Map<string, string | undefined>();
  corpus.forEach((f, i) => {
    const { titleTerms, bodyTerms } = analyseFaq(analyzer, f);
    index.upsert({ id: String(i), title: titleTerms, body: bodyTerms });
    keys.set(String(i), f.key);
  });
  return (q) => index.search(analyzer.terms(q), 3, [], analyzer.soundOf).map((h) => keys.get(h.id) ?? '(distractor)');
}

/** The naive ranking: questions that contain the most of the query's distinct characters (letters, digits, CJK). */
function sharedCharacters(corpus: Array<{ key?: string; question: string }>): (q: string) => Array<string | undefined> {
  const lowered = corpus.map((f) => f.question.toLowerCase());
  return (query) => {
    const chars = [...new Set(Array.from(query.toLowerCase()).filter((c) => /[\p{L}\p{N}]/u.test(c)))];
    return lowered
      .map((question, i) => ({ i, n: chars.filter((c) => question.includes(c)).length }))
      .filter((x) => x.n > 0)
      .sort((a, b) => b.n - a.n || a.i - b.i)
      .slice(0, 3)
      .map((x) => corpus[x.i].key ?? '(distractor)');
  };
}

interface Metrics {
  top1: number;
  top3: number;
  /** Share of questions with no result at all. */
  empty: number;
}

async function measure(
  questions: TestSet['queries'],
  rank: (q: string) => Promise<Array<string | undefined>> | Array<string | undefined>,
): Promise<Metrics> {
  let top1 = 0;
  let top3 = 0;
  let empty = 0;
  for (const q of questions) {
    const keys = await rank(q.query);
    if (keys[0] === q.expected) top1++;
    if (keys.slice(0, 3).includes(q.expected)) top3++;
    if (!keys.length) empty++;
  }
  const n = questions.length || 1;
  return { top1: round(top1 / n, 3), top3: round(top3 / n, 3), empty: round(empty / n, 3) };
}
