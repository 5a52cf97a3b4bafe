import { randomUUID } from 'node:crypto';
import { NodeByIdDocument, NodesByIdsDocument, NotificationEdgesDocument, SendNotificationDocument } from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

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
