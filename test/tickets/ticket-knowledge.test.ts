import { randomUUID } from 'node:crypto';
import { Conversation, ConversationStatus, EndReason, rankOf } from '../../src/modules/conversations/conversation.entity';
import { ServicePriority } from '../../src/modules/conversations/queue-policy';
import {
  CommentOnTicketDocument,
  CreateFaqDocument,
  OnNotificationDocument,
  PublishFaqDocument,
  ResolveTicketDocument,
  TicketAnswerHelpedDocument,
  TicketByIdDocument,
  TicketFromConversationDocument,
  TicketsDocument,
} from '../generated/graphql';
import { GqlResult, startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';
import { code, minutes, Person, ticketHelpers } from './ticket-helpers';

const THRESHOLD = 0.6;
const QUESTION = '如何申请退票？';
const ANSWER = '在订单详情页点击“申请退票”，票款将在3个工作日内原路退回。';
/** Scores about 0.73 against QUESTION (see test/conversations/auto-answer.test.ts); LOW about 0.21. */
const PARAPHRASE = '申请退票';
const LOW = '我想申请退票';
const ASKED_BODY = `${ANSWER}\n\n这个回答解决您的问题了吗？`;
/** The classifier: a complaint, strongly negative (URGENT, ESCALATE_TO_SUPERVISOR). */
const ANGRY = '你们客服态度太恶劣了，我要投诉！';

describe('tickets and the knowledge base: classifier priority, negative tickets, auto-answers', () => {
  let app: TestApp;
  let admin: string;
  let faqId: string;
  let afterSales: { id: string };
  let complaints: { id: string };
  let sales: { id: string };
  let afterSalesManager: Person;
  let complaintsManager: Person;
  let salesManager: Person;
  let afterSalesAgent: Person;
  let solo: Person;
  let alice: Person;
  let bob: Person;

  const { open, openOk, inbox } = ticketHelpers(() => app, { subject: '演出几点开始', category: '售后服务' });
  const answer = (ticketId: string, helped: boolean, token: string | null) =>
    app.exec(TicketAnswerHelpedDocument, { ticketId, helped }, token);
  const ticket = async (id: string, token = admin) => (await app.data(TicketByIdDocument, { id }, token)).ticket;
  const sql = <T = Record<string, unknown>>(q: string, params: unknown[] = []) => app.services.orm.em.fork().execute<T[]>(q, params);
  const faqCounts = async () =>
    (
      await sql<{ use_count: number; helpful_count: number; not_helpful_count: number }>(
        `SELECT use_count, helpful_count, not_helpful_count FROM faqs WHERE id = ?`,
        [faqId],
      )
    )[0];

  beforeAll(async () => {
    app = await startTestApp({
      env: { TICKET_AGENT_LIMIT: '2', TICKET_SLA_SWEEP_SECONDS: '3600', AUTO_ANSWER_THRESHOLD: String(THRESHOLD) },
    });
    admin = await app.adminToken();
    const { createFaq } = await app.data(
      CreateFaqDocument,
      { input: { question: QUESTION, answer: ANSWER, category: '退票退款', scope: 'PUBLIC' } },
      admin,
    );
    faqId = (await app.data(PublishFaqDocument, { id: createFaq.id }, admin)).publishFaq.id;
    // No `general` department: a ticket of 其他 has no department (admins see it; nobody is auto-assigned).
    afterSales = await app.createDepartment('售后服务', 'after_sales');
    complaints = await app.createDepartment('投诉建议', 'complaints');
    sales = await app.createDepartment('售前咨询', 'sales');
    afterSalesManager = await app.createUser({ role: 'MANAGER', departmentId: afterSales.id });
    complaintsManager = await app.createUser({ role: 'MANAGER', departmentId: complaints.id });
    salesManager = await app.createUser({ role: 'MANAGER', departmentId: sales.id });
    afterSalesAgent = await app.createUser({ role: 'AGENT', departmentId: afterSales.id, displayName: '售后' });
    solo = await app.createUser({ role: 'AGENT', departmentId: sales.id, displayName: '售前专员' });
    alice = await app.createUser({ role: 'CUSTOMER', displayName: 'Alice' });
    bob = await app.createUser({ role: 'CUSTOMER', displayName: 'Bob' });
  });
  afterAll(() => app.stop());

  /** Frees the after-sales agent: closes (via SQL) every open ticket of the department. */
  const clearAfterSales = () =>
    sql(`UPDATE tickets SET status = 'CLOSED', resolved_at = now(), closed_at = now() WHERE department_id = ? AND status <> 'CLOSED'`, [
      afterSales.id,
    ]);

  describe('priority', () => {
    it('is the classifier’s priority of subject and description when none is given, for customers and staff alike', async () => {
      // The subject alone says nothing urgent; the description does (the show is about to start).
      const urgent = await openOk(alice.token, { subject: '电子票问题', description: '演出马上就要开始了，还没收到电子票' });
      expect(urgent.priority).toBe('URGENT');
      expect(minutes(urgent.createdAt, urgent.firstResponseDueAt)).toBe(5);
      expect(urgent.priority).toBe(app.services.classifier.classify('电子票问题\n演出马上就要开始了，还没收到电子票').priority);
      const trail = (await ticket(urgent.id)).auditTrail;
      expect(trail[0]).toMatchObject({
        action: 'ticket.create',
        summary: expect.stringMatching(/^Opened URGENT ticket .*; priority by the classifier$/),
      });

      // A greeting with nothing in it: GENERAL and neutral → LOW (config/classifier.json).
      const low = await openOk(alice.token, { subject: '你好', description: '' });
      expect(low.priority).toBe('LOW');
      const byStaff = await openOk(afterSalesAgent.token, { customerId: bob.id, subject: '客户催单', description: '请尽快处理' });
      expect(byStaff.priority).toBe('HIGH');
      await clearAfterSales();
    });

    it('is kept when the caller gives one, even when the classifier would say otherwise', async () => {
      const low = await openOk(alice.token, { subject: '电子票问题', description: '演出马上就要开始了，还没收到电子票', priority: 'LOW' });
      expect(low.priority).toBe('LOW');
      expect(minutes(low.createdAt, low.firstResponseDueAt)).toBe(120);
      const urgent = await openOk(afterSalesAgent.token, { customerId: bob.id, subject: '你好', priority: 'URGENT' });
      expect(urgent.priority).toBe('URGENT');
      expect((await ticket(urgent.id)).auditTrail[0].summary).not.toContain('classifier');
      await clearAfterSales();
    });

    it('of a ticket from a conversation is the conversation’s, whatever its words (no classifier, no alarm)', async () => {
      const em = app.services.orm.em.fork();
      const conversation = em.create(Conversation, {
        customerId: bob.id,
        agentId: afterSalesAgent.id,
        departmentId: afterSales.id,
        topic: '售后服务',
        status: ConversationStatus.ENDED,
        priority: ServicePriority.LOW,
        priorityRank: rankOf(ServicePriority.LOW),
        lastSeq: 1,
        assignedAt: new Date(Date.now() - 60_000),
        endedAt: new Date(),
        endReason: EndReason.AGENT,
      });
      await em.flush();
      await em.execute(
        `INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, content) VALUES (?, ?, 1, ?, 'CUSTOMER', ?)`,
        [randomUUID(), conversation.id, bob.id, ANGRY],
      );
      const before = await inbox(afterSalesManager.token, 'NEGATIVE_TICKET');
      const t = (await app.data(TicketFromConversationDocument, { conversationId: conversation.id }, afterSalesAgent.token))
        .ticketFromConversation;
      expect(t).toMatchObject({ priority: 'LOW', autoAnswer: null });
      expect(await inbox(afterSalesManager.token, 'NEGATIVE_TICKET')).toHaveLength(before.length);
      await clearAfterSales();
    });
  });

  describe('a strongly negative ticket', () => {
    it('notifies its department’s managers once, pushed after the commit, and nobody else', async () => {
      const live = watchSubscriptions(app.services.pubsub);
      const client = app.ws(complaintsManager.token);
      const pushed = subscribe(client, OnNotificationDocument);
      await live.until(1);
      const t = await openOk(alice.token, { subject: '投诉客服', description: ANGRY, category: '投诉建议' });
      const event = await pushed.next();
      expect(event.data?.notifications).toMatchObject({ kind: 'NEGATIVE_TICKET', title: 'Strongly negative ticket: 投诉客服' });
      expect(event.data?.notifications.body).toContain(t.id);

      const stored = await sql<{ user_id: string; n: number }>(
        `SELECT user_id, count(*)::int AS n FROM notifications WHERE kind = 'NEGATIVE_TICKET' AND body LIKE ? GROUP BY user_id`,
        [`%${t.id}%`],
      );
      expect(stored).toEqual([{ user_id: complaintsManager.id, n: 1 }]);
      // Working on the ticket flags nothing again.
      await app.data(CommentOnTicketDocument, { id: t.id, body: '非常抱歉，我们马上处理' }, complaintsManager.token);
      expect(
        await sql(`SELECT count(*)::int AS n FROM notifications WHERE kind = 'NEGATIVE_TICKET' AND body LIKE ?`, [`%${t.id}%`]),
      ).toEqual([{ n: 1 }]);
      // Nothing pushed either: a second negative ticket's notification, published after the comment, is the next event.
      const second = await openOk(alice.token, { subject: '再次投诉', description: ANGRY, category: '投诉建议' });
      expect((await pushed.next()).data?.notifications.body).toContain(second.id);
      pushed.unsubscribe();
    });

    it('without a department notifies the admins; a calm one notifies nobody', async () => {
      const before = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE kind = 'NEGATIVE_TICKET'`);
      const t = await openOk(bob.token, { subject: '太差劲了', description: ANGRY, category: '其他' });
      expect(t.departmentId).toBeNull();
      expect((await inbox(admin, 'NEGATIVE_TICKET')).filter((n) => n.body.includes(t.id))).toHaveLength(1);
      await openOk(bob.token, { subject: '发票', description: '请问发票怎么开', category: '其他' });
      const after = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE kind = 'NEGATIVE_TICKET'`);
      expect(after[0].n - before[0].n).toBe(1);
    });

    it('that is not created (bad input found in the transaction) notifies nobody', async () => {
      const before = await sql(`SELECT count(*)::int AS n FROM notifications WHERE kind = 'NEGATIVE_TICKET'`);
      expect(
        code(await open(alice.token, { subject: '投诉', description: ANGRY, category: '投诉建议', conversationId: randomUUID() })),
      ).toBe('BAD_USER_INPUT');
      expect(await sql(`SELECT count(*)::int AS n FROM notifications WHERE kind = 'NEGATIVE_TICKET'`)).toEqual(before);
    });
  });

  describe('auto-answers', () => {
    it('answer a customer’s new ticket with a public system comment and ask whether it helped; no first response', async () => {
      const uses = (await faqCounts()).use_count;
      const t = await openOk(alice.token, { subject: PARAPHRASE });
      expect(t).toMatchObject({
        status: 'ASSIGNED',
        assigneeId: afterSalesAgent.id,
        firstResponseAt: null,
        firstResponseSla: 'PENDING',
        autoAnswer: { state: 'ASKED', faq: { id: faqId, question: QUESTION } },
      });
      expect((await faqCounts()).use_count).toBe(uses + 1);
      const seen = await ticket(t.id, alice.token);
      expect(seen.comments).toEqual([
        expect.objectContaining({ kind: 'SYSTEM', authorId: null, authorRole: null, internal: false, body: ASKED_BODY }),
      ]);
      expect(seen.firstResponseSecondsLeft).toBeGreaterThan(0);
      // The assignee sees it too; their own first public comment is the first response.
      expect((await ticket(t.id, afterSalesAgent.token)).comments.map((c) => c.kind)).toEqual(['SYSTEM']);
      const reply = (await app.data(CommentOnTicketDocument, { id: t.id, body: '您好，请问还需要帮助吗？' }, afterSalesAgent.token))
        .commentOnTicket;
      expect((await ticket(t.id)).firstResponseAt).toBe(reply.createdAt);
      await clearAfterSales();
    });

    it('search the subject alone and with the description; the better score counts', async () => {
      const description = '上周买的演唱会门票，临时有事去不了，票款能退回原来的银行卡吗';
      const together = await app.services.faqs.bestAnswer(app.services.orm.em.fork(), `${PARAPHRASE}\n${description}`, {
        recordUse: false,
      });
      expect(together?.score ?? 0).toBeLessThan(THRESHOLD); // the details dilute the match...
      const t = await openOk(alice.token, { subject: PARAPHRASE, description });
      expect(t.autoAnswer).toEqual({ state: 'ASKED', faq: { id: faqId, question: QUESTION } }); // ...which the subject alone makes
      await clearAfterSales();
    });

    it('are not given below the threshold, nor on tickets the staff open for a customer', async () => {
      const uses = (await faqCounts()).use_count;
      const low = await openOk(alice.token, { subject: LOW });
      expect(low.autoAnswer).toBeNull();
      const byStaff = await openOk(afterSalesAgent.token, { customerId: alice.id, subject: PARAPHRASE });
      expect(byStaff.autoAnswer).toBeNull();
      expect((await ticket(byStaff.id)).comments).toEqual([]);
      expect((await faqCounts()).use_count).toBe(uses);
      await clearAfterSales();
    });

    it('helped: the ticket is RESOLVED for the customer, its owner told, and their freed capacity drains the queue', async () => {
      // solo (limit 2) holds the auto-answered ticket and another; a third waits. The customer is new: no earlier
      // vote on the FAQ that this one would change.
      const dora = await app.createUser({ role: 'CUSTOMER', displayName: 'Dora' });
      const answered = await openOk(dora.token, { subject: PARAPHRASE, category: '产品咨询' });
      const other = await openOk(bob.token, { subject: '座位图在哪里看', category: '产品咨询' });
      const waiting = await openOk(bob.token, { subject: '有没有学生票', category: '产品咨询' });
      expect([answered.assigneeId, other.assigneeId, waiting.assigneeId]).toEqual([solo.id, solo.id, null]);
      expect(answered.autoAnswer?.state).toBe('ASKED');
      const before = await faqCounts();

      const done = (await app.data(TicketAnswerHelpedDocument, { ticketId: answered.id, helped: true }, dora.token)).ticketAnswerHelped;
      expect(done).toMatchObject({ status: 'RESOLVED', assigneeId: solo.id, autoAnswer: { state: 'HELPED' }, resolutionSla: 'MET' });
      expect(done.resolution).toContain(QUESTION);
      expect(done.resolvedAt).not.toBeNull();
      expect(done.firstResponseAt).toBe(done.resolvedAt); // a resolution counts as the first response
      expect(await faqCounts()).toEqual({ ...before, helpful_count: before.helpful_count + 1 });
      expect(await sql(`SELECT helpful FROM faq_feedback WHERE faq_id = ? AND user_id = ?`, [faqId, dora.id])).toEqual([{ helpful: true }]);

      const told = await inbox(solo.token, 'TICKET_RESOLVED_BY_FAQ');
      expect(told).toHaveLength(1);
      expect(told[0].title).toBe(`Ticket resolved by an FAQ: ${PARAPHRASE}`);
      expect((await ticket(waiting.id)).assigneeId).toBe(solo.id);

      const trail = (await ticket(answered.id, dora.token)).auditTrail.map((e) => [e.action, e.actorId]);
      expect(trail).toEqual([
        ['ticket.create', dora.id],
        ['ticket.resolve', dora.id],
      ]);
      const full = (await ticket(answered.id, salesManager.token)).auditTrail.find((e) => e.action === 'ticket.resolve')!;
      expect(full.summary).toMatch(/^Resolved by the FAQ auto-answer/);
    });

    it('helped on a waiting ticket nobody holds resolves it too (NEW → RESOLVED), telling nobody', async () => {
      const t = await openOk(bob.token, { subject: PARAPHRASE, category: '其他' });
      expect(t).toMatchObject({ status: 'NEW', assigneeId: null, departmentId: null });
      const notificationsBefore = await sql(`SELECT count(*)::int AS n FROM notifications`);
      const done = (await app.data(TicketAnswerHelpedDocument, { ticketId: t.id, helped: true }, bob.token)).ticketAnswerHelped;
      expect(done).toMatchObject({ status: 'RESOLVED', assigneeId: null, autoAnswer: { state: 'HELPED' } });
      expect(await sql(`SELECT count(*)::int AS n FROM notifications`)).toEqual(notificationsBefore);
    });

    it('not helped: NOT_HELPED, and the ticket keeps its assignment, state and place in the queue', async () => {
      // A department nobody works in: its tickets wait in queue order.
      const queueDept = await app.createDepartment('账户问题', 'account');
      const carol = await app.createUser({ role: 'CUSTOMER' }); // no vote on the FAQ yet (a second vote would change the first)
      const first = await openOk(bob.token, { subject: '换绑手机', category: '账户问题', priority: 'NORMAL' });
      const asked = await openOk(carol.token, { subject: PARAPHRASE, category: '账户问题', priority: 'NORMAL' });
      const last = await openOk(bob.token, { subject: '注销账号', category: '账户问题', priority: 'NORMAL' });
      const queue = async () =>
        (await app.data(TicketsDocument, { filter: { departmentId: queueDept.id }, first: 10 }, admin)).tickets.nodes.map((t) => [
          t.id,
          t.status,
          t.assigneeId,
          t.priority,
        ]);
      const before = await queue();
      expect(before.map((r) => r[0])).toEqual([first.id, asked.id, last.id]);
      const [row] = await sql(`SELECT priority_rank, next_due_at, status, assignee_id FROM tickets WHERE id = ?`, [asked.id]);
      const counts = await faqCounts();

      const after = (await app.data(TicketAnswerHelpedDocument, { ticketId: asked.id, helped: false }, carol.token)).ticketAnswerHelped;
      expect(after).toMatchObject({ status: 'NEW', assigneeId: null, resolvedAt: null, autoAnswer: { state: 'NOT_HELPED' } });
      expect(await queue()).toEqual(before);
      expect(await sql(`SELECT priority_rank, next_due_at, status, assignee_id FROM tickets WHERE id = ?`, [asked.id])).toEqual([row]);
      expect(await faqCounts()).toEqual({ ...counts, not_helpful_count: counts.not_helpful_count + 1 });

      // An assigned one keeps its agent.
      const held = await openOk(alice.token, { subject: PARAPHRASE });
      expect(held.assigneeId).toBe(afterSalesAgent.id);
      const kept = (await app.data(TicketAnswerHelpedDocument, { ticketId: held.id, helped: false }, alice.token)).ticketAnswerHelped;
      expect(kept).toMatchObject({ status: 'ASSIGNED', assigneeId: afterSalesAgent.id, autoAnswer: { state: 'NOT_HELPED' } });
      expect(await inbox(afterSalesAgent.token, 'TICKET_RESOLVED_BY_FAQ')).toEqual([]);
      await clearAfterSales();
    });

    it('refuse everyone but the ticket’s customer, a second answer, a ticket with nothing asked and unknown ids, writing nothing', async () => {
      const resolvedByAgent = await openOk(bob.token, { subject: PARAPHRASE });
      await app.data(ResolveTicketDocument, { id: resolvedByAgent.id, resolution: '已为您办理退票' }, afterSalesAgent.token);
      const asked = await openOk(alice.token, { subject: PARAPHRASE });
      expect(asked.assigneeId).toBe(afterSalesAgent.id);
      const plain = await openOk(alice.token, { subject: '演出几点开始' });
      const answered = await openOk(alice.token, { subject: PARAPHRASE, category: '其他' });
      await app.data(TicketAnswerHelpedDocument, { ticketId: answered.id, helped: false }, alice.token);

      const snapshot = async () => ({
        tickets: await sql(
          `SELECT id, status, assignee_id, auto_answer_state, resolved_at, updated_at FROM tickets WHERE id IN (?, ?, ?, ?) ORDER BY id`,
          [asked.id, plain.id, answered.id, resolvedByAgent.id],
        ),
        faq: await faqCounts(),
        feedback: await sql(`SELECT user_id, helpful, updated_at FROM faq_feedback ORDER BY user_id`),
        audit: await sql(`SELECT count(*)::int AS n FROM audit_entries`),
        notifications: await sql(`SELECT count(*)::int AS n FROM notifications`),
      });
      const before = await snapshot();
      const refused: Array<[string, GqlResult<unknown>, string, Record<string, unknown>?]> = [
        ['another customer', await answer(asked.id, true, bob.token), 'FORBIDDEN'],
        ['the assignee', await answer(asked.id, true, afterSalesAgent.token), 'FORBIDDEN'],
        ['a manager of its department', await answer(asked.id, true, afterSalesManager.token), 'FORBIDDEN'],
        ['an admin', await answer(asked.id, false, admin), 'FORBIDDEN'],
        ['anonymous', await answer(asked.id, true, null), 'UNAUTHENTICATED'],
        ['nothing asked', await answer(plain.id, true, alice.token), 'CONFLICT', { reason: 'NOT_ASKED' }],
        ['answered already', await answer(answered.id, true, alice.token), 'CONFLICT', { reason: 'ALREADY_ANSWERED' }],
        ['answered already (same answer)', await answer(answered.id, false, alice.token), 'CONFLICT', { reason: 'ALREADY_ANSWERED' }],
        [
          'resolved by its agent meanwhile',
          await answer(resolvedByAgent.id, true, bob.token),
          'CONFLICT',
          { state: 'RESOLVED', action: 'faqResolve' },
        ],
        ['an unknown id', await answer(randomUUID(), true, alice.token), 'NOT_FOUND'],
        ['a malformed id', await answer('nope', true, alice.token), 'NOT_FOUND'],
      ];
      for (const [who, res, expected, extensions] of refused) {
        expect([who, code(res)]).toEqual([who, expected]);
        expect(res.data ?? null).toBeNull();
        expect(res.errors![0].path).toEqual(['ticketAnswerHelped']);
        if (extensions) expect(res.errors![0].extensions).toMatchObject(extensions);
      }
      expect(await snapshot()).toEqual(before);
      expect((await ticket(asked.id, alice.token)).autoAnswer?.state).toBe('ASKED');
      await clearAfterSales();
    });
  });
});
