import { DEFAULT_TICKET_CATEGORIES } from '../../src/modules/tickets/ticket.settings';
import { randomUUID } from 'node:crypto';
import { Conversation, ConversationStatus, EndReason, rankOf } from '../../src/modules/conversations/conversation.entity';
import { ServicePriority } from '../../src/modules/conversations/queue-policy';
import {
  AssignTicketDocument,
  CloseTicketDocument,
  CommentOnTicketDocument,
  CreateTicketDocument,
  EscalateTicketDocument,
  RateTicketDocument,
  ReopenTicketDocument,
  ResolveTicketDocument,
  TicketByIdDocument,
  TicketCategoriesDocument,
  TicketFromConversationDocument,
  TicketsDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';
import { code, minutes, Person, ticketHelpers } from './ticket-helpers';

describe('tickets', () => {
  let app: TestApp;
  let admin: string;
  let tech: { id: string };
  let order: { id: string };
  let general: { id: string };
  let techManager: Person;
  let orderManager: Person;
  let techA: Person;
  let techB: Person;
  let orderAgent: Person;
  let alice: Person;
  let bob: Person;

  const { open, openOk, inbox } = ticketHelpers(() => app, { subject: '无法登录', description: '提示密码错误', category: '技术支持' });
  const sql = (q: string, params: unknown[] = []) => app.services.orm.em.fork().execute(q, params);

  beforeAll(async () => {
    // The sweep is driven by the tests (a long interval keeps the scheduler's own runs out of the way).
    // The built-in categories, and one whose department no test here creates (it must fall back to `general`).
    const categories = JSON.stringify({ ...DEFAULT_TICKET_CATEGORIES, 发票问题: 'invoices' });
    app = await startTestApp({ env: { TICKET_AGENT_LIMIT: '3', TICKET_SLA_SWEEP_SECONDS: '3600', TICKET_CATEGORIES: categories } });
    admin = await app.adminToken();
    tech = await app.createDepartment('技术支持', 'technical');
    order = await app.createDepartment('订单问题', 'order');
    general = await app.createDepartment('综合', 'general');
    techManager = await app.createUser({ role: 'MANAGER', departmentId: tech.id, displayName: '技术经理' });
    orderManager = await app.createUser({ role: 'MANAGER', departmentId: order.id });
    techA = await app.createUser({ role: 'AGENT', departmentId: tech.id, displayName: '技术A', skills: ['登录'] });
    techB = await app.createUser({ role: 'AGENT', departmentId: tech.id, displayName: '技术B' });
    orderAgent = await app.createUser({ role: 'AGENT', departmentId: order.id });
    alice = await app.createUser({ role: 'CUSTOMER', displayName: 'Alice' });
    bob = await app.createUser({ role: 'CUSTOMER', displayName: 'Bob' });
  });
  afterAll(() => app.stop());

  /** Frees the technical agents: resolves (via SQL) every open ticket they hold. */
  const clearTech = () =>
    sql(`UPDATE tickets SET status = 'CLOSED', resolved_at = now(), closed_at = now() WHERE department_id = ? AND status <> 'CLOSED'`, [
      tech.id,
    ]);

  it('are opened by customers for themselves, go to the category’s department and to its least loaded agent, with SLA due times', async () => {
    const t = await openOk(alice.token, { priority: 'URGENT', tags: ['登录', ' 登录 ', 'app'] });
    expect(t).toMatchObject({
      customerId: alice.id,
      createdById: alice.id,
      category: '技术支持',
      departmentId: tech.id,
      priority: 'URGENT',
      tags: ['登录', 'app'],
      status: 'ASSIGNED',
      // techA has the matching skill (both hold no tickets)
      assigneeId: techA.id,
      firstResponseSla: 'PENDING',
      resolutionSla: 'PENDING',
    });
    expect(minutes(t.createdAt, t.firstResponseDueAt)).toBe(5);
    expect(minutes(t.createdAt, t.resolutionDueAt)).toBe(60);
    expect(t.firstResponseSecondsLeft).toBeGreaterThan(290);
    expect(t.firstResponseSecondsLeft).toBeLessThanOrEqual(300);
    expect(t.resolutionSecondsLeft).toBeGreaterThan(3590);

    // The next one goes to the agent with fewer open tickets, skills or not.
    const second = await openOk(alice.token, { priority: 'LOW', tags: ['登录'] });
    expect(second.assigneeId).toBe(techB.id);
    expect(minutes(second.createdAt, second.firstResponseDueAt)).toBe(120);
    expect(minutes(second.createdAt, second.resolutionDueAt)).toBe(48 * 60);

    const told = await inbox(techA.token, 'TICKET_ASSIGNED');
    expect(told[0].title).toContain('无法登录');
    const detail = (await app.data(TicketByIdDocument, { id: t.id }, admin)).ticket;
    expect(detail.auditTrail.map((e) => [e.action, e.actorId])).toEqual([
      ['ticket.create', alice.id],
      ['ticket.assign', null],
    ]);
    expect(detail.auditTrail[1].summary).toContain('Auto-assigned to 技术A');

    // A category whose department does not exist goes to `general`; nobody there: it waits, NEW.
    const account = await openOk(bob.token, { category: '发票问题', subject: '发票开错了' });
    expect(account).toMatchObject({ departmentId: general.id, status: 'NEW', assigneeId: null });
    expect((await app.data(TicketCategoriesDocument, {}, bob.token)).ticketCategories).toContainEqual({
      name: '技术支持',
      departmentCode: 'technical',
    });
    await clearTech();
  });

  it('refuse bad input and others’ customers, writing nothing', async () => {
    const before = await sql(`SELECT count(*)::int AS n FROM tickets`);
    const unknownCategory = await open(alice.token, { category: '天气' });
    expect(unknownCategory.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [expect.objectContaining({ field: 'category' })],
    });
    expect(code(await open(alice.token, { priority: 'ASAP' as never }))).toBe('BAD_USER_INPUT');
    expect(code(await open(alice.token, { subject: '   ' }))).toBe('BAD_USER_INPUT');
    expect(code(await open(alice.token, { subject: 'x'.repeat(201) }))).toBe('BAD_USER_INPUT');
    expect(code(await open(alice.token, { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }))).toBe('BAD_USER_INPUT');
    expect(code(await open(alice.token, { customerId: bob.id }))).toBe('FORBIDDEN');
    const staffWithout = await open(techA.token);
    expect(staffWithout.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'customerId', message: expect.any(String) }],
    });
    expect(code(await open(techA.token, { customerId: techB.id }))).toBe('BAD_USER_INPUT');
    expect(code(await open(techA.token, { customerId: randomUUID() }))).toBe('BAD_USER_INPUT');
    expect(code(await open(alice.token, { conversationId: randomUUID() }))).toBe('BAD_USER_INPUT');
    expect(code(await app.exec(CreateTicketDocument, { input: { subject: 'x', category: '技术支持' } }))).toBe('UNAUTHENTICATED');
    expect(await sql(`SELECT count(*)::int AS n FROM tickets`)).toEqual(before);
  });

  it('are opened by staff for a customer', async () => {
    const byAgent = await openOk(orderAgent.token, { customerId: bob.id, category: '订单问题', subject: '发票抬头错误', priority: 'HIGH' });
    expect(byAgent).toMatchObject({
      customerId: bob.id,
      createdById: orderAgent.id,
      departmentId: order.id,
      assigneeId: orderAgent.id,
      status: 'ASSIGNED',
    });
    expect(minutes(byAgent.createdAt, byAgent.firstResponseDueAt)).toBe(30);
    const mine = (await app.data(TicketsDocument, {}, bob.token)).tickets.nodes.map((t) => t.id);
    expect(mine).toContain(byAgent.id);
    await sql(`UPDATE tickets SET status = 'CLOSED', resolved_at = now(), closed_at = now() WHERE id = ?`, [byAgent.id]);
  });

  it('go NEW → ASSIGNED → IN_PROGRESS → RESOLVED → CLOSED, audited, with internal notes hidden from the customer and illegal moves refused', async () => {
    const t = await openOk(alice.token, { subject: '退款进度', priority: 'NORMAL' });
    const agent = t.assigneeId === techA.id ? techA : techB;
    const other = agent === techA ? techB : techA;

    // The customer talks first: that is no response. An internal note is none either, but starts the work.
    await app.data(CommentOnTicketDocument, { id: t.id, body: '请尽快' }, alice.token);
    expect(code(await app.exec(CommentOnTicketDocument, { id: t.id, body: '偷看', internal: true }, alice.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(CommentOnTicketDocument, { id: t.id, body: '我来' }, other.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(CommentOnTicketDocument, { id: t.id, body: '' }, agent.token))).toBe('BAD_USER_INPUT');
    await app.data(CommentOnTicketDocument, { id: t.id, body: '客户情绪激动', internal: true }, agent.token);
    let now = (await app.data(TicketByIdDocument, { id: t.id }, agent.token)).ticket;
    expect(now).toMatchObject({ status: 'IN_PROGRESS', firstResponseAt: null });
    const reply = (await app.data(CommentOnTicketDocument, { id: t.id, body: '已为您加急处理' }, agent.token)).commentOnTicket;
    now = (await app.data(TicketByIdDocument, { id: t.id }, agent.token)).ticket;
    expect(now).toMatchObject({
      status: 'IN_PROGRESS',
      firstResponseAt: reply.createdAt,
      firstResponseSla: 'MET',
      firstResponseSecondsLeft: null,
    });
    expect(now.comments.map((c) => [c.body, c.internal])).toEqual([
      ['请尽快', false],
      ['客户情绪激动', true],
      ['已为您加急处理', false],
    ]);
    const seen = (await app.data(TicketByIdDocument, { id: t.id }, alice.token)).ticket;
    expect(seen.comments.map((c) => c.body)).toEqual(['请尽快', '已为您加急处理']);

    // Rating before the resolution, closing before it: CONFLICT.
    expect(code(await app.exec(RateTicketDocument, { id: t.id, score: 5 }, alice.token))).toBe('CONFLICT');
    expect(code(await app.exec(CloseTicketDocument, { id: t.id }, alice.token))).toBe('CONFLICT');
    expect(code(await app.exec(ResolveTicketDocument, { id: t.id, resolution: '已退款' }, other.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(ResolveTicketDocument, { id: t.id, resolution: '   ' }, agent.token))).toBe('BAD_USER_INPUT');

    const resolved = (await app.data(ResolveTicketDocument, { id: t.id, resolution: '已原路退款，预计3个工作日到账' }, agent.token))
      .resolveTicket;
    expect(resolved).toMatchObject({
      status: 'RESOLVED',
      resolution: '已原路退款，预计3个工作日到账',
      resolutionSla: 'MET',
      resolutionSecondsLeft: null,
    });
    expect((await inbox(alice.token, 'TICKET_RESOLVED'))[0]).toMatchObject({
      title: '工单已解决：退款进度',
      body: '已原路退款，预计3个工作日到账',
    });
    expect(code(await app.exec(ResolveTicketDocument, { id: t.id, resolution: '再次' }, agent.token))).toBe('CONFLICT');

    expect(code(await app.exec(RateTicketDocument, { id: t.id, score: 6 }, alice.token))).toBe('BAD_USER_INPUT');
    expect(code(await app.exec(RateTicketDocument, { id: t.id, score: 0 }, alice.token))).toBe('BAD_USER_INPUT');
    expect(code(await app.exec(RateTicketDocument, { id: t.id, score: 5 }, bob.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(RateTicketDocument, { id: t.id, score: 5 }, agent.token))).toBe('FORBIDDEN');
    expect((await app.data(RateTicketDocument, { id: t.id, score: 5, comment: '很快' }, alice.token)).rateTicket).toMatchObject({
      rating: 5,
      ratingComment: '很快',
    });
    expect(code(await app.exec(RateTicketDocument, { id: t.id, score: 4 }, alice.token))).toBe('CONFLICT');

    expect(code(await app.exec(CloseTicketDocument, { id: t.id }, bob.token))).toBe('FORBIDDEN');
    expect((await app.data(CloseTicketDocument, { id: t.id }, alice.token)).closeTicket.status).toBe('CLOSED');
    // Resolving, reopening, closing, commenting on a closed ticket: CONFLICT.
    const resolveClosed = await app.exec(ResolveTicketDocument, { id: t.id, resolution: 'x' }, agent.token);
    expect(resolveClosed.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', state: 'CLOSED', action: 'resolve' });
    expect(code(await app.exec(ReopenTicketDocument, { id: t.id }, alice.token))).toBe('CONFLICT');
    expect(code(await app.exec(CloseTicketDocument, { id: t.id }, alice.token))).toBe('CONFLICT');
    expect(code(await app.exec(CommentOnTicketDocument, { id: t.id, body: '还在吗' }, alice.token))).toBe('CONFLICT');
    expect(code(await app.exec(EscalateTicketDocument, { id: t.id, reason: '晚了' }, agent.token))).toBe('CONFLICT');

    const trail = (await app.data(TicketByIdDocument, { id: t.id }, techManager.token)).ticket.auditTrail;
    expect(trail.map((e) => e.action)).toEqual([
      'ticket.create',
      'ticket.assign',
      'ticket.start',
      'ticket.resolve',
      'ticket.rate',
      'ticket.close',
    ]);
    const customerTrail = (await app.data(TicketByIdDocument, { id: t.id }, alice.token)).ticket.auditTrail;
    expect(customerTrail.map((e) => e.action)).toEqual(['ticket.create', 'ticket.resolve', 'ticket.rate', 'ticket.close']);
    await clearTech();
  });

  it('are reopened from RESOLVED within the window, back to the assignee with a new resolution clock; later: CONFLICT', async () => {
    const t = await openOk(alice.token, { subject: '又坏了' });
    const agent = t.assigneeId === techA.id ? techA : techB;
    await app.data(ResolveTicketDocument, { id: t.id, resolution: '重启即可' }, agent.token);
    await app.data(RateTicketDocument, { id: t.id, score: 2 }, alice.token);
    const before = Date.now();
    const reopened = (await app.data(ReopenTicketDocument, { id: t.id, reason: '没有解决' }, alice.token)).reopenTicket;
    expect(reopened).toMatchObject({
      status: 'REOPENED',
      assigneeId: agent.id,
      reopenCount: 1,
      resolvedAt: null,
      resolution: null,
      rating: null,
    });
    expect(Date.parse(reopened.resolutionDueAt) - before).toBeGreaterThanOrEqual(24 * 3_600_000 - 1000);
    expect((await inbox(agent.token, 'TICKET_REOPENED'))[0].title).toContain('又坏了');
    // Work goes on; resolved again, the window counts from then.
    await app.data(CommentOnTicketDocument, { id: t.id, body: '再看看' }, agent.token);
    expect((await app.data(TicketByIdDocument, { id: t.id }, agent.token)).ticket.status).toBe('IN_PROGRESS');
    await app.data(ResolveTicketDocument, { id: t.id, resolution: '换了新设备' }, agent.token);
    await sql(`UPDATE tickets SET resolved_at = now() - interval '8 days' WHERE id = ?`, [t.id]);
    const late = await app.exec(ReopenTicketDocument, { id: t.id }, alice.token);
    expect(late.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'REOPEN_WINDOW_PASSED' });
    expect(code(await app.exec(ReopenTicketDocument, { id: t.id }, bob.token))).toBe('FORBIDDEN');
    await clearTech();
  });

  it('are escalated one priority step with due times recomputed and the supervisors told; URGENT goes no higher', async () => {
    const t = await openOk(bob.token, { subject: '服务器宕机', priority: 'NORMAL' });
    const agent = t.assigneeId === techA.id ? techA : techB;
    const other = agent === techA ? techB : techA;
    expect(code(await app.exec(EscalateTicketDocument, { id: t.id, reason: '影响大' }, other.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(EscalateTicketDocument, { id: t.id, reason: '影响大' }, orderManager.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(EscalateTicketDocument, { id: t.id, reason: '影响大' }, bob.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(EscalateTicketDocument, { id: t.id, reason: ' ' }, agent.token))).toBe('BAD_USER_INPUT');

    const high = (await app.data(EscalateTicketDocument, { id: t.id, reason: '影响大量用户' }, agent.token)).escalateTicket;
    expect(high).toMatchObject({ priority: 'HIGH', escalationCount: 1 });
    expect(minutes(high.createdAt, high.firstResponseDueAt)).toBe(30);
    expect(minutes(high.createdAt, high.resolutionDueAt)).toBe(240);
    expect((await inbox(techManager.token, 'TICKET_ESCALATED'))[0]).toMatchObject({ title: 'Ticket escalated to HIGH: 服务器宕机' });
    expect((await inbox(techManager.token, 'TICKET_ESCALATED'))[0].body).toContain('影响大量用户');

    const urgent = (await app.data(EscalateTicketDocument, { id: t.id, reason: '全站不可用' }, techManager.token)).escalateTicket;
    expect(urgent.priority).toBe('URGENT');
    expect(minutes(urgent.createdAt, urgent.resolutionDueAt)).toBe(60);
    const top = await app.exec(EscalateTicketDocument, { id: t.id, reason: '再升' }, admin);
    expect(top.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'TOP_PRIORITY' });
    const trail = (await app.data(TicketByIdDocument, { id: t.id }, admin)).ticket.auditTrail.filter((e) => e.action === 'ticket.escalate');
    expect(trail.map((e) => [e.actorId, e.comment])).toEqual([
      [agent.id, '影响大量用户'],
      [techManager.id, '全站不可用'],
    ]);
    expect(trail[0].summary).toMatch(/^Escalated NORMAL → HIGH/);
    await clearTech();
  });

  it('are seen in scope: customers their own, agents theirs and their department’s queue, managers their department, admins all', async () => {
    const alices = await openOk(alice.token, { subject: 'Alice 的' });
    const waiting = await openOk(bob.token, { subject: '订单等待', category: '订单问题' }); // to orderAgent (has room)
    await sql(`UPDATE tickets SET assignee_id = NULL, status = 'NEW', assigned_at = NULL WHERE id = ?`, [waiting.id]);

    expect(code(await app.exec(TicketByIdDocument, { id: alices.id }, bob.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketByIdDocument, { id: alices.id }, orderManager.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketByIdDocument, { id: alices.id }, orderAgent.token))).toBe('FORBIDDEN');
    const otherTechAgent = alices.assigneeId === techA.id ? techB : techA;
    expect(code(await app.exec(TicketByIdDocument, { id: alices.id }, otherTechAgent.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketByIdDocument, { id: randomUUID() }, admin))).toBe('NOT_FOUND');
    expect(code(await app.exec(TicketByIdDocument, { id: 'nope' }, alice.token))).toBe('NOT_FOUND');
    expect(code(await app.exec(TicketByIdDocument, { id: alices.id }))).toBe('UNAUTHENTICATED');
    for (const token of [alice.token, techManager.token, admin]) {
      expect((await app.data(TicketByIdDocument, { id: alices.id }, token)).ticket.id).toBe(alices.id);
    }

    const list = async (token: string, filter = {}) => (await app.data(TicketsDocument, { filter, first: 100 }, token)).tickets.nodes;
    expect((await list(bob.token)).every((t) => t.customerId === bob.id)).toBe(true);
    expect(code(await app.exec(TicketsDocument, { filter: { customerId: alice.id } }, bob.token))).toBe('FORBIDDEN');
    const agentView = await list(orderAgent.token);
    expect(agentView.map((t) => t.id)).toContain(waiting.id);
    expect(agentView.every((t) => t.assigneeId === orderAgent.id || (t.assigneeId === null && t.departmentId === order.id))).toBe(true);
    expect((await list(orderAgent.token, { unassigned: true })).map((t) => t.id)).toEqual([waiting.id]);
    expect(code(await app.exec(TicketsDocument, { filter: { assigneeId: techA.id } }, orderAgent.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketsDocument, { filter: { departmentId: tech.id } }, orderManager.token))).toBe('FORBIDDEN');
    expect((await list(orderManager.token)).every((t) => t.departmentId === order.id)).toBe(true);
    const all = await list(admin, { status: ['NEW', 'ASSIGNED'] });
    expect(all.map((t) => t.id)).toEqual(expect.arrayContaining([alices.id, waiting.id]));
    expect((await list(admin, { departmentId: order.id })).every((t) => t.departmentId === order.id)).toBe(true);
    expect(code(await app.exec(TicketsDocument, { first: 0 }, admin))).toBe('BAD_USER_INPUT');
    expect(code(await app.exec(TicketsDocument, { after: 'garbage' }, admin))).toBe('BAD_USER_INPUT');

    // An agent takes a queued ticket of their department for themselves, and no one else's.
    expect(code(await app.exec(AssignTicketDocument, { id: waiting.id, agentId: techA.id }, orderAgent.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(AssignTicketDocument, { id: waiting.id }, techA.token))).toBe('FORBIDDEN');
    const taken = (await app.data(AssignTicketDocument, { id: waiting.id }, orderAgent.token)).assignTicket;
    expect(taken).toMatchObject({ status: 'ASSIGNED', assigneeId: orderAgent.id });
    expect(code(await app.exec(AssignTicketDocument, { id: waiting.id }, orderAgent.token))).toBe('CONFLICT');
    // Managers assign within their department; admins anywhere.
    expect(code(await app.exec(AssignTicketDocument, { id: alices.id, agentId: orderAgent.id }, techManager.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(AssignTicketDocument, { id: alices.id, agentId: techManager.id }, admin))).toBe('BAD_USER_INPUT');
    const moved = (await app.data(AssignTicketDocument, { id: alices.id, agentId: otherTechAgent.id }, techManager.token)).assignTicket;
    expect(moved).toMatchObject({ status: 'ASSIGNED', assigneeId: otherTechAgent.id });
    expect((await app.data(TicketByIdDocument, { id: alices.id }, admin)).ticket.auditTrail.at(-1)!.summary).toMatch(/^Reassigned to/);
    await sql(`UPDATE tickets SET status = 'CLOSED', resolved_at = now(), closed_at = now() WHERE id = ?`, [waiting.id]);
    await clearTech();
  });

  it('queue by priority, then the nearest due time, and page with cursors', async () => {
    const queueDept = await app.createDepartment('售后服务', 'after_sales'); // nobody works here: tickets wait
    const make = (priority: string, subject: string) => openOk(alice.token, { category: '售后服务', priority: priority as never, subject });
    const low = await make('LOW', 'low');
    const normalLate = await make('NORMAL', 'normal-late');
    const urgent = await make('URGENT', 'urgent');
    const normalEarly = await make('NORMAL', 'normal-early');
    const high = await make('HIGH', 'high');
    // normal-early's first response is due sooner (it was opened 30 minutes "earlier").
    await sql(
      `UPDATE tickets SET created_at = created_at - interval '30 minutes', first_response_due_at = first_response_due_at - interval '30 minutes',
              next_due_at = next_due_at - interval '30 minutes' WHERE id = ?`,
      [normalEarly.id],
    );
    const ids = [urgent.id, high.id, normalEarly.id, normalLate.id, low.id];
    const page1 = (await app.data(TicketsDocument, { filter: { departmentId: queueDept.id }, first: 2 }, admin)).tickets;
    expect(page1.nodes.map((t) => t.id)).toEqual(ids.slice(0, 2));
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (
      await app.data(TicketsDocument, { filter: { departmentId: queueDept.id }, first: 2, after: page1.pageInfo.endCursor }, admin)
    ).tickets;
    expect(page2.nodes.map((t) => t.id)).toEqual(ids.slice(2, 4));
    const page3 = (
      await app.data(TicketsDocument, { filter: { departmentId: queueDept.id }, first: 2, after: page2.pageInfo.endCursor }, admin)
    ).tickets;
    expect(page3.nodes.map((t) => t.id)).toEqual(ids.slice(4));
    expect(page3.pageInfo.hasNextPage).toBe(false);
    const newest = (await app.data(TicketsDocument, { filter: { departmentId: queueDept.id, order: 'NEWEST' } }, admin)).tickets.nodes;
    expect(newest.map((t) => t.id)).toEqual([high.id, urgent.id, normalLate.id, low.id, normalEarly.id]);
    // An escalation moves a ticket up the queue.
    await app.data(EscalateTicketDocument, { id: low.id, reason: '客户VIP' }, admin);
    const after = (await app.data(TicketsDocument, { filter: { departmentId: queueDept.id, priority: 'NORMAL' } }, admin)).tickets.nodes;
    // Its due times count from its creation with the new priority's SLA: it was opened before normal-late.
    expect(after.map((t) => t.id)).toEqual([normalEarly.id, low.id, normalLate.id]);
  });

  it('never exceed an agent’s limit; capacity appearing drains the queue at once', async () => {
    const limitDept = await app.createDepartment('投诉建议', 'complaints');
    const solo = await app.createUser({ role: 'AGENT', departmentId: limitDept.id, displayName: '投诉专员' });
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await openOk(bob.token, { category: '投诉建议', subject: `投诉 ${i}` }));
    expect(made.map((t) => t.assigneeId)).toEqual([solo.id, solo.id, solo.id, null]);
    expect(made[3].status).toBe('NEW');
    // By hand, too: the limit holds.
    const full = await app.exec(AssignTicketDocument, { id: made[3].id, agentId: solo.id }, admin);
    expect(full.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'AGENT_AT_LIMIT' });
    // Resolving one frees a slot: the waiting ticket is assigned right away.
    await app.data(ResolveTicketDocument, { id: made[0].id, resolution: '已处理' }, solo.token);
    const drained = (await app.data(TicketByIdDocument, { id: made[3].id }, admin)).ticket;
    expect(drained).toMatchObject({ status: 'ASSIGNED', assigneeId: solo.id });
  });

  it('are picked up by the sweep once an agent appears, after they have waited a little', async () => {
    const dept = await app.createDepartment('账户', 'account');
    const waiting = await openOk(alice.token, { category: '账户问题', subject: '等人' });
    expect(waiting).toMatchObject({ departmentId: dept.id, status: 'NEW' });
    const newcomer = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    expect((await app.services.tickets.sweep()).assigned).toBe(0); // just created: it had its turn
    await sql(`UPDATE tickets SET updated_at = now() - interval '1 minute' WHERE id = ?`, [waiting.id]);
    expect((await app.services.tickets.sweep()).assigned).toBe(1);
    expect((await app.data(TicketByIdDocument, { id: waiting.id }, admin)).ticket).toMatchObject({
      status: 'ASSIGNED',
      assigneeId: newcomer.id,
    });
  });

  it('auto-assign 30 tickets at once among 5 agents with a limit of 3: nobody above 3', async () => {
    const dept = await app.createDepartment('并发', 'sales');
    const agents = await Promise.all(
      Array.from({ length: 5 }, (_, i) => app.createUser({ role: 'AGENT', departmentId: dept.id, displayName: `并发${i}` })),
    );
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => open(alice.token, { category: '产品咨询', subject: `并发 ${i}` })),
    );
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    const rows = (await sql(
      `SELECT assignee_id, count(*)::int AS n FROM tickets WHERE department_id = ? AND status IN ('ASSIGNED', 'IN_PROGRESS', 'REOPENED') GROUP BY assignee_id`,
      [dept.id],
    )) as Array<{ assignee_id: string; n: number }>;
    expect(rows.length).toBe(5);
    expect(rows.every((r) => r.n === 3)).toBe(true);
    expect(new Set(rows.map((r) => r.assignee_id))).toEqual(new Set(agents.map((a) => a.id)));
    expect(
      await sql(`SELECT count(*)::int AS n FROM tickets WHERE department_id = ? AND status = 'NEW' AND assignee_id IS NULL`, [dept.id]),
    ).toEqual([{ n: 15 }]);
  });

  it('come from a conversation with its context, once', async () => {
    const em = app.services.orm.em.fork();
    const conversation = em.create(Conversation, {
      customerId: alice.id,
      agentId: techA.id,
      departmentId: tech.id,
      topic: '技术支持',
      status: ConversationStatus.ENDED,
      priority: ServicePriority.HIGH,
      priorityRank: rankOf(ServicePriority.HIGH),
      lastSeq: 3,
      skill: '登录',
      assignedAt: new Date(Date.now() - 600_000),
      endedAt: new Date(),
      endReason: EndReason.AGENT,
    });
    await em.flush();
    const lines: Array<[number, string | null, string | null, string]> = [
      [1, alice.id, 'CUSTOMER', '我的账号登录不了'],
      [2, techA.id, 'AGENT', '请问提示什么错误？'],
      [3, alice.id, 'CUSTOMER', '密码错误，但我没改过'],
    ];
    for (const [seq, sender, role, content] of lines) {
      await em.execute(`INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, content) VALUES (?, ?, ?, ?, ?, ?)`, [
        randomUUID(),
        conversation.id,
        seq,
        sender,
        role,
        content,
      ]);
    }
    expect(code(await app.exec(TicketFromConversationDocument, { conversationId: conversation.id }, techB.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketFromConversationDocument, { conversationId: conversation.id }, bob.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketFromConversationDocument, { conversationId: randomUUID() }, techA.token))).toBe('NOT_FOUND');

    const t = (await app.data(TicketFromConversationDocument, { conversationId: conversation.id }, techA.token)).ticketFromConversation;
    expect(t).toMatchObject({
      customerId: alice.id,
      createdById: techA.id,
      conversationId: conversation.id,
      priority: 'HIGH',
      category: '技术支持',
      departmentId: tech.id,
      tags: ['登录'],
    });
    expect(t.subject).toBe('技术支持：我的账号登录不了');
    expect(t.description.split('\n')).toEqual([
      expect.stringMatching(/\]\[CUSTOMER\]\[Alice\] 我的账号登录不了$/),
      expect.stringMatching(/\]\[AGENT\]\[技术A\] 请问提示什么错误？$/),
      expect.stringMatching(/\]\[CUSTOMER\]\[Alice\] 密码错误，但我没改过$/),
    ]);
    const again = (await app.data(TicketFromConversationDocument, { conversationId: conversation.id }, alice.token)).ticketFromConversation;
    expect(again.id).toBe(t.id);
    expect(code(await open(alice.token, { conversationId: conversation.id }))).toBe('CONFLICT');
    await clearTech();
  });

  it('warn at 80% and report breaches to the owner and their manager, once each, also with two processes sweeping', async () => {
    // Earlier tests' open tickets are settled, so only this test's deadlines pass.
    await sql(
      `UPDATE tickets SET status = 'CLOSED', resolved_at = coalesce(resolved_at, now()), closed_at = now() WHERE status <> 'CLOSED'`,
    );
    const second = await startTestApp({ databaseUrl: app.databaseUrl, env: { TICKET_AGENT_LIMIT: '3', TICKET_SLA_SWEEP_SECONDS: '3600' } });
    try {
      const assigned = await openOk(alice.token, { subject: 'SLA 测试', priority: 'URGENT' });
      const owner = assigned.assigneeId === techA.id ? techA : techB;
      const waitingOne = await openOk(alice.token, { subject: '无人处理', category: '售后服务', priority: 'URGENT' });
      const counts = async () =>
        (await sql(
          `SELECT user_id, kind, count(*)::int AS n FROM notifications
            WHERE kind LIKE 'TICKET_SLA_%' AND (title LIKE '%SLA 测试' OR title LIKE '%无人处理') GROUP BY user_id, kind`,
        )) as Array<{ user_id: string; kind: string; n: number }>;
      const sweepBoth = async () => {
        const results = await Promise.all([
          app.services.tickets.sweeper.run(),
          second.services.tickets.sweeper.run(),
          app.services.tickets.sweeper.run(),
        ]);
        return results;
      };
      // Nothing due yet.
      expect((await sweepBoth()).reduce((n, r) => n + r.notifications, 0)).toBe(0);

      // 4 of 5 minutes used (and 48 of 60): warnings for both deadlines.
      for (const id of [assigned.id, waitingOne.id]) {
        await sql(
          `UPDATE tickets SET first_response_warn_at = now() - interval '1 second', resolution_warn_at = now() - interval '1 second' WHERE id = ?`,
          [id],
        );
      }
      const warned = await sweepBoth();
      expect(warned.reduce((n, r) => n + r.warnings, 0)).toBe(4);
      const before = await counts();
      // The assignee and the assignee's manager; the unassigned one: its department's managers (none: the admins).
      const warnings = before.filter((r) => r.kind === 'TICKET_SLA_WARNING');
      const adminId = (await sql(`SELECT id FROM users WHERE role = 'ADMIN'`))[0].id;
      expect(warnings.map((r) => [r.user_id, r.n]).sort()).toEqual(
        [
          [owner.id, 2],
          [techManager.id, 2],
          [adminId, 2],
        ].sort(),
      );
      const fetched = (await app.data(TicketByIdDocument, { id: assigned.id }, owner.token)).ticket;
      expect(fetched).toMatchObject({ firstResponseSla: 'AT_RISK', resolutionSla: 'AT_RISK' });

      // Sweeping again changes nothing.
      expect((await sweepBoth()).reduce((n, r) => n + r.notifications, 0)).toBe(0);

      // Past the first-response due time: one breach notice each, and never again.
      await sql(`UPDATE tickets SET first_response_due_at = now() - interval '1 second' WHERE id IN (?, ?)`, [assigned.id, waitingOne.id]);
      const breached = await sweepBoth();
      expect(breached.reduce((n, r) => n + r.breaches, 0)).toBe(2);
      expect((await sweepBoth()).reduce((n, r) => n + r.notifications, 0)).toBe(0);
      const after = await counts();
      expect(
        after
          .filter((r) => r.kind === 'TICKET_SLA_BREACHED')
          .map((r) => [r.user_id, r.n])
          .sort(),
      ).toEqual(
        [
          [owner.id, 1],
          [techManager.id, 1],
          [adminId, 1],
        ].sort(),
      );
      const inboxOfOwner = await inbox(owner.token, 'TICKET_SLA_BREACHED');
      expect(inboxOfOwner[0].title).toBe('Ticket overdue (first response): SLA 测试');
      expect((await app.data(TicketByIdDocument, { id: assigned.id }, owner.token)).ticket).toMatchObject({ firstResponseSla: 'BREACHED' });
      expect((await app.data(TicketByIdDocument, { id: assigned.id }, owner.token)).ticket.firstResponseSecondsLeft).toBeLessThan(0);

      // A ticket found past its due time without a warning gets only the breach notice.
      const late = await openOk(alice.token, { subject: '直接超时', priority: 'URGENT' });
      await sql(
        `UPDATE tickets SET first_response_warn_at = now() - interval '2 minutes', first_response_due_at = now() - interval '1 minute' WHERE id = ?`,
        [late.id],
      );
      const only = await sweepBoth();
      expect(only.reduce((n, r) => n + r.breaches, 0)).toBe(1);
      expect(only.reduce((n, r) => n + r.warnings, 0)).toBe(0);
    } finally {
      await second.stop();
      await clearTech();
    }
  });
});
