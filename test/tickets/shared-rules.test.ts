import { Conversation, ConversationStatus, EndReason, rankOf } from '../../src/modules/conversations/conversation.entity';
import { ServicePriority } from '../../src/modules/conversations/queue-policy';
import { MAX_RATING_COMMENT } from '../../src/modules/conversations/rating.policy';
import { RateConversationDocument, RateTicketDocument, RequestServiceDocument, ResolveTicketDocument } from '../generated/graphql';
import { ADMIN_EMAIL, GqlResult, startTestApp, TestApp } from '../support/harness';
import { code, Person, ticketHelpers } from './ticket-helpers';

const ANGRY = '你们客服态度太恶劣了，我要投诉！';
const ext = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions ?? null;

/** Conversations and tickets answer rating and strongly negative texts by the same rules. */
describe('one rule for conversations and tickets', () => {
  let app: TestApp;
  let admin: Person;
  let secondAdmin: Person;
  let afterSales: { id: string };
  let afterSalesManager: Person;
  let afterSalesAgent: Person;
  let complaints: { id: string };

  const { openOk } = ticketHelpers(() => app, { subject: '退货', description: '想退货', category: '售后服务' });
  const sql = <T = Record<string, unknown>>(q: string, params: unknown[] = []) => app.services.orm.em.fork().execute<T[]>(q, params);
  const customer = () => app.createUser({ role: 'CUSTOMER' });

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', TICKET_SLA_SWEEP_SECONDS: '3600' } });
    admin = { id: '', token: await app.adminToken() };
    admin.id = (await sql<{ id: string }>('SELECT id FROM users WHERE email = ?', [ADMIN_EMAIL]))[0].id;
    secondAdmin = await app.createUser({ role: 'ADMIN' });
    afterSales = await app.createDepartment('售后服务', 'after_sales');
    afterSalesManager = await app.createUser({ role: 'MANAGER', departmentId: afterSales.id });
    afterSalesAgent = await app.createUser({ role: 'AGENT', departmentId: afterSales.id });
    complaints = await app.createDepartment('投诉建议', 'complaints'); // nobody manages it
  });
  afterAll(() => app.stop());

  /** A ticket of `owner`, resolved by the after-sales agent. */
  async function resolvedTicket(owner: Person): Promise<string> {
    const t = await openOk(owner.token);
    expect(t.assigneeId).toBe(afterSalesAgent.id);
    await app.data(ResolveTicketDocument, { id: t.id, resolution: '已退货' }, afterSalesAgent.token);
    return t.id;
  }

  /** An ended conversation of `owner` that the after-sales agent served. */
  async function endedConversation(owner: Person): Promise<string> {
    const em = app.services.orm.em.fork();
    const c = em.create(Conversation, {
      customerId: owner.id,
      agentId: afterSalesAgent.id,
      departmentId: afterSales.id,
      topic: '售后服务',
      status: ConversationStatus.ENDED,
      priority: ServicePriority.NORMAL,
      priorityRank: rankOf(ServicePriority.NORMAL),
      lastSeq: 0,
      assignedAt: new Date(Date.now() - 60_000),
      endedAt: new Date(),
      endReason: EndReason.AGENT,
    });
    await em.flush();
    return c.id;
  }

  const rate = {
    ticket: (id: string, token: string | null, score: number, comment?: string) =>
      app.exec(RateTicketDocument, { id, score, ...(comment !== undefined ? { comment } : {}) }, token),
    conversation: (id: string, token: string | null, score: number, comment?: string) =>
      app.exec(RateConversationDocument, { id, score, ...(comment !== undefined ? { comment } : {}) }, token),
  };
  const stored = {
    ticket: async (id: string) =>
      (
        await sql<{ rating: number | null; rating_comment: string | null }>('SELECT rating, rating_comment FROM tickets WHERE id = ?', [id])
      )[0],
    conversation: async (id: string) =>
      (
        await sql<{ rating: number | null; rating_comment: string | null }>(
          'SELECT rating, rating_comment FROM conversations WHERE id = ?',
          [id],
        )
      )[0],
  };

  describe.each([
    ['ticket', resolvedTicket],
    ['conversation', endedConversation],
  ] as const)('rating a %s', (kind, make) => {
    it('refuses scores outside 1–5 and an over-long comment with BAD_USER_INPUT, writing nothing', async () => {
      const owner = await customer();
      const id = await make(owner);
      for (const score of [0, 6, -1])
        expect(ext(await rate[kind](id, owner.token, score))).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'score' }] });
      expect(ext(await rate[kind](id, owner.token, 5, 'x'.repeat(MAX_RATING_COMMENT + 1)))).toMatchObject({
        code: 'BAD_USER_INPUT',
        fields: [{ field: 'comment' }],
      });
      expect(
        code(
          await app.exec(
            `mutation { ${kind === 'ticket' ? 'rateTicket' : 'rateConversation'}(id: "${id}", score: 4.5) { id } }`,
            {},
            owner.token,
          ),
        ),
      ).toBe('BAD_USER_INPUT');
      expect(await stored[kind](id)).toEqual({ rating: null, rating_comment: null });
    });

    it('is refused to every role but its customer: staff and other customers FORBIDDEN, nobody UNAUTHENTICATED', async () => {
      const owner = await customer();
      const other = await customer();
      const id = await make(owner);
      for (const who of [admin, afterSalesManager, afterSalesAgent]) expect(code(await rate[kind](id, who.token, 5))).toBe('FORBIDDEN');
      const stranger = await rate[kind](id, other.token, 5);
      expect(ext(stranger)).toMatchObject({ code: 'FORBIDDEN' });
      // a customer reads Chinese by default (docs/i18n.md)
      expect(stranger.errors![0].message).toBe(kind === 'ticket' ? '只有该工单的客户可以评价' : '只有该会话的客户可以评价');
      expect(code(await rate[kind](id, null, 5))).toBe('UNAUTHENTICATED');
      expect(await stored[kind](id)).toEqual({ rating: null, rating_comment: null });
    });

    it('happens once under concurrent attempts: one stored, every other CONFLICT with reason ALREADY_RATED', async () => {
      const owner = await customer();
      const id = await make(owner);
      // Four at once: within the conversation rating limit of five a minute, so every refusal is the rule's.
      const results = await Promise.all([1, 2, 3, 4].map((score) => rate[kind](id, owner.token, score, `  第${score}次  `)));
      const ok = results.filter((r) => !r.errors);
      expect(ok).toHaveLength(1);
      const refused = results.filter((r) => r.errors).map((r) => ({ code: ext(r)!.code, reason: ext(r)!.reason }));
      expect(refused).toEqual(Array(3).fill({ code: 'CONFLICT', reason: 'ALREADY_RATED' }));
      const winner = results.indexOf(ok[0]) + 1;
      expect(await stored[kind](id)).toEqual({ rating: winner, rating_comment: `第${winner}次` });
      if (kind === 'ticket') {
        expect(await sql(`SELECT count(*)::int AS n FROM audit_entries WHERE action = 'ticket.rate' AND target_id = ?`, [id])).toEqual([
          { n: 1 },
        ]);
      }
    });
  });

  describe('a strongly negative request or ticket', () => {
    /** How many flags of `kind` naming `id` each user got. */
    const flags = async (kind: string, id: string) =>
      (
        await sql<{ user_id: string; n: number }>(
          `SELECT user_id, count(*)::int AS n FROM notifications WHERE kind = ? AND body LIKE ? GROUP BY user_id`,
          [kind, `%${id}%`],
        )
      ).sort((a, b) => (a.user_id < b.user_id ? -1 : 1));
    const byId = (people: Array<{ id: string }>) =>
      people.map((p) => ({ user_id: p.id, n: 1 })).sort((a, b) => (a.user_id < b.user_id ? -1 : 1));

    it('reaches its department’s managers once each, and nobody else', async () => {
      const request = (
        await app.data(RequestServiceDocument, { input: { topic: 'after_sales', message: ANGRY } }, (await customer()).token)
      ).requestService;
      expect(await flags('NEGATIVE_CONVERSATION', request.conversation!.id)).toEqual(byId([afterSalesManager]));
      const ticket = await openOk((await customer()).token, { subject: '投诉客服', description: ANGRY });
      expect(ticket.departmentId).toBe(afterSales.id);
      expect(await flags('NEGATIVE_TICKET', ticket.id)).toEqual(byId([afterSalesManager]));
    });

    it('of a department nobody manages reaches every active admin once each (and never its author)', async () => {
      const author = await customer();
      const request = (await app.data(RequestServiceDocument, { input: { topic: 'complaints', message: ANGRY } }, author.token))
        .requestService;
      expect(request.conversation!.departmentId).toBe(complaints.id);
      expect(await flags('NEGATIVE_CONVERSATION', request.conversation!.id)).toEqual(byId([admin, secondAdmin]));
      const ticket = await openOk(author.token, { subject: '投诉客服', description: ANGRY, category: '投诉建议' });
      expect(ticket.departmentId).toBe(complaints.id);
      expect(await flags('NEGATIVE_TICKET', ticket.id)).toEqual(byId([admin, secondAdmin]));
    });
  });
});
