import { DEFAULT_DEMO_PASSWORD, seed } from '../../scripts/seed-demo';
import { startTestApp, TestApp } from '../support/harness';

/**
 * What a newcomer finds after `npm run seed:demo`: published FAQs with their similar questions (相似问法),
 * searched like the questions, and a second run adding none of them again.
 */
describe('the demo knowledge base', () => {
  let app: TestApp;
  let customerToken: string;
  const SEARCH = 'query ($q: String!) { searchFaqs(query: $q, limit: 3) { score faq { question phrasings { text } } } }';
  const search = async (q: string) =>
    (
      await app.data<{ searchFaqs: Array<{ score: number; faq: { question: string; phrasings: Array<{ text: string }> } }> }, unknown>(
        SEARCH,
        { q },
        customerToken,
      )
    ).searchFaqs;
  const runSeed = async () => {
    const lines: string[] = [];
    await seed(app.services, app.services.orm, app.services.config, DEFAULT_DEMO_PASSWORD, 'the test database', (line) => lines.push(line));
    return lines.find((line) => line.startsWith('FAQs:'));
  };

  let firstSummary: string | undefined;

  beforeAll(async () => {
    app = await startTestApp();
    firstSummary = await runSeed();
    const login = await app.data<{ login: { token: string } }, unknown>(
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: 'customer01@demo.shiftdesk.local', p: DEFAULT_DEMO_PASSWORD },
    );
    customerToken = login.login.token;
  }, 180_000);
  afterAll(() => app?.stop());

  it('each FAQ holds its similar questions: 門票可以退嗎 finds the refund FAQ first, not the transfer one', async () => {
    const [first, ...rest] = await search('門票可以退嗎');
    expect(first.faq.question).toBe('如何申请退票？');
    expect(first.faq.phrasings.map((p) => p.text)).toEqual(expect.arrayContaining(['门票可以退吗']));
    expect(rest.map((h) => h.faq.question)).toContain('门票可以转赠给朋友吗？');
    expect(first.score).toBeGreaterThan(rest[0].score);
    // Another customer wording, another FAQ.
    expect((await search('券用不了'))[0].faq.question).toBe('优惠券为什么用不了？');
  });

  it('running the seed again adds no phrasing twice', async () => {
    const count = async () => Number((await app.services.orm.em.fork().execute(`SELECT count(*) AS n FROM faq_phrasings`))[0].n);
    const before = await count();
    expect(before).toBe(24);
    expect(firstSummary).toMatch(/12 created, 0 already there, 0 skipped\), 24 similar questions added/);
    expect(await runSeed()).toMatch(/0 created, 12 already there, 0 skipped\), 0 similar questions added/);
    expect(await count()).toBe(before);
  });
});
