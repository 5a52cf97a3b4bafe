import { print } from 'graphql';
import { AuditLogDocument, MeDocument, UsersDocument } from '../generated/graphql';
import { GqlResult, startTestApp, TestApp } from '../support/harness';

/**
 * A server with small limits. The typed documents the clients use stay inside all of them
 * (Users: depth 4, cost ~40, 55 tokens, no aliases), so each oversized query below trips one limit only.
 */
const LIMITS = { GRAPHQL_MAX_DEPTH: '4', GRAPHQL_MAX_ALIASES: '2', GRAPHQL_MAX_COST: '60', GRAPHQL_MAX_TOKENS: '120' };

function expectRejected(res: GqlResult<unknown>, pattern: RegExp): void {
  expect(res.status).toBe(400);
  expect(res.data ?? null).toBeNull();
  expect(res.errors?.length).toBeGreaterThan(0);
  for (const e of res.errors!) expect(e.extensions?.code).toBe('BAD_USER_INPUT');
  expect(res.errors!.some((e) => pattern.test(e.message))).toBe(true);
}

describe('query limits over HTTP', () => {
  let app: TestApp;
  let admin: string;
  beforeAll(async () => {
    app = await startTestApp({ env: LIMITS });
    admin = await app.adminToken();
  });
  afterAll(() => app.stop());

  it('normal queries pass', async () => {
    const users = await app.data(UsersDocument, { first: 10 }, admin);
    expect(users.users.nodes.length).toBeGreaterThan(0);
    expect((await app.data(MeDocument, {}, admin)).me.role).toBe('ADMIN');
    // depth exactly at the limit, and aliases exactly at the limit
    await app.data('{ auditLog(first: 1) { nodes { actor { email } } } }', undefined, admin);
    const aliased = await app.data<{ a: { id: string }; b: { id: string } }, unknown>('{ a: me { id } b: me { id } }', undefined, admin);
    expect(aliased.a.id).toBe(aliased.b.id);
  });

  it('too deep is BAD_USER_INPUT', async () => {
    expectRejected(await app.exec('{ auditLog(first: 1) { nodes { actor { department { name } } } } }', undefined, admin), /depth/i);
    // rejected before it runs: even an anonymous caller gets the limit, not UNAUTHENTICATED
    expectRejected(await app.exec('{ auditLog(first: 1) { nodes { actor { department { name } } } } }'), /depth/i);
  });

  it('too many aliases is BAD_USER_INPUT', async () => {
    expectRejected(await app.exec('{ a: me { id } b: me { id } c: me { id } }', undefined, admin), /alias/i);
  });

  it('too costly is BAD_USER_INPUT', async () => {
    // within depth 4, no aliases, 43 tokens, but wide: cost ~81
    const wide =
      '{ users { nodes { id email displayName role employeeCode skills active createdAt updatedAt maxConcurrentChats departmentId ' +
      'department { id name code description createdAt } } } auditLog { nodes { id action summary actor { id email displayName role } } } }';
    expectRejected(await app.exec(wide, undefined, admin), /cost/i);
  });

  it('too many tokens is BAD_USER_INPUT, before parsing goes on', async () => {
    const long = `{ me { ${Array.from({ length: 130 }, () => 'id').join(' ')} } }`;
    const res = await app.exec(long, undefined, admin);
    expectRejected(res, /token/i);
    expect(res.errors).toHaveLength(1);
  });

  it('a mutation over a limit is not executed', async () => {
    const before = (await app.data(AuditLogDocument, { first: 1 }, admin)).auditLog.nodes[0]?.id;
    const mutation = `mutation { a: createDepartment(input: { name: "A", code: "a" }) { id } b: createDepartment(input: { name: "B", code: "b" }) { id } c: createDepartment(input: { name: "C", code: "c" }) { id } }`;
    expectRejected(await app.exec(mutation, undefined, admin), /alias/i);
    const departments = await app.data<{ departments: unknown[] }, unknown>('{ departments { id } }', undefined, admin);
    expect(departments.departments).toEqual([]);
    expect((await app.data(AuditLogDocument, { first: 1 }, admin)).auditLog.nodes[0]?.id).toBe(before);
  });

  it('the default limits let the typed documents through', async () => {
    const plain = await startTestApp();
    try {
      const token = await plain.adminToken();
      for (const doc of [UsersDocument, AuditLogDocument, MeDocument]) {
        const res = await plain.exec(doc as never, {} as never, token);
        expect({ doc: print(doc).slice(0, 30), errors: res.errors }).toEqual({ doc: print(doc).slice(0, 30), errors: undefined });
      }
    } finally {
      await plain.stop();
    }
  });
});
