import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { analyseFaq } from '../../src/modules/knowledge/faq-index';
import { SEARCH_STATEMENT } from '../../src/modules/knowledge/faq-ranking';
import { CreateFaqDocument, PublishFaqDocument, SearchFaqsDocument } from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

/**
 * How much a search reads, over a corpus big enough for the planner to choose as it would in production
 * (3,000 published FAQs). A search's statement once joined its ~40 candidates to `faqs` as
 * `f.id IN (SELECT … FROM candidates)`: PostgreSQL read every FAQ and probed the candidate list once per row,
 * ~150 ms of a 195 ms search over 10,000 FAQs. These tests hold the work to the candidates, without timing.
 */
const CORPUS = 3_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

describe('FAQ search over a big corpus reads only its candidates', () => {
  let app: TestApp;
  let token: string;
  let refundId: string;
  const em = (): EntityManager => app.services.orm.em.fork() as EntityManager;

  beforeAll(async () => {
    app = await startTestApp();
    token = await app.adminToken();
    const { createFaq } = await app.data(
      CreateFaqDocument,
      {
        input: {
          question: '退票后钱多久能退回到原支付账户？',
          answer: '退款 1–7 个工作日原路退回。',
          category: '退票退款',
          tags: ['退款到账'],
          scope: 'PUBLIC',
        },
      },
      token,
    );
    await app.data(PublishFaqDocument, { id: createFaq.id }, token);
    refundId = createFaq.id;
    // Distractors straight into the table (as the benchmark does), analysed like the service would, under a new version.
    const analyzer = app.services.faqs.analyzer;
    const [{ id: adminId }] = await em().execute<Array<{ id: string }>>(`SELECT id FROM users WHERE role = 'ADMIN' LIMIT 1`);
    const [{ version }] = await em().execute<Array<{ version: string }>>(
      `UPDATE knowledge_index_state SET version = version + 1 WHERE id = 1 RETURNING version`,
    );
    const rows = Array.from({ length: CORPUS }, (_, i) => {
      const faq = {
        question: `第${i}场演出在${['北京', '上海', '广州', '成都'][i % 4]}站几点开始入场？`,
        answer: `第${i}场演出的入场时间见票面。`,
        tags: [],
      };
      const terms = analyseFaq(analyzer, faq);
      return { id: randomUUID(), ...faq, title: terms.titleTerms, body: terms.bodyTerms, match: terms.matchText };
    });
    await em().execute(
      `INSERT INTO faqs (id, scope, question, answer, category, tags, status, title_terms, body_terms, match_text, analyzer, revision, created_by_id, published_at)
       SELECT id, 'PUBLIC', question, answer, '入场观演', '{}', 'PUBLISHED', title, body, match, ?, ?, ?, now()
         FROM jsonb_to_recordset(?::jsonb) AS t(id uuid, question text, answer text, title text[], body text[], match text)`,
      [analyzer.id, version, adminId, JSON.stringify(rows)],
    );
    await em().execute('ANALYZE faqs');
  });
  afterAll(() => app.stop());

  it('searchFaqs over HTTP finds the refund FAQ first among 3,001 published FAQs', async () => {
    const hits = (await app.data(SearchFaqsDocument, { query: '退钱多久到账', limit: 5 }, token)).searchFaqs;
    expect(hits[0]?.faq.id).toBe(refundId);
    const entry = (await app.data(SearchFaqsDocument, { query: '上海站几点入场', limit: 5 }, token)).searchFaqs;
    expect(entry).toHaveLength(5);
    expect(entry.every((h) => h.faq.question.includes('上海站'))).toBe(true);
  });

  it('the search statement fetches FAQ rows by primary key, one per candidate, and never scans the whole table', async () => {
    await app.services.faqs.index.fresh();
    const wordCandidates = app.services.faqs.index.search(app.services.faqs.analyzer.terms('上海站几点入场'), 30);
    expect(wordCandidates.length).toBe(30); // the word path sends its best 30, not every document it scored
    const [
      {
        'QUERY PLAN': [explained],
      },
    ] = await em().execute<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${SEARCH_STATEMENT}`, [
      `{${app.services.faqs.analyzer.matchText('上海站几点入场')}}`,
      `{${wordCandidates.map(() => 1).join(',')}}`,
      `{${wordCandidates.map((c) => c.id).join(',')}}`,
    ]);
    const onFaqs = nodesOf(explained.Plan).filter((n) => n['Relation Name'] === 'faqs');
    expect(onFaqs.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    // Rows read from faqs: the trigram path's 10 nearest, then each candidate (the word path's and those 10) once.
    const rowsRead = onFaqs.reduce((sum, n) => sum + n['Actual Rows'] * n['Actual Loops'], 0);
    expect(rowsRead).toBeLessThanOrEqual(10 + wordCandidates.length + 10);
  });
});
