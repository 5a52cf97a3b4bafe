import { Role } from '../../src/platform/auth/roles';
import { RecordSearchService } from '../../src/modules/records/search.service';
import { startTestApp, TestApp } from '../support/harness';
import { daysAgo, seedConversation } from './records-helpers';

const SEARCH = `query ($filter: ConversationSearchFilter, $first: Int, $after: String, $includeArchived: Boolean) {
  searchConversations(filter: $filter, first: $first, after: $after, includeArchived: $includeArchived) {
    nodes { archived conversation { id agent { id } department { id } rating priority intent status archived }
            matches { messageId seq senderRole snippet highlighted ranges { start length } } }
    pageInfo { endCursor hasNextPage } } }`;

type Hit = {
  archived: boolean;
  conversation: { id: string; rating: number | null; intent: string | null };
  matches: Array<{ seq: number; snippet: string; highlighted: string; ranges: Array<{ start: number; length: number }> }>;
};
type SearchResult = { searchConversations: { nodes: Hit[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } };

describe('searchConversations', () => {
  let app: TestApp;
  let deptA: { id: string };
  let deptB: { id: string };
  let agentA: { id: string; token: string };
  let agentA2: { id: string; token: string };
  let agentB: { id: string; token: string };
  let managerA: { id: string; token: string };
  let customer: { id: string; token: string };
  let admin: string;
  const ids: Record<string, string> = {};

  const search = (token: string, variables: Record<string, unknown>) => app.exec<SearchResult, unknown>(SEARCH, variables, token);
  const found = async (token: string, variables: Record<string, unknown>) => {
    const res = await search(token, { first: 50, ...variables });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.searchConversations.nodes.map((n) => n.conversation.id).sort();
  };
  const sorted = (...names: string[]) => names.map((n) => ids[n]).sort();

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    deptA = await app.createDepartment('售后', 'after_sales');
    deptB = await app.createDepartment('销售', 'sales');
    agentA = await app.createUser({ role: 'AGENT', departmentId: deptA.id });
    agentA2 = await app.createUser({ role: 'AGENT', departmentId: deptA.id });
    agentB = await app.createUser({ role: 'AGENT', departmentId: deptB.id });
    managerA = await app.createUser({ role: 'MANAGER', departmentId: deptA.id });
    customer = await app.createUser({ role: 'CUSTOMER' });
    const base = { customerId: customer.id };
    ids.refundA = await seedConversation(app, {
      ...base,
      agentId: agentA.id,
      departmentId: deptA.id,
      createdAt: daysAgo(10),
      rating: 5,
      intent: 'AFTER_SALES',
      messages: [{ content: '你好，我想申请退款' }, { content: '好的，退款会在三个工作日内到账', role: 'AGENT' }, { content: '谢谢' }],
    });
    ids.phoneA = await seedConversation(app, {
      ...base,
      agentId: agentA.id,
      departmentId: deptA.id,
      createdAt: daysAgo(40),
      rating: 2,
      priority: 'HIGH',
      intent: 'COMPLAINT',
      // As the columns hold it once personal data is masked on write.
      messages: [{ content: '请打我电话 138****5678 处理投诉', piiTypes: ['PHONE'] }],
    });
    ids.ticketsA2 = await seedConversation(app, {
      ...base,
      agentId: agentA2.id,
      departmentId: deptA.id,
      createdAt: daysAgo(5),
      intent: 'PRODUCT_INQUIRY',
      messages: [{ content: '演唱会门票还有吗？' }, { content: '还有少量门票，可以退款吗' }],
    });
    ids.salesB = await seedConversation(app, {
      ...base,
      agentId: agentB.id,
      departmentId: deptB.id,
      createdAt: daysAgo(3),
      rating: 5,
      status: 'ACTIVE',
      messages: [{ content: 'VIP 套票的价格是多少？Refund policy?' }],
    });
  });
  afterAll(() => app.stop());

  it('each role sees its scope: the agent their own, the manager their department, the admin all', async () => {
    expect(await found(agentA.token, {})).toEqual(sorted('refundA', 'phoneA'));
    expect(await found(managerA.token, {})).toEqual(sorted('refundA', 'phoneA', 'ticketsA2'));
    expect(await found(admin, {})).toEqual(sorted('refundA', 'phoneA', 'ticketsA2', 'salesB'));
    expect(await found(admin, { filter: { departmentId: deptB.id } })).toEqual(sorted('salesB'));
    expect(await found(managerA.token, { filter: { agentId: agentA2.id } })).toEqual(sorted('ticketsA2'));
  });

  it('refuses customers, and staff asking outside their scope', async () => {
    const asCustomer = await search(customer.token, {});
    expect(asCustomer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const otherAgent = await search(agentA.token, { filter: { agentId: agentA2.id } });
    expect(otherAgent.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const otherDepartment = await search(managerA.token, { filter: { departmentId: deptB.id } });
    expect(otherDepartment.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const anonymous = await app.exec(SEARCH, {});
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('finds a Chinese keyword in messages and highlights it in each matching message', async () => {
    const res = await search(admin, { filter: { keyword: '退款' }, first: 10 });
    const nodes = res.data!.searchConversations.nodes;
    expect(nodes.map((n) => n.conversation.id).sort()).toEqual(sorted('refundA', 'ticketsA2'));
    const refund = nodes.find((n) => n.conversation.id === ids.refundA)!;
    expect(refund.matches.map((m) => m.seq)).toEqual([1, 2]);
    expect(refund.matches[0]).toMatchObject({
      snippet: '你好，我想申请退款',
      ranges: [{ start: 7, length: 2 }],
      highlighted: '你好，我想申请<mark>退款</mark>',
    });
    // Longer keywords, Latin text (any case) and the agent's scope.
    expect(await found(admin, { filter: { keyword: '三个工作日' } })).toEqual(sorted('refundA'));
    expect(await found(admin, { filter: { keyword: 'refund' } })).toEqual(sorted('salesB'));
    expect(await found(agentA2.token, { filter: { keyword: '退款' } })).toEqual(sorted('ticketsA2'));
    expect(await found(admin, { filter: { keyword: '没有的词' } })).toEqual([]);
  });

  it('searches the masked text only: the hidden digits of a phone number match nothing', async () => {
    expect(await found(admin, { filter: { keyword: '12345678' } })).toEqual([]);
    expect(await found(admin, { filter: { keyword: '138****5678' } })).toEqual(sorted('phoneA'));
    const res = await search(admin, { filter: { keyword: '138' } });
    const hit = res.data!.searchConversations.nodes.find((n) => n.conversation.id === ids.phoneA)!;
    expect(hit.matches[0].snippet).toBe('请打我电话 138****5678 处理投诉');
    expect(await found(admin, { filter: { hasPii: true } })).toEqual(sorted('phoneA'));
    expect(await found(admin, { filter: { hasPii: false } })).toEqual(sorted('refundA', 'ticketsA2', 'salesB'));
  });

  it('filters by rating, priority, intent, status and time', async () => {
    expect(await found(admin, { filter: { rating: 5 } })).toEqual(sorted('refundA', 'salesB'));
    expect(await found(admin, { filter: { priority: 'HIGH' } })).toEqual(sorted('phoneA'));
    expect(await found(admin, { filter: { intent: 'AFTER_SALES' } })).toEqual(sorted('refundA'));
    expect(await found(admin, { filter: { status: 'ACTIVE' } })).toEqual(sorted('salesB'));
    expect(await found(admin, { filter: { from: daysAgo(20).toISOString(), to: daysAgo(4).toISOString() } })).toEqual(
      sorted('refundA', 'ticketsA2'),
    );
    expect(await found(agentA.token, { filter: { from: daysAgo(60).toISOString(), to: daysAgo(30).toISOString() } })).toEqual(
      sorted('phoneA'),
    );
  });

  it('pages newest first with cursors, none twice', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: SearchResult = (await search(admin, { first: 1, after })).data!;
      seen.push(...res.searchConversations.nodes.map((n) => n.conversation.id));
      if (!res.searchConversations.pageInfo.hasNextPage) break;
      after = res.searchConversations.pageInfo.endCursor;
    }
    expect(seen).toEqual([ids.salesB, ids.ticketsA2, ids.refundA, ids.phoneA]);
  });

  it('finds the same pages whether the keyword index alone or the newest conversations first supply them', async () => {
    // A server of its own: the admin searches everything, and the other tests count what the admin finds.
    const app = await startTestApp();
    const deptA = await app.createDepartment('售后', 'after_sales');
    const agentA = await app.createUser({ role: 'AGENT', departmentId: deptA.id });
    const customer = await app.createUser({ role: 'CUSTOMER' });
    try {
      for (let i = 0; i < 12; i++) {
        await seedConversation(app, {
          customerId: customer.id,
          agentId: agentA.id,
          departmentId: deptA.id,
          createdAt: daysAgo(100 + i),
          messages: [{ content: i % 3 ? '无关' : `旧的退款记录${i}` }],
        });
      }
      const scope = {
        viewer: { id: 'admin', role: Role.ADMIN, departmentId: null } as never,
        em: app.services.orm.em.fork(),
        traceId: 't',
        logger: undefined as never,
        ip: '',
      };
      const pages = async (service: RecordSearchService) => {
        const out: string[][] = [];
        let after: string | null = null;
        do {
          const page = await service.search(scope, { keyword: '退款' }, 2, after, false);
          out.push(page.nodes.map((n) => n.conversation.id));
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        return out;
      };
      const rules = app.services.config.pii.rules;
      // Found through the index alone (few candidates), or as a frequent keyword: the newest conversations first, then the index.
      const byIndex = await pages(new RecordSearchService(rules));
      expect(byIndex.flat()).toHaveLength(4);
      for (const firstWindow of [1, 3]) {
        // The index alone (the cap not reached), and a "frequent" keyword (cap 1) with windows of every size.
        expect(await pages(new RecordSearchService(rules, { firstWindow, candidateCap: 100, probeWindow: 5 }))).toEqual(byIndex);
        for (const probeWindow of [1, 2, 3, 5, 1000]) {
          expect(await pages(new RecordSearchService(rules, { firstWindow, candidateCap: 1, probeWindow }))).toEqual(byIndex);
        }
      }
    } finally {
      await app.stop();
    }
  });

  it('refuses bad input with BAD_USER_INPUT naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ filter: { keyword: '退' } }, 'filter.keyword'],
      [{ filter: { keyword: '!!!' } }, 'filter.keyword'],
      [{ filter: { keyword: 'x'.repeat(101) } }, 'filter.keyword'],
      [{ filter: { keyword: '13812345678' } }, 'filter.keyword'],
      [{ filter: { keyword: 'zhangsan@example.com' } }, 'filter.keyword'],
      [{ filter: { rating: 6 } }, 'filter.rating'],
      [{ filter: { from: daysAgo(1).toISOString(), to: daysAgo(2).toISOString() } }, 'filter.to'],
      [{ filter: { agentId: 'not-an-id' } }, 'filter.agentId'],
      [{ after: 'bm90IGEgY3Vyc29y' }, 'after'],
      [{ first: 0 }, 'first'],
    ];
    for (const [variables, field] of cases) {
      const res = await search(admin, variables);
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0].extensions?.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
  });
});
