import { randomUUID } from 'node:crypto';
import {
  CreateDepartmentDocument,
  CreateUserDocument,
  CreateUserMutationVariables,
  DeactivateUserDocument,
  DepartmentsDocument,
  LoginDocument,
  MeDocument,
  RegisterCustomerDocument,
  UpdateUserDocument,
  UserByIdDocument,
  UsersDocument,
  UsersQuery,
} from '../generated/graphql';
import { User } from '../../src/modules/accounts/user.entity';
import { ADMIN_EMAIL, ADMIN_PASSWORD, GqlResult, startTestApp, TestApp } from '../support/harness';

type Created = { id: string; email: string; password: string; token: string };

/** The error codes of a response, in order. */
function codes(res: GqlResult<unknown>): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}

/** Asserts exactly one error with `code` and no data; returns the error. */
function expectError(res: GqlResult<unknown>, code: string) {
  expect(codes(res)).toEqual([code]);
  expect(res.data ?? null).toBeNull();
  return res.errors![0];
}

function fieldNames(err: { extensions?: Record<string, any> }): string[] {
  return ((err.extensions?.fields ?? []) as Array<{ field: string }>).map((f) => f.field);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('accounts', () => {
  let app: TestApp;
  let admin: string;
  let deptA: { id: string; name: string; code: string };
  let deptB: { id: string; name: string; code: string };
  let managerA: Created;
  let managerB: Created;
  let agentA1: Created;
  let agentA2: Created;
  let agentB1: Created;
  let customer: { id: string; token: string };
  /** Where the tests that create, move or change users put them: the people above stay as they are, in any test order. */
  let deptW: { id: string; name: string; code: string };
  /** A department of its own with a manager and an agent, for a test that changes them. */
  const ownTeam = async () => {
    const dept = await app.createDepartment(`团队 ${randomUUID().slice(0, 8)}`, `team_${randomUUID().slice(0, 8)}`);
    const manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    return { dept, manager, agent };
  };

  const countUsers = () => app.services.orm.em.fork().count(User, {});

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    deptA = await app.createDepartment('售前 A', 'presales_a');
    deptB = await app.createDepartment('技术支持 B', 'technical_b');
    deptW = await app.createDepartment('写入 W', 'writes_w');
    managerA = await app.createUser({ role: 'MANAGER', departmentId: deptA.id, displayName: 'Mona Manager', employeeCode: 'MG100' });
    managerB = await app.createUser({ role: 'MANAGER', departmentId: deptB.id, displayName: 'Mark Manager', employeeCode: 'MG200' });
    agentA1 = await app.createUser({
      role: 'AGENT',
      departmentId: deptA.id,
      displayName: 'Alice Zhang',
      employeeCode: 'KF101',
      skills: ['退款', 'english'],
    });
    agentA2 = await app.createUser({
      role: 'AGENT',
      departmentId: deptA.id,
      displayName: 'Bob Li',
      employeeCode: 'KF102',
      skills: ['english'],
    });
    agentB1 = await app.createUser({
      role: 'AGENT',
      departmentId: deptB.id,
      displayName: 'Carol Wang',
      employeeCode: 'KF201',
      skills: ['network'],
    });
    const reg = await app.data(RegisterCustomerDocument, {
      input: { email: 'first.customer@example.com', password: 'customer-pass-1', displayName: 'First Customer' },
    });
    customer = { id: reg.registerCustomer.user.id, token: reg.registerCustomer.token };
  });
  afterAll(() => app.stop());

  describe('login', () => {
    it('returns a token, its expiry and the user; the token signs the user in', async () => {
      const res = await app.data(LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      expect(res.login.user).toMatchObject({ email: ADMIN_EMAIL, role: 'ADMIN' });
      expect(typeof res.login.token).toBe('string');
      expect(new Date(res.login.expiresAt).getTime()).toBeGreaterThan(Date.now());
      const me = await app.data(MeDocument, {}, res.login.token);
      expect(me.me.id).toBe(res.login.user.id);
    });

    it('accepts the e-mail in any case and with surrounding spaces', async () => {
      const res = await app.data(LoginDocument, { email: `  ${agentA1.email.toUpperCase()} `, password: agentA1.password });
      expect(res.login.user.id).toBe(agentA1.id);
    });

    it('fails alike for an unknown e-mail and for a wrong password: same message, UNAUTHENTICATED', async () => {
      const unknown = await app.exec(LoginDocument, { email: 'nobody@example.com', password: agentA2.password });
      const wrong = await app.exec(LoginDocument, { email: agentA2.email, password: 'not-the-password' });
      const e1 = expectError(unknown, 'UNAUTHENTICATED');
      const e2 = expectError(wrong, 'UNAUTHENTICATED');
      expect(e1.message).toBe(e2.message);
      expect(e1.message).not.toMatch(/unknown|not found|no such|password is wrong/i);
    });
  });

  describe('login rate limit (LOGIN_MAX_FAILURES=3)', () => {
    let limited: TestApp;
    beforeAll(async () => {
      limited = await startTestApp({ env: { LOGIN_MAX_FAILURES: '3' } });
    });
    afterAll(() => limited.stop());

    it('after 3 failures the next attempt is RATE_LIMITED with retryAfterSeconds, even with the right password', async () => {
      const user = await limited.createUser({ role: 'AGENT', departmentId: (await limited.createDepartment('D', 'd')).id });
      for (let i = 0; i < 3; i++) {
        expectError(await limited.exec(LoginDocument, { email: user.email, password: `wrong-${i}-password` }), 'UNAUTHENTICATED');
      }
      const blocked = expectError(
        await limited.exec(LoginDocument, { email: user.email, password: 'wrong-again-password' }),
        'RATE_LIMITED',
      );
      expect(Number.isInteger(blocked.extensions!.retryAfterSeconds)).toBe(true);
      expect(blocked.extensions!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(blocked.extensions!.retryAfterSeconds).toBeLessThanOrEqual(900);
      expectError(await limited.exec(LoginDocument, { email: user.email, password: user.password }), 'RATE_LIMITED');
      // The limit is per e-mail: someone else still signs in.
      const other = await limited.data(LoginDocument, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      expect(other.login.user.email).toBe(ADMIN_EMAIL);
    });

    it('an unknown e-mail is limited the same way, so the limit reveals nothing', async () => {
      const email = 'ghost@example.com';
      for (let i = 0; i < 3; i++)
        expectError(await limited.exec(LoginDocument, { email, password: 'whatever-password' }), 'UNAUTHENTICATED');
      expectError(await limited.exec(LoginDocument, { email, password: 'whatever-password' }), 'RATE_LIMITED');
    });

    it('a successful sign-in clears the count of earlier failures', async () => {
      const user = await limited.createUser({ role: 'CUSTOMER' });
      for (let i = 0; i < 2; i++)
        expectError(await limited.exec(LoginDocument, { email: user.email, password: 'bad-password' }), 'UNAUTHENTICATED');
      await limited.data(LoginDocument, { email: user.email, password: user.password });
      for (let i = 0; i < 2; i++)
        expectError(await limited.exec(LoginDocument, { email: user.email, password: 'bad-password' }), 'UNAUTHENTICATED');
      expect((await limited.data(LoginDocument, { email: user.email, password: user.password })).login.user.id).toBe(user.id);
    });
  });

  describe('registerCustomer', () => {
    it('creates a CUSTOMER without department whose token works', async () => {
      const res = await app.data(RegisterCustomerDocument, {
        input: { email: 'New.Customer@Example.com', password: 'long-enough-1', displayName: '  New Customer ' },
      });
      expect(res.registerCustomer.user).toMatchObject({
        email: 'new.customer@example.com',
        displayName: 'New Customer',
        role: 'CUSTOMER',
        department: null,
      });
      const me = await app.data(MeDocument, {}, res.registerCustomer.token);
      expect(me.me).toMatchObject({ id: res.registerCustomer.user.id, role: 'CUSTOMER', departmentId: null });
      const login = await app.data(LoginDocument, { email: 'new.customer@example.com', password: 'long-enough-1' });
      expect(login.login.user.id).toBe(res.registerCustomer.user.id);
    });

    it('an e-mail already taken (in any case) is CONFLICT naming the field, and nothing is written', async () => {
      const before = await countUsers();
      const res = await app.exec(RegisterCustomerDocument, {
        input: { email: 'FIRST.customer@example.com', password: 'long-enough-2', displayName: 'Copycat' },
      });
      const err = expectError(res, 'CONFLICT');
      expect(err.extensions!.fields).toEqual([{ field: 'email', message: expect.any(String) }]);
      expect(await countUsers()).toBe(before);
    });

    it('a password under 8 characters is BAD_USER_INPUT naming password, and nothing is written', async () => {
      const before = await countUsers();
      const res = await app.exec(RegisterCustomerDocument, {
        input: { email: 'short.pw@example.com', password: 'short7!', displayName: 'Shorty' },
      });
      const err = expectError(res, 'BAD_USER_INPUT');
      expect(fieldNames(err)).toEqual(['password']);
      expect(await countUsers()).toBe(before);
      expectError(await app.exec(LoginDocument, { email: 'short.pw@example.com', password: 'short7!' }), 'UNAUTHENTICATED');
    });

    it('an empty or 101-character display name is BAD_USER_INPUT saying the limits the input type declares', async () => {
      const before = await countUsers();
      for (const displayName of ['', 'x'.repeat(101)]) {
        const err = expectError(
          await app.exec(RegisterCustomerDocument, { input: { email: 'no.name@example.com', password: 'long-enough-4', displayName } }),
          'BAD_USER_INPUT',
        );
        expect(err.extensions!.fields).toEqual([{ field: 'displayName', message: 'must be 1 to 100 characters' }]);
      }
      expect(await countUsers()).toBe(before);
    });

    it('a malformed e-mail is BAD_USER_INPUT naming email', async () => {
      const before = await countUsers();
      const err = expectError(
        await app.exec(RegisterCustomerDocument, { input: { email: 'not-an-email', password: 'long-enough-3', displayName: 'X' } }),
        'BAD_USER_INPUT',
      );
      expect(fieldNames(err)).toContain('email');
      expect(await countUsers()).toBe(before);
    });
  });

  describe('me', () => {
    it('returns the signed-in user with the department', async () => {
      const res = await app.data(MeDocument, {}, agentA1.token);
      expect(res.me).toMatchObject({
        id: agentA1.id,
        email: agentA1.email,
        role: 'AGENT',
        employeeCode: 'KF101',
        departmentId: deptA.id,
        department: { id: deptA.id, name: deptA.name, code: deptA.code },
        active: true,
      });
      expect(res.me.skills.sort()).toEqual(['english', '退款'].sort());
    });

    it('is UNAUTHENTICATED without a token', async () => {
      expectError(await app.exec(MeDocument, {}), 'UNAUTHENTICATED');
    });
  });

  describe('users: scope', () => {
    it('admins see everyone', async () => {
      const res = await app.data(UsersDocument, { first: 100 }, admin);
      const ids = res.users.nodes.map((u) => u.id);
      for (const u of [managerA, managerB, agentA1, agentA2, agentB1, customer]) expect(ids).toContain(u.id);
      expect(res.users.nodes.length).toBe(await countUsers());
    });

    it('managers see only their own department', async () => {
      const res = await app.data(UsersDocument, { first: 100 }, managerA.token);
      const ids = res.users.nodes.map((u) => u.id).sort();
      expect(ids).toEqual([managerA.id, agentA1.id, agentA2.id].sort());
      expect(res.users.nodes.every((u) => u.department?.id === deptA.id)).toBe(true);
      // asking for their own department explicitly is the same list
      const own = await app.data(UsersDocument, { first: 100, filter: { departmentId: deptA.id } }, managerA.token);
      expect(own.users.nodes.map((u) => u.id).sort()).toEqual(ids);
    });

    it("a manager asking for another department's users is FORBIDDEN", async () => {
      expectError(await app.exec(UsersDocument, { filter: { departmentId: deptB.id } }, managerA.token), 'FORBIDDEN');
    });

    it('agents and customers are FORBIDDEN', async () => {
      expectError(await app.exec(UsersDocument, {}, agentA1.token), 'FORBIDDEN');
      expectError(await app.exec(UsersDocument, {}, customer.token), 'FORBIDDEN');
      expectError(await app.exec(UsersDocument, {}), 'UNAUTHENTICATED');
    });

    it('admins can filter by department', async () => {
      const res = await app.data(UsersDocument, { filter: { departmentId: deptB.id } }, admin);
      expect(res.users.nodes.map((u) => u.id).sort()).toEqual([managerB.id, agentB1.id].sort());
    });
  });

  describe('users: filters', () => {
    /**
     * Which of the people made above a filtered list returns (other tests add people of their own, in any order),
     * after checking that everyone it returns matches the role and skill asked for.
     */
    const ids = async (filter: { role?: string; skill?: string; search?: string }, token = admin) => {
      const nodes = (await app.data(UsersDocument, { first: 100, filter } as never, token)).users.nodes;
      for (const u of nodes) {
        if (filter.role) expect(u.role).toBe(filter.role);
        if (filter.skill) expect(u.skills).toContain(filter.skill);
      }
      const people = new Set([managerA, managerB, agentA1, agentA2, agentB1, customer].map((p) => p.id));
      return nodes
        .map((u) => u.id)
        .filter((id) => people.has(id))
        .sort();
    };

    it('search matches part of the name (any case), the e-mail or the employee code', async () => {
      expect(await ids({ search: 'alice zh' })).toEqual([agentA1.id]);
      expect(await ids({ search: agentB1.email.split('@')[0].toUpperCase() })).toEqual([agentB1.id]);
      expect(await ids({ search: 'kf102' })).toEqual([agentA2.id]);
    });

    it('search treats % and _ literally', async () => {
      expect(await ids({ search: '%' })).toEqual([]);
      expect(await ids({ search: '_' })).toEqual([]);
    });

    it('role and skill filters, alone and combined with the manager scope', async () => {
      expect(await ids({ role: 'AGENT' })).toEqual([agentA1.id, agentA2.id, agentB1.id].sort());
      expect(await ids({ role: 'MANAGER' })).toEqual([managerA.id, managerB.id].sort());
      expect(await ids({ skill: '退款' })).toEqual([agentA1.id]);
      expect(await ids({ skill: 'english' })).toEqual([agentA1.id, agentA2.id].sort());
      expect(await ids({ skill: 'english', search: 'bob' })).toEqual([agentA2.id]);
      expect(await ids({ role: 'AGENT' }, managerB.token)).toEqual([agentB1.id]);
      expect(await ids({ skill: 'english' }, managerB.token)).toEqual([]);
    });
  });

  describe('users: cursor pagination', () => {
    it('pages with first/after through the whole list, in the same order, without gaps or repeats', async () => {
      const all = (await app.data(UsersDocument, { first: 100 }, admin)).users;
      expect(all.pageInfo.hasNextPage).toBe(false);
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page: UsersQuery = await app.data(UsersDocument, { first: 2, after }, admin);
        const { nodes, pageInfo } = page.users;
        seen.push(...nodes.map((u) => u.id));
        pages++;
        if (!pageInfo.hasNextPage) break;
        expect(nodes).toHaveLength(2);
        after = pageInfo.endCursor;
        expect(after).toBeTruthy();
      }
      expect(seen).toEqual(all.nodes.map((u) => u.id));
      expect(pages).toBe(Math.ceil(all.nodes.length / 2));
    });

    it('a cursor that was not handed out is BAD_USER_INPUT', async () => {
      for (const after of ['not-a-cursor', b64({ a: 1 }), b64(['yesterday', 'nope'])]) {
        const res = await app.exec(UsersDocument, { first: 2, after }, admin);
        expectError(res, 'BAD_USER_INPUT');
      }
    });

    it('first must be between 1 and 100', async () => {
      for (const first of [0, -1, 101]) {
        const err = expectError(await app.exec(UsersDocument, { first }, admin), 'BAD_USER_INPUT');
        expect(fieldNames(err)).toEqual(['first']);
      }
      await app.data(UsersDocument, { first: 100 }, admin);
      await app.data(UsersDocument, { first: 1 }, admin);
    });
  });

  describe('user(id)', () => {
    it('admins read anyone; managers their department; others only themselves', async () => {
      expect((await app.data(UserByIdDocument, { id: agentB1.id }, admin)).user.id).toBe(agentB1.id);
      expect((await app.data(UserByIdDocument, { id: agentA1.id }, managerA.token)).user.id).toBe(agentA1.id);
      expectError(await app.exec(UserByIdDocument, { id: agentB1.id }, managerA.token), 'FORBIDDEN');
      expectError(await app.exec(UserByIdDocument, { id: customer.id }, managerA.token), 'FORBIDDEN');
      expect((await app.data(UserByIdDocument, { id: agentA1.id }, agentA1.token)).user.id).toBe(agentA1.id);
      expectError(await app.exec(UserByIdDocument, { id: agentA2.id }, agentA1.token), 'FORBIDDEN');
      expect((await app.data(UserByIdDocument, { id: customer.id }, customer.token)).user.id).toBe(customer.id);
      expectError(await app.exec(UserByIdDocument, { id: agentA1.id }, customer.token), 'FORBIDDEN');
    });

    it('an unknown id is NOT_FOUND', async () => {
      expectError(await app.exec(UserByIdDocument, { id: randomUUID() }, admin), 'NOT_FOUND');
    });
  });

  describe('createUser', () => {
    const input = (over: Partial<CreateUserMutationVariables['input']> = {}): CreateUserMutationVariables['input'] => ({
      email: `new-${randomUUID().slice(0, 8)}@test.local`,
      password: 'password-123',
      displayName: 'New Agent',
      role: 'AGENT',
      departmentId: deptW.id,
      ...over,
    });

    it('admins create staff with an employee code, skills and capacity', async () => {
      const res = await app.data(
        CreateUserDocument,
        { input: input({ employeeCode: 'KF001', skills: [' english ', 'english', '售后'], maxConcurrentChats: 3 }) },
        admin,
      );
      expect(res.createUser).toMatchObject({
        employeeCode: 'KF001',
        role: 'AGENT',
        departmentId: deptW.id,
        maxConcurrentChats: 3,
        active: true,
      });
      expect(res.createUser.skills).toEqual(['english', '售后']);
      const withDefault = await app.data(CreateUserDocument, { input: input() }, admin);
      expect(withDefault.createUser.maxConcurrentChats).toBe(5);
    });

    it('is refused to everyone but admins, and nothing is written', async () => {
      const before = await countUsers();
      expectError(await app.exec(CreateUserDocument, { input: input() }, managerA.token), 'FORBIDDEN');
      expectError(await app.exec(CreateUserDocument, { input: input() }, agentA1.token), 'FORBIDDEN');
      expectError(await app.exec(CreateUserDocument, { input: input() }), 'UNAUTHENTICATED');
      expect(await countUsers()).toBe(before);
    });

    it('an unknown departmentId is BAD_USER_INPUT and nothing is written', async () => {
      const before = await countUsers();
      for (const departmentId of [randomUUID(), 'not-a-uuid']) {
        const err = expectError(await app.exec(CreateUserDocument, { input: input({ departmentId }) }, admin), 'BAD_USER_INPUT');
        expect(fieldNames(err)).toEqual(['departmentId']);
      }
      expect(await countUsers()).toBe(before);
    });

    it('staff need a department and customers must not have one', async () => {
      const before = await countUsers();
      expect(
        fieldNames(expectError(await app.exec(CreateUserDocument, { input: input({ departmentId: null }) }, admin), 'BAD_USER_INPUT')),
      ).toEqual(['departmentId']);
      expect(
        fieldNames(
          expectError(
            await app.exec(CreateUserDocument, { input: input({ role: 'CUSTOMER', departmentId: deptW.id }) }, admin),
            'BAD_USER_INPUT',
          ),
        ),
      ).toEqual(['departmentId']);
      expect(await countUsers()).toBe(before);
    });

    it('a duplicate employee code is CONFLICT naming employeeCode, and nothing is written', async () => {
      const before = await countUsers();
      const err = expectError(await app.exec(CreateUserDocument, { input: input({ employeeCode: 'KF101' }) }, admin), 'CONFLICT');
      expect(err.extensions!.fields).toEqual([{ field: 'employeeCode', message: expect.any(String) }]);
      expect(await countUsers()).toBe(before);
    });

    it('a duplicate e-mail is CONFLICT naming email', async () => {
      const err = expectError(
        await app.exec(CreateUserDocument, { input: input({ email: agentA1.email.toUpperCase() }) }, admin),
        'CONFLICT',
      );
      expect(fieldNames(err)).toEqual(['email']);
    });

    it('an employee code that does not look like KF001 is BAD_USER_INPUT', async () => {
      for (const employeeCode of ['kf001', 'KF', '001', 'KF-001']) {
        const err = expectError(await app.exec(CreateUserDocument, { input: input({ employeeCode }) }, admin), 'BAD_USER_INPUT');
        expect(fieldNames(err)).toEqual(['employeeCode']);
      }
    });
  });

  describe('updateUser', () => {
    it('admins change role and department', async () => {
      const u = await app.createUser({ role: 'AGENT', departmentId: deptW.id });
      const { dept } = await ownTeam();
      const res = await app.data(UpdateUserDocument, { id: u.id, input: { role: 'MANAGER', departmentId: dept.id } }, admin);
      expect(res.updateUser).toMatchObject({ id: u.id, role: 'MANAGER', departmentId: dept.id });
      const read = await app.data(UserByIdDocument, { id: u.id }, admin);
      expect(read.user).toMatchObject({ role: 'MANAGER', departmentId: dept.id });
    });

    it("managers edit name, skills and capacity of their own department's agents", async () => {
      const { dept, manager, agent } = await ownTeam();
      const res = await app.data(
        UpdateUserDocument,
        { id: agent.id, input: { displayName: 'Alice Zhang (lead)', skills: ['退款', 'english', 'vip'], maxConcurrentChats: 8 } },
        manager.token,
      );
      expect(res.updateUser).toMatchObject({
        displayName: 'Alice Zhang (lead)',
        maxConcurrentChats: 8,
        role: 'AGENT',
        departmentId: dept.id,
      });
      // the change is stored, and the agent's own session is untouched by it
      const me = await app.data(MeDocument, {}, agent.token);
      expect(me.me).toMatchObject({ displayName: 'Alice Zhang (lead)', maxConcurrentChats: 8 });
      expect(me.me.skills).toEqual(['退款', 'english', 'vip']);
    });

    it('a manager editing someone outside their department is FORBIDDEN and nothing changes', async () => {
      const before = (await app.data(MeDocument, {}, agentB1.token)).me;
      expectError(
        await app.exec(UpdateUserDocument, { id: agentB1.id, input: { displayName: 'Hijacked', maxConcurrentChats: 0 } }, managerA.token),
        'FORBIDDEN',
      );
      expect((await app.data(MeDocument, {}, agentB1.token)).me).toEqual(before);
    });

    it('a manager may not change a role, a department or a password, even of their own agents', async () => {
      const before = (await app.data(MeDocument, {}, agentA2.token)).me;
      for (const input of [
        { role: 'MANAGER' as const },
        { departmentId: deptB.id },
        { password: 'another-password' },
        { displayName: 'X', role: 'ADMIN' as const },
      ]) {
        expectError(await app.exec(UpdateUserDocument, { id: agentA2.id, input }, managerA.token), 'FORBIDDEN');
      }
      // unchanged, and the old token still works (no role change happened)
      expect((await app.data(MeDocument, {}, agentA2.token)).me).toEqual(before);
      expect((await app.data(LoginDocument, { email: agentA2.email, password: agentA2.password })).login.user.role).toBe('AGENT');
    });

    it('a manager may not edit another manager of the same department, nor themselves', async () => {
      const { dept, manager } = await ownTeam();
      const peer = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
      expectError(await app.exec(UpdateUserDocument, { id: peer.id, input: { displayName: 'Peer' } }, manager.token), 'FORBIDDEN');
      expectError(await app.exec(UpdateUserDocument, { id: manager.id, input: { maxConcurrentChats: 9 } }, manager.token), 'FORBIDDEN');
    });

    it('agents and customers are FORBIDDEN', async () => {
      expectError(await app.exec(UpdateUserDocument, { id: agentA1.id, input: { displayName: 'Me' } }, agentA1.token), 'FORBIDDEN');
      expectError(await app.exec(UpdateUserDocument, { id: customer.id, input: { displayName: 'Me' } }, customer.token), 'FORBIDDEN');
    });

    it('an unknown user is NOT_FOUND', async () => {
      expectError(await app.exec(UpdateUserDocument, { id: randomUUID(), input: { displayName: 'Nobody' } }, admin), 'NOT_FOUND');
    });

    it('concurrent updates of one user all succeed, one after the other, and lose no sign-out', async () => {
      const u = await app.createUser({ role: 'AGENT', departmentId: deptW.id });
      const versionOf = async () => (await app.services.orm.em.fork().findOneOrFail(User, { id: u.id })).tokenVersion;
      const before = await versionOf();
      const N = 6;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          app.exec(UpdateUserDocument, { id: u.id, input: { displayName: `Racer ${i}`, password: `new-password-${i}` } }, admin),
        ),
      );
      for (const res of results) expect(res.errors).toBeUndefined();
      // every password change bumped the token version: none was lost to a concurrent one
      expect(await versionOf()).toBe(before + N);
      expectError(await app.exec(MeDocument, {}, u.token), 'UNAUTHENTICATED');
    });
  });

  describe('deactivateUser and revoked sessions', () => {
    it("deactivation is admin-only; the user's old token fails at once and so does signing in", async () => {
      const victim = await app.createUser({ role: 'AGENT', departmentId: deptW.id });
      await app.data(MeDocument, {}, victim.token);

      expectError(await app.exec(DeactivateUserDocument, { id: victim.id }, managerA.token), 'FORBIDDEN');
      expectError(await app.exec(DeactivateUserDocument, { id: victim.id }, agentA1.token), 'FORBIDDEN');
      await app.data(MeDocument, {}, victim.token); // still signed in

      const res = await app.data(DeactivateUserDocument, { id: victim.id }, admin);
      expect(res.deactivateUser).toEqual({ id: victim.id, active: false });

      const after = await app.exec(MeDocument, {}, victim.token);
      expectError(after, 'UNAUTHENTICATED');
      expect(after.status).toBe(401);

      const wrongPassword = expectError(
        await app.exec(LoginDocument, { email: agentA1.email, password: 'definitely-wrong' }),
        'UNAUTHENTICATED',
      );
      const deactivated = expectError(await app.exec(LoginDocument, { email: victim.email, password: victim.password }), 'UNAUTHENTICATED');
      expect(deactivated.message).toBe(wrongPassword.message);

      const inactive = await app.data(UsersDocument, { filter: { active: false } }, admin);
      expect(inactive.users.nodes.map((u) => u.id)).toEqual([victim.id]);
    });

    it('admins cannot deactivate themselves', async () => {
      const me = await app.data(MeDocument, {}, admin);
      expectError(await app.exec(DeactivateUserDocument, { id: me.me.id }, admin), 'CONFLICT');
      await app.data(MeDocument, {}, admin);
    });

    it('a role change invalidates the old token; a fresh login works with the new role', async () => {
      const u = await app.createUser({ role: 'AGENT', departmentId: deptW.id });
      await app.data(UpdateUserDocument, { id: u.id, input: { role: 'MANAGER' } }, admin);
      expectError(await app.exec(MeDocument, {}, u.token), 'UNAUTHENTICATED');
      const fresh = await app.login(u.email, u.password);
      const me = await app.data(MeDocument, {}, fresh);
      expect(me.me).toMatchObject({ id: u.id, role: 'MANAGER', departmentId: deptW.id });
      // and the new role's rights apply at once
      const list = await app.data(UsersDocument, {}, fresh);
      expect(list.users.nodes.every((n) => n.department?.id === deptW.id)).toBe(true);
    });

    it('a password change by an admin also signs the user out', async () => {
      const u = await app.createUser({ role: 'CUSTOMER' });
      await app.data(UpdateUserDocument, { id: u.id, input: { password: 'brand-new-password' } }, admin);
      expectError(await app.exec(MeDocument, {}, u.token), 'UNAUTHENTICATED');
      expectError(await app.exec(LoginDocument, { email: u.email, password: u.password }), 'UNAUTHENTICATED');
      await app.login(u.email, 'brand-new-password');
    });
  });

  describe('departments', () => {
    it('admins create; staff read; customers are FORBIDDEN', async () => {
      const res = await app.data(
        CreateDepartmentDocument,
        { input: { name: '售后服务', code: 'after_sales', description: ' Returns and repairs ' } },
        admin,
      );
      expect(res.createDepartment).toMatchObject({ name: '售后服务', code: 'after_sales', description: 'Returns and repairs' });
      for (const token of [admin, managerA.token, agentB1.token]) {
        const list = await app.data(DepartmentsDocument, {}, token);
        expect(list.departments.map((d) => d.code)).toEqual(expect.arrayContaining(['after_sales', deptA.code, deptB.code]));
      }
      expectError(await app.exec(DepartmentsDocument, {}, customer.token), 'FORBIDDEN');
      expectError(await app.exec(DepartmentsDocument, {}), 'UNAUTHENTICATED');
    });

    it('only admins create departments', async () => {
      const count = async () => (await app.data(DepartmentsDocument, {}, admin)).departments.length;
      const before = await count();
      expectError(await app.exec(CreateDepartmentDocument, { input: { name: 'Rogue', code: 'rogue' } }, managerA.token), 'FORBIDDEN');
      expectError(await app.exec(CreateDepartmentDocument, { input: { name: 'Rogue', code: 'rogue' } }, agentA1.token), 'FORBIDDEN');
      expectError(await app.exec(CreateDepartmentDocument, { input: { name: 'Rogue', code: 'rogue' } }, customer.token), 'FORBIDDEN');
      expect(await count()).toBe(before);
    });

    it('a duplicate code or name is CONFLICT naming the field, and nothing is written', async () => {
      const count = async () => (await app.data(DepartmentsDocument, {}, admin)).departments.length;
      const before = await count();
      const byCode = expectError(
        await app.exec(CreateDepartmentDocument, { input: { name: 'Another', code: deptA.code } }, admin),
        'CONFLICT',
      );
      expect(fieldNames(byCode)).toEqual(['code']);
      const byName = expectError(
        await app.exec(CreateDepartmentDocument, { input: { name: deptB.name, code: 'another' } }, admin),
        'CONFLICT',
      );
      expect(fieldNames(byName)).toEqual(['name']);
      expect(await count()).toBe(before);
    });

    it('a code that is not lower-case letters, digits or _ is BAD_USER_INPUT', async () => {
      const err = expectError(
        await app.exec(CreateDepartmentDocument, { input: { name: 'Bad', code: 'Bad Code' } }, admin),
        'BAD_USER_INPUT',
      );
      expect(fieldNames(err)).toEqual(['code']);
    });
  });
});
