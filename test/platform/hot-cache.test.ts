import { CreateFaqDocument, FaqsDocument, PublishFaqDocument } from '../generated/graphql';
import { createTestDatabase, describeWithRedis, eventually, startTestApp, TestApp } from '../support/harness';

async function metric(app: TestApp, name: string, area: string): Promise<number> {
  const text = await (await fetch(app.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{area="${area}"}`));
  return line ? Number(line.split(' ')[1]) : 0;
}

const DEPARTMENTS = '{ departments { id name code } }';
const SHIFTS = '{ shifts { id name code } }';

describeWithRedis('hot reads cached in each process, invalidated across the cluster', () => {
  let a: TestApp;
  let b: TestApp;
  let adminA: string;
  let adminB: string;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    a = await startTestApp({ redis: true, databaseUrl });
    b = await startTestApp({ redis: true, databaseUrl });
    adminA = await a.adminToken();
    adminB = await b.adminToken();
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('serves repeated reads from the cache (no PostgreSQL read after the first)', async () => {
    await b.data(DEPARTMENTS, undefined, adminB);
    const misses = await metric(b, 'shiftdesk_cache_misses_total', 'departments');
    const hits = await metric(b, 'shiftdesk_cache_hits_total', 'departments');
    for (let i = 0; i < 5; i++) await b.data(DEPARTMENTS, undefined, adminB);
    expect(await metric(b, 'shiftdesk_cache_misses_total', 'departments')).toBe(misses);
    expect(await metric(b, 'shiftdesk_cache_hits_total', 'departments')).toBe(hits + 5);
  });

  it('a department created on process A is listed by process B within a second', async () => {
    expect(
      (await b.data<{ departments: Array<{ code: string }> }, unknown>(DEPARTMENTS, undefined, adminB)).departments.map((d) => d.code),
    ).not.toContain('cached');
    await a.createDepartment('Cached', 'cached');
    await eventually(
      async () =>
        (await b.data<{ departments: Array<{ code: string }> }, unknown>(DEPARTMENTS, undefined, adminB)).departments.some(
          (d) => d.code === 'cached',
        ),
      1000,
      'process B listing the new department',
    );
  });

  it('a shift type renamed on process A reads renamed on process B within a second', async () => {
    const created = await a.data<{ createShift: { id: string } }, unknown>(
      'mutation ($input: CreateShiftInput!) { createShift(input: $input) { id } }',
      { input: { name: 'Early', code: 'early-cache', startTime: '08:00', endTime: '16:00' } },
      adminA,
    );
    await eventually(
      async () =>
        (await b.data<{ shifts: Array<{ id: string }> }, unknown>(SHIFTS, undefined, adminB)).shifts.some(
          (s) => s.id === created.createShift.id,
        ),
      1000,
      'B listing the shift',
    );
    await a.data(
      'mutation ($id: ID!) { updateShift(id: $id, input: { name: "Early (renamed)" }) { id } }',
      { id: created.createShift.id },
      adminA,
    );
    await eventually(
      async () =>
        (await b.data<{ shifts: Array<{ id: string; name: string }> }, unknown>(SHIFTS, undefined, adminB)).shifts.find(
          (s) => s.id === created.createShift.id,
        )?.name === 'Early (renamed)',
      1000,
      'process B reading the new name',
    );
  });

  it('a FAQ published on process A is listed by process B within a second', async () => {
    const customer = await b.createUser({ role: 'CUSTOMER' });
    const before = await b.data(FaqsDocument, { first: 20 }, customer.token);
    const faq = await a.data(
      CreateFaqDocument,
      { input: { question: '缓存怎么失效?', answer: '变更之后立即失效。', category: '其他', scope: 'PUBLIC' } as never },
      adminA,
    );
    expect(before.faqs.nodes.map((n) => n.id)).not.toContain(faq.createFaq.id);
    await a.data(PublishFaqDocument, { id: faq.createFaq.id }, adminA);
    await eventually(
      async () => (await b.data(FaqsDocument, { first: 20 }, customer.token)).faqs.nodes.some((n) => n.id === faq.createFaq.id),
      1000,
      'B listing the FAQ',
    );
  });
});
