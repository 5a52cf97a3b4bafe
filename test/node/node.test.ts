import { randomUUID } from 'node:crypto';
import {
  AssignSchedulesDocument,
  AuditLogDocument,
  CreateFaqDocument,
  CreateQuickReplyDocument,
  CreateShiftDocument,
  NodeByIdDocument,
  NodesByIdsDocument,
  NotificationEdgesDocument,
  PublishFaqDocument,
  RequestLeaveDocument,
  SendNotificationDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';
import { createSchema } from '../../src/schema';
import { NODE_TYPES } from '../../src/modules/node/node.resolver';
import { GraphQLInterfaceType } from 'graphql';

it('every type implementing Node has a loader in the registry, and every loader a Node type', async () => {
  const schema = await createSchema();
  const node = schema.getType('Node') as GraphQLInterfaceType;
  const implementing = schema.getPossibleTypes(node).map((t) => t.name);
  expect([...implementing].sort()).toEqual(NODE_TYPES.map((t) => t.type.name).sort());
});

type User = { id: string; token: string };

describe('node(id) and nodes(ids): Relay refetch in scope', () => {
  let app: TestApp;
  let admin: string;
  let deptA: string;
  let managerA: User;
  let agentA: User;
  let agentA2: User;
  let managerB: User;
  let agentB: User;
  let customer: User;
  let customer2: User;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    deptA = (await app.createDepartment('Sales', `sales_${randomUUID().slice(0, 6)}`)).id;
    const deptB = (await app.createDepartment('Support', `support_${randomUUID().slice(0, 6)}`)).id;
    managerA = await app.createUser({ role: 'MANAGER', departmentId: deptA });
    agentA = await app.createUser({ role: 'AGENT', departmentId: deptA });
    agentA2 = await app.createUser({ role: 'AGENT', departmentId: deptA });
    managerB = await app.createUser({ role: 'MANAGER', departmentId: deptB });
    agentB = await app.createUser({ role: 'AGENT', departmentId: deptB });
    customer = await app.createUser({ role: 'CUSTOMER' });
    customer2 = await app.createUser({ role: 'CUSTOMER' });
  });
  afterAll(() => app.stop());

  const node = async (id: string, token: string | null) => {
    const res = await app.exec(NodeByIdDocument, { id }, token);
    expect(res.errors).toBeUndefined();
    return res.data!.node;
  };

  it('fetches a user by id as the user query would, with its concrete type', async () => {
    expect(await node(agentA.id, admin)).toEqual({ __typename: 'User', id: agentA.id, displayName: expect.any(String) });
    expect(await node(agentA.id, managerA.token)).toMatchObject({ __typename: 'User', id: agentA.id });
    expect(await node(agentA.id, agentA.token)).toMatchObject({ id: agentA.id });
    expect(await node(customer.id, customer.token)).toMatchObject({ id: customer.id });
  });

  it('gives null, never the object, to every role that may not see it', async () => {
    // another department's manager, a colleague, another department's agent, a customer, another customer
    expect(await node(agentA.id, managerB.token)).toBeNull();
    expect(await node(agentA.id, agentA2.token)).toBeNull();
    expect(await node(agentA.id, agentB.token)).toBeNull();
    expect(await node(agentA.id, customer.token)).toBeNull();
    expect(await node(customer.id, customer2.token)).toBeNull();
  });

  it('shows notifications to their owner only (admins included)', async () => {
    const sent = await app.data(SendNotificationDocument, { userId: agentA.id, title: 'For agent A', body: 'b' }, admin);
    const id = sent.sendNotification.id;
    expect(await node(id, agentA.token)).toEqual({ __typename: 'Notification', id, title: 'For agent A' });
    for (const other of [admin, managerA.token, agentA2.token, agentB.token, customer.token]) expect(await node(id, other)).toBeNull();
  });

  it('shows departments to staff, not to customers', async () => {
    for (const staff of [admin, managerA.token, agentA.token, agentB.token]) {
      expect(await node(deptA, staff)).toMatchObject({ __typename: 'Department', id: deptA, name: 'Sales' });
    }
    expect(await node(deptA, customer.token)).toBeNull();
  });

  it('shows a leave request as leaveRequest(id) does: its agent, their manager and admins; no one else', async () => {
    const { requestLeave } = await app.data(
      RequestLeaveDocument,
      { input: { startDate: '2031-06-02', endDate: '2031-06-02', type: 'PERSONAL' } },
      agentA.token,
    );
    for (const token of [agentA.token, managerA.token, admin]) {
      expect(await node(requestLeave.id, token)).toMatchObject({ __typename: 'LeaveRequest', id: requestLeave.id });
    }
    for (const token of [agentA2.token, managerB.token, agentB.token, customer.token])
      expect(await node(requestLeave.id, token)).toBeNull();
  });

  it('shows a schedule as the schedules query does: its agent, their department’s manager and admins', async () => {
    const { createShift } = await app.data(
      CreateShiftDocument,
      { input: { name: 'N', code: `N${randomUUID().slice(0, 6)}`, startTime: '09:00', endTime: '17:00' } },
      admin,
    );
    const assigned = await app.data(
      AssignSchedulesDocument,
      { input: { shiftId: createShift.id, agentIds: [agentA.id], dates: ['2031-06-10'] } },
      admin,
    );
    const scheduleId = assigned.assignSchedules.created[0].id;
    for (const token of [agentA.token, managerA.token, admin])
      expect(await node(scheduleId, token)).toMatchObject({ __typename: 'Schedule' });
    for (const token of [agentA2.token, managerB.token, agentB.token, customer.token]) expect(await node(scheduleId, token)).toBeNull();
    // a shift is shared by all departments: every member of staff sees it, a customer does not
    for (const token of [agentB.token, managerB.token]) expect(await node(createShift.id, token)).toMatchObject({ __typename: 'Shift' });
    expect(await node(createShift.id, customer.token)).toBeNull();
  });

  it('shows a personal quick reply to its owner only, and an FAQ draft to its keepers until it is published', async () => {
    const reply = (await app.data(CreateQuickReplyDocument, { input: { title: 'Mine', content: 'x' } }, agentA.token)).createQuickReply;
    expect(await node(reply.id, agentA.token)).toMatchObject({ __typename: 'QuickReply', id: reply.id });
    for (const token of [agentA2.token, managerB.token, customer.token]) expect(await node(reply.id, token)).toBeNull();

    const draft = await app.data(
      CreateFaqDocument,
      { input: { question: '怎么退货？', answer: '七天内可退', category: '其他', scope: 'DEPARTMENT' } },
      managerA.token,
    );
    const faqId = draft.createFaq.id;
    for (const token of [managerA.token, admin]) expect(await node(faqId, token)).toMatchObject({ __typename: 'Faq', id: faqId });
    for (const token of [managerB.token, agentA.token, customer.token]) expect(await node(faqId, token)).toBeNull();
    await app.data(PublishFaqDocument, { id: faqId }, managerA.token);
    for (const token of [agentB.token, customer.token]) expect(await node(faqId, token)).toMatchObject({ __typename: 'Faq' });
  });

  it('shows audit entries to admins only, as auditLog does', async () => {
    const entry = (await app.data(AuditLogDocument, { first: 1 }, admin)).auditLog.nodes[0];
    expect(await node(entry.id, admin)).toMatchObject({ __typename: 'AuditEntry', id: entry.id });
    for (const token of [managerA.token, agentA.token, customer.token]) expect(await node(entry.id, token)).toBeNull();
  });

  it('gives null for an id that names nothing, and refuses an anonymous caller', async () => {
    expect(await node(randomUUID(), admin)).toBeNull();
    const anonymous = await app.exec(NodeByIdDocument, { id: agentA.id }, null);
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an id that is not a UUID with BAD_USER_INPUT', async () => {
    const res = await app.exec(NodeByIdDocument, { id: 'not-a-uuid' }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'id', message: expect.any(String) }] });
    const many = await app.exec(NodesByIdsDocument, { ids: [agentA.id, 'x'] }, admin);
    expect(many.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'ids.1' }] });
  });

  it('nodes(ids) answers in order, with nulls for what the caller may not see, repeats included', async () => {
    const missing = randomUUID();
    const res = await app.data(NodesByIdsDocument, { ids: [agentA.id, deptA, missing, agentB.id, agentA.id] }, managerA.token);
    expect(res.nodes).toEqual([
      { __typename: 'User', id: agentA.id },
      { __typename: 'Department', id: deptA },
      null,
      null,
      { __typename: 'User', id: agentA.id },
    ]);
  });

  it('nodes(ids) refuses more than 100 ids', async () => {
    const res = await app.exec(NodesByIdsDocument, { ids: Array.from({ length: 101 }, () => randomUUID()) }, admin);
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('connections in the Relay shape', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it('give edges with a cursor per node beside the old nodes list, and each cursor pages on from its edge', async () => {
    const admin = await app.adminToken();
    const user = await app.createUser({ role: 'CUSTOMER' });
    for (const title of ['one', 'two', 'three']) {
      await app.data(SendNotificationDocument, { userId: user.id, title, body: 'b' }, admin);
    }
    const first = (await app.data(NotificationEdgesDocument, { first: 2 }, user.token)).notifications;
    expect(first.edges.map((e) => e.node.title)).toEqual(['three', 'two']);
    expect(first.nodes.map((n) => n.id)).toEqual(first.edges.map((e) => e.node.id));
    expect(first.pageInfo).toEqual({
      startCursor: first.edges[0].cursor,
      endCursor: first.edges[1].cursor,
      hasNextPage: true,
      hasPreviousPage: false,
    });
    // the first edge's cursor continues right after it
    const fromFirst = (await app.data(NotificationEdgesDocument, { first: 5, after: first.edges[0].cursor }, user.token)).notifications;
    expect(fromFirst.edges.map((e) => e.node.title)).toEqual(['two', 'one']);
    const rest = (await app.data(NotificationEdgesDocument, { first: 5, after: first.pageInfo.endCursor }, user.token)).notifications;
    expect(rest.edges.map((e) => e.node.title)).toEqual(['one']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses a made-up cursor with BAD_USER_INPUT', async () => {
    const user = await app.createUser({ role: 'CUSTOMER' });
    const res = await app.exec(NotificationEdgesDocument, { first: 2, after: 'bm90LWEtY3Vyc29y' }, user.token);
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
