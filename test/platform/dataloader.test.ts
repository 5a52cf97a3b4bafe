import { AuditLogDocument, CreateUserDocument, RegisterCustomerDocument, UsersDocument } from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

/**
 * Nested relations resolve through per-request DataLoaders: the number of SQL statements of a list query
 * does not grow with the length of the list.
 */
describe('nested relations cost a bounded number of SQL statements', () => {
  const DEPARTMENTS = 6;
  const USERS = 30;
  let app: TestApp;
  let admin: string;
  const departmentOf = new Map<string, string>(); // user id -> department name
  const emailOf = new Map<string, string>(); // customer id -> e-mail

  const sqlSoFar = async () => (await app.services.metrics.sqlQueries.get()).values[0]?.value ?? 0;
  /**
   * SQL statements the server ran while `fn` ran. The counter is per process, so a periodic job could add
   * to it (several sweeps run every few seconds): the fewest of five runs is what `fn` itself costs.
   */
  async function sqlDuring<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
    let best: { result: T; statements: number } | null = null;
    for (let i = 0; i < 5; i++) {
      const before = await sqlSoFar();
      const result = await fn();
      const statements = (await sqlSoFar()) - before;
      if (!best || statements < best.statements) best = { result, statements };
    }
    return best!;
  }

  beforeAll(async () => {
    // USERS customers register from one address: more than registerCustomer's default limit per address.
    app = await startTestApp({ env: { RATE_REGISTER_CUSTOMER_PER_HOUR: String(USERS) } });
    admin = await app.adminToken();
    const departments = [];
    for (let i = 0; i < DEPARTMENTS; i++) departments.push(await app.createDepartment(`Team ${i}`, `team_${i}`));
    for (let i = 0; i < USERS; i++) {
      const dept = departments[i % DEPARTMENTS];
      const res = await app.data(
        CreateUserDocument,
        {
          input: {
            email: `agent${i}@test.local`,
            password: 'password-123',
            displayName: `Agent ${i}`,
            role: 'AGENT',
            departmentId: dept.id,
          },
        },
        admin,
      );
      departmentOf.set(res.createUser.id, dept.name);
    }
    // Each registration is an audit entry whose actor is a different user.
    for (let i = 0; i < USERS; i++) {
      const email = `customer${i}@test.local`;
      const res = await app.data(RegisterCustomerDocument, { input: { email, password: 'password-123', displayName: `Customer ${i}` } });
      emailOf.set(res.registerCustomer.user.id, email);
    }
  });
  afterAll(() => app.stop());

  it('the SQL counter counts statements', async () => {
    const { statements } = await sqlDuring(() => app.data('{ me { id } }', undefined, admin));
    expect(statements).toBeGreaterThanOrEqual(1);
  });

  it('users { nodes { department { name } } }: 3 users and 30 users take the same number of statements', async () => {
    const run = (first: number) => sqlDuring(() => app.data(UsersDocument, { first, filter: { role: 'AGENT' } }, admin));
    const small = await run(3);
    const large = await run(USERS);

    expect(small.result.users.nodes).toHaveLength(3);
    expect(large.result.users.nodes).toHaveLength(USERS);
    // every department was really resolved, and to the right one
    for (const node of large.result.users.nodes) expect(node.department?.name).toBe(departmentOf.get(node.id));
    expect(new Set(large.result.users.nodes.map((n) => n.department?.name)).size).toBe(DEPARTMENTS);

    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(4); // viewer, page, departments (+ slack)

    // the nested department adds at most one statement over the bare list
    const bare = await sqlDuring(() =>
      app.data('query ($n: Int) { users(first: $n, filter: { role: AGENT }) { nodes { id } } }', { n: USERS }, admin),
    );
    expect(large.statements - bare.statements).toBeLessThanOrEqual(1);
  });

  it('auditLog { nodes { actor { email } } }: 3 entries and 30 entries take the same number of statements', async () => {
    const run = (first: number) => sqlDuring(() => app.data(AuditLogDocument, { first, filter: { action: 'user.register' } }, admin));
    const small = await run(3);
    const large = await run(USERS);

    expect(small.result.auditLog.nodes).toHaveLength(3);
    expect(large.result.auditLog.nodes).toHaveLength(USERS);
    for (const node of large.result.auditLog.nodes) {
      expect(node.actor?.id).toBe(node.actorId);
      expect(node.actor?.email).toBe(emailOf.get(node.targetId));
    }
    expect(new Set(large.result.auditLog.nodes.map((n) => n.actor?.id)).size).toBe(USERS);

    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(4); // viewer, page, actors (+ slack)
  });

  it('two levels of nesting (audit entry -> actor -> department) stay bounded too', async () => {
    const query =
      'query ($n: Int) { auditLog(first: $n, filter: { action: "user.create" }) { nodes { actor { email department { name } } } } }';
    const small = await sqlDuring(() => app.data(query, { n: 3 }, admin));
    const large = await sqlDuring(() => app.data(query, { n: USERS }, admin));
    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(5);
  });
});
