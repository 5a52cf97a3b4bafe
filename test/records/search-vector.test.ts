import fc from 'fast-check';
import { pgArray } from '../../src/platform/db/arrays';
import { startTestApp, TestApp } from '../support/harness';

/** The bigram vector as migration records first defined it: the reference the linear-time version must equal. */
const FIRST_DEFINITION = `
  CREATE FUNCTION pg_temp.search_vector_first(content text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT to_tsvector('simple'::regconfig, coalesce(string_agg(substr(content, i, 2), ' '), ''))
      FROM generate_series(1, char_length(content) - 1) AS i
  $$`;

describe('records_search_vector: the message bigram index', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  /** Both vectors of each text, compared in PostgreSQL on one connection (the reference is a temporary function). */
  async function differences(texts: string[]): Promise<Array<{ text: string; now: string; first: string }>> {
    return app.services.orm.em.fork().transactional(async (em) => {
      await em.execute(FIRST_DEFINITION);
      const rows = await em.execute<Array<{ text: string; now: string; first: string }>>(
        `SELECT t AS text, records_search_vector(t)::text AS now, pg_temp.search_vector_first(t)::text AS first
           FROM unnest(?::text[]) AS t
          WHERE records_search_vector(t) IS DISTINCT FROM pg_temp.search_vector_first(t)`,
        [pgArray(texts)],
      );
      await em.execute('DROP FUNCTION pg_temp.search_vector_first(text)');
      return rows;
    });
  }

  it('equals the first definition for any text, so the indexes built with it stay valid', async () => {
    const chars = fc.constantFrom(...'退款改签a1B2 :，。！?🎫é\u0301ß_-'.split(''), 'Ａ', '\t', '\n', '龘');
    const texts = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !s.includes('\u0000')),
      fc.array(chars, { maxLength: 80 }).map((cs) => cs.join('')),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(texts, { minLength: 1, maxLength: 40 }), async (batch) => {
        expect(await differences(batch)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('holds at the edges: empty, one character, NULL, and a message of the largest size', async () => {
    const long = '您好我想退款请问怎么操作谢谢 order A123 '.repeat(200).slice(0, 5000);
    expect(await differences(['', '退', 'ab', long])).toEqual([]);
    const [row] = await app.services.orm.em.fork().execute<Array<{ empty: string; one: string; none: boolean; pairs: number }>>(
      `SELECT records_search_vector('')::text AS empty, records_search_vector('退')::text AS one,
                records_search_vector(NULL) IS NULL AS none, length(records_search_vector('退款退款')) AS pairs`,
    );
    expect(row).toEqual({ empty: '', one: '', none: true, pairs: 2 }); // 退款 and 款退
  });
});
