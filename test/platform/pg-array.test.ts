import fc from 'fast-check';
import { pgArray } from '../../src/platform/db/arrays';
import { startTestApp, TestApp } from '../support/harness';

describe('pgArray', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it('round-trips any strings through PostgreSQL as one text[] parameter', async () => {
    const em = app.services.orm.em.fork();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')),
          { maxLength: 6 },
        ),
        async (values) => {
          const [row] = await em.execute<Array<{ a: string[] }>>('SELECT ?::text[] AS a', [pgArray(values)]);
          expect(row.a).toEqual(values);
        },
      ),
      { numRuns: 60 },
    );
  });
});
