import { randomUUID } from 'node:crypto';
import {
  AuditLogDocument,
  AuditLogQuery,
  AuditLogQueryVariables,
  CreateUserDocument,
  DeactivateUserDocument,
  MeDocument,
  RegisterCustomerDocument,
  UpdateUserDocument,
} from '../generated/graphql';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import { GqlResult, startTestApp, TestApp } from '../support/harness';

type Entry = AuditLogQuery['auditLog']['nodes'][number];

function codes(res: GqlResult<unknown>): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}

describe('audit log', () => {
  let app: TestApp;
  let admin: string;
  let adminId: string;
  let departmentId: string;
  let otherDepartmentId: string;
  let manager: { id: string; token: string };
  let agent: { id: string; token: string };

  const countEntries = () => app.services.orm.em.fork().count(AuditEntry, {});
  const log = async (vars: AuditLogQueryVariables = {}): Promise<Entry[]> =>
    (await app.data(AuditLogDocument, { first: 100, ...vars }, admin)).auditLog.nodes;
  const traceOf = (res: GqlResult<unknown>) => {
    const id = res.headers.get('x-trace-id');
    expect(id).toBeTruthy();
    return id!;
  };

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    adminId = (await app.data(MeDocument, {}, admin)).me.id;
    departmentId = (await app.createDepartment('Support', 'support')).id;
    otherDepartmentId = (await app.createDepartment('Sales', 'sales')).id;
    manager = await app.createUser({ role: 'MANAGER', departmentId });
    agent = await app.createUser({ role: 'AGENT', departmentId });
  });
  afterAll(() => app.stop());

  describe('changes write entries with actor, target and the trace id of the request', () => {
    it('createUser writes user.create', async () => {
      const res = await app.exec(
        CreateUserDocument,
        { input: { email: 'audited@test.local', password: 'password-123', displayName: 'Audited', role: 'AGENT', departmentId } },
        admin,
      );
      expect(res.errors).toBeUndefined();
      const userId = res.data!.createUser.id;
      const entries = await log({ filter: { targetId: userId } });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        action: 'user.create',
        actorId: adminId,
        actorRole: 'ADMIN',
        actor: { id: adminId },
        targetType: 'User',
        targetId: userId,
        traceId: traceOf(res),
      });
      expect(entries[0].summary).toContain('audited@test.local');
    });

    it('a role change writes user.role_change (beside user.update), in the same request', async () => {
      const target = await app.createUser({ role: 'AGENT', departmentId });
      const res = await app.exec(UpdateUserDocument, { id: target.id, input: { role: 'MANAGER', departmentId: otherDepartmentId } }, admin);
      expect(res.errors).toBeUndefined();
      const traceId = traceOf(res);
      const entries = await log({ filter: { targetId: target.id } });
      expect(entries.map((e) => e.action).sort()).toEqual(['user.create', 'user.role_change', 'user.update']);
      const change = entries.find((e) => e.action === 'user.role_change')!;
      expect(change).toMatchObject({ actorId: adminId, actorRole: 'ADMIN', targetType: 'User', targetId: target.id, traceId });
      expect(change.summary).toMatch(/AGENT.*MANAGER/);
      expect(entries.find((e) => e.action === 'user.update')!.traceId).toBe(traceId);
      expect(entries.find((e) => e.action === 'user.create')!.traceId).not.toBe(traceId);
    });

    it('an update without a role change writes no user.role_change', async () => {
      const res = await app.exec(UpdateUserDocument, { id: agent.id, input: { maxConcurrentChats: 7 } }, manager.token);
      expect(res.errors).toBeUndefined();
      const entries = await log({ filter: { targetId: agent.id } });
      expect(entries.map((e) => e.action)).not.toContain('user.role_change');
      expect(entries[0]).toMatchObject({ action: 'user.update', actorId: manager.id, actorRole: 'MANAGER', traceId: traceOf(res) });
    });

    it('deactivateUser writes user.deactivate', async () => {
      const target = await app.createUser({ role: 'CUSTOMER' });
      const res = await app.exec(DeactivateUserDocument, { id: target.id }, admin);
      expect(res.errors).toBeUndefined();
      const entries = await log({ filter: { targetId: target.id, action: 'user.deactivate' } });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actorId: adminId,
        actorRole: 'ADMIN',
        targetType: 'User',
        targetId: target.id,
        traceId: traceOf(res),
      });
      // deactivating again changes nothing and records nothing
      await app.data(DeactivateUserDocument, { id: target.id }, admin);
      expect(await log({ filter: { targetId: target.id, action: 'user.deactivate' } })).toHaveLength(1);
    });

    it('deactivating the same user from several requests at once succeeds for all and records once', async () => {
      const target = await app.createUser({ role: 'AGENT', departmentId });
      const results = await Promise.all(Array.from({ length: 5 }, () => app.exec(DeactivateUserDocument, { id: target.id }, admin)));
      for (const res of results) {
        expect(res.errors).toBeUndefined();
        expect(res.data!.deactivateUser).toEqual({ id: target.id, active: false });
      }
      const entries = await log({ filter: { targetId: target.id, action: 'user.deactivate' } });
      expect(entries).toHaveLength(1);
      expect(results.map(traceOf)).toContain(entries[0].traceId);
    });

    it('a caller-supplied X-Request-Id is what the entry records', async () => {
      const requestId = `req-${randomUUID()}`;
      const res = await app.exec(
        CreateUserDocument,
        { input: { email: 'traced@test.local', password: 'password-123', displayName: 'Traced', role: 'CUSTOMER' } },
        admin,
        { 'x-request-id': requestId },
      );
      expect(res.errors).toBeUndefined();
      const [entry] = await log({ filter: { targetId: res.data!.createUser.id } });
      expect(entry.traceId).toBe(requestId);
    });

    it('a self-registration is recorded with the new customer as the actor', async () => {
      const res = await app.exec(RegisterCustomerDocument, {
        input: { email: 'self@test.local', password: 'password-123', displayName: 'Self' },
      });
      expect(res.errors).toBeUndefined();
      const id = res.data!.registerCustomer.user.id;
      const [entry] = await log({ filter: { targetId: id } });
      expect(entry).toMatchObject({
        action: 'user.register',
        actorId: id,
        actorRole: 'CUSTOMER',
        actor: { email: 'self@test.local' },
        traceId: traceOf(res),
      });
    });
  });

  describe('failed changes write nothing', () => {
    it('duplicate e-mail, refused, invalid and unknown-target changes leave the log as it was', async () => {
      // The e-mails the duplicates repeat: taken here, so the test holds whichever tests ran before it.
      const [staff, customer] = [await app.createUser({ role: 'AGENT', departmentId }), await app.createUser({ role: 'CUSTOMER' })];
      const before = await countEntries();
      const newest = (await log({ first: 1 }))[0].id;
      const attempts: Array<[() => Promise<GqlResult<unknown>>, string]> = [
        [
          () =>
            app.exec(
              CreateUserDocument,
              { input: { email: staff.email, password: 'password-123', displayName: 'Dup', role: 'AGENT', departmentId } },
              admin,
            ),
          'CONFLICT',
        ],
        [
          () => app.exec(RegisterCustomerDocument, { input: { email: customer.email, password: 'password-123', displayName: 'Dup' } }),
          'CONFLICT',
        ],
        [() => app.exec(UpdateUserDocument, { id: agent.id, input: { employeeCode: 'ADMIN001' } }, admin), 'CONFLICT'],
        [() => app.exec(UpdateUserDocument, { id: agent.id, input: { role: 'ADMIN' } }, manager.token), 'FORBIDDEN'],
        [() => app.exec(UpdateUserDocument, { id: agent.id, input: { departmentId: randomUUID() } }, admin), 'BAD_USER_INPUT'],
        [() => app.exec(DeactivateUserDocument, { id: randomUUID() }, admin), 'NOT_FOUND'],
        [() => app.exec(DeactivateUserDocument, { id: agent.id }, manager.token), 'FORBIDDEN'],
        [() => app.exec(DeactivateUserDocument, { id: adminId }, admin), 'CONFLICT'],
      ];
      for (const [attempt, code] of attempts) expect(codes(await attempt())).toEqual([code]);
      expect(await countEntries()).toBe(before);
      expect((await log({ first: 1 }))[0].id).toBe(newest);
    });
  });

  describe('reading the log', () => {
    it('is admin-only', async () => {
      for (const token of [manager.token, agent.token]) expect(codes(await app.exec(AuditLogDocument, {}, token))).toEqual(['FORBIDDEN']);
      const customer = await app.createUser({ role: 'CUSTOMER' });
      expect(codes(await app.exec(AuditLogDocument, {}, customer.token))).toEqual(['FORBIDDEN']);
      expect(codes(await app.exec(AuditLogDocument, {}))).toEqual(['UNAUTHENTICATED']);
    });

    it('is newest first, and the newest entry is the latest change', async () => {
      const created = await app.data(
        CreateUserDocument,
        { input: { email: 'latest@test.local', password: 'password-123', displayName: 'Latest', role: 'CUSTOMER' } },
        admin,
      );
      const entries = await log();
      expect(entries[0]).toMatchObject({ action: 'user.create', targetId: created.createUser.id });
      const times = entries.map((e) => new Date(e.createdAt).getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));
      // the first admin was created at start-up, by the system, before anything else
      expect(entries[entries.length - 1]).toMatchObject({
        action: 'user.create',
        actorId: null,
        actor: null,
        targetId: adminId,
        traceId: 'startup',
      });
    });

    it('pages with first/after, without gaps or repeats', async () => {
      // Seven entries of its own, so there are three pages whatever ran before.
      for (let n = 0; n < 7; n++) {
        const input = {
          email: `paged-${n}-${Date.now()}@test.local`,
          password: 'password-123',
          displayName: `Paged ${n}`,
          role: 'CUSTOMER' as const,
        };
        expect((await app.exec(CreateUserDocument, { input }, admin)).errors).toBeUndefined();
      }
      const all = (await log()).map((e) => e.id);
      expect(all.length).toBeGreaterThan(6);
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: AuditLogQuery = await app.data(AuditLogDocument, { first: 3, after }, admin);
        seen.push(...page.auditLog.nodes.map((e) => e.id));
        if (!page.auditLog.pageInfo.hasNextPage) break;
        expect(page.auditLog.nodes).toHaveLength(3);
        after = page.auditLog.pageInfo.endCursor;
      }
      expect(seen).toEqual(all);
      expect(codes(await app.exec(AuditLogDocument, { first: 3, after: 'bogus' }, admin))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await app.exec(AuditLogDocument, { first: 0 }, admin))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await app.exec(AuditLogDocument, { first: 101 }, admin))).toEqual(['BAD_USER_INPUT']);
    });

    it('filters by action, target, actor, type and time, alone and together', async () => {
      // Two entries of its own about one agent: created by the admin, changed by the manager.
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      expect(
        (await app.exec(UpdateUserDocument, { id: agent.id, input: { maxConcurrentChats: 4 } }, manager.token)).errors,
      ).toBeUndefined();
      const all = await log();
      const byAction = await log({ filter: { action: 'user.create' } });
      expect(byAction.length).toBe(all.filter((e) => e.action === 'user.create').length);
      expect(byAction.every((e) => e.action === 'user.create')).toBe(true);

      const byTarget = await log({ filter: { targetId: agent.id } });
      expect(byTarget.map((e) => e.id).sort()).toEqual(
        all
          .filter((e) => e.targetId === agent.id)
          .map((e) => e.id)
          .sort(),
      );
      expect(byTarget.map((e) => e.action).sort()).toEqual(['user.create', 'user.update']);

      const both = await log({ filter: { targetId: agent.id, action: 'user.create' } });
      expect(both).toHaveLength(1);
      expect(both[0]).toMatchObject({ targetId: agent.id, action: 'user.create' });

      const byActor = await log({ filter: { actorId: manager.id } });
      expect(byActor.length).toBeGreaterThan(0);
      expect(byActor.every((e) => e.actorId === manager.id)).toBe(true);

      const departments = await log({ filter: { targetType: 'Department' } });
      expect(departments.map((e) => e.targetId).sort()).toEqual([departmentId, otherDepartmentId].sort());
      expect(departments.every((e) => e.action === 'department.create')).toBe(true);

      const pivot = all[Math.floor(all.length / 2)].createdAt;
      const since = await log({ filter: { from: pivot } });
      const until = await log({ filter: { to: pivot } });
      expect(since.every((e) => e.createdAt >= pivot)).toBe(true);
      expect(until.every((e) => e.createdAt < pivot)).toBe(true);
      expect(since.length + until.length).toBe(all.length);

      expect(await log({ filter: { action: 'no.such.action' } })).toEqual([]);
      expect(codes(await app.exec(AuditLogDocument, { filter: { actorId: 'not-a-uuid' } }, admin))).toEqual(['BAD_USER_INPUT']);
    });
  });
});
