import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../src/context';
import { Role } from '../../src/platform/auth/roles';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import { QuickReply } from '../../src/modules/quick-replies/quick-reply.entity';
import type { QuickReplyChat } from '../../src/modules/quick-replies/quick-reply.service';
import {
  CreateQuickReplyDocument,
  DeleteQuickReplyDocument,
  HeartbeatDocument,
  MessagesDocument,
  QuickRepliesDocument,
  QuickReplyCategoriesDocument,
  RequestServiceDocument,
  SendQuickReplyDocument,
  UpdateQuickReplyDocument,
} from '../generated/graphql';
import type { CreateQuickReplyInput } from '../generated/graphql';
import { GqlResult, startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string; role: Role; departmentId: string | null };

type Department = { id: string; name: string };
type World = [TestApp, Person, Department, Department, Person, Person, Person, Person, Person, Person];

const codeOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.code;

describe('quick replies', () => {
  let app: TestApp;
  let admin: Person;
  let deptA: { id: string; name: string };
  let deptB: { id: string; name: string };
  let managerA: Person;
  let managerB: Person;
  let agentA: Person;
  let agentA2: Person;
  let agentB: Person;
  let customer: Person;

  const em = (): EntityManager => app.services.orm.em.fork() as EntityManager;
  const rows = () => em().count(QuickReply, {});
  const audits = () => em().count(AuditEntry, { targetType: 'QuickReply' });

  const create = (who: Person | null, input: Partial<CreateQuickReplyInput> & { title?: string }) =>
    app.exec(CreateQuickReplyDocument, { input: { title: 'T', content: 'C', ...input } as CreateQuickReplyInput }, who?.token ?? null);
  const made = async (who: Person, input: Partial<CreateQuickReplyInput>) => {
    const res = await create(who, input);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.createQuickReply;
  };
  const list = async (who: Person, vars: { search?: string; category?: string; departmentId?: string } = {}) =>
    (await app.data(QuickRepliesDocument, vars, who.token)).quickReplies;

  async function person(role: 'MANAGER' | 'AGENT' | 'CUSTOMER', departmentId: string | null, displayName?: string): Promise<Person> {
    const u = await app.createUser({ role, departmentId, displayName });
    return { id: u.id, token: u.token, role: Role[role], departmentId };
  }

  /** A server with two departments and their people (the shelves start one of their own: they assert whole lists). */
  async function startWorld() {
    // No schedules in this suite: routing may give a chat to any online agent.
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    const token = await app.adminToken();
    const me = await app.data<{ me: { id: string } }, unknown>('{ me { id } }', {}, token);
    admin = { id: me.me.id, token, role: Role.ADMIN, departmentId: null };
    deptA = await app.createDepartment('售后服务', 'after_sales');
    deptB = await app.createDepartment('技术支持', 'technical');
    managerA = await person('MANAGER', deptA.id);
    managerB = await person('MANAGER', deptB.id);
    agentA = await person('AGENT', deptA.id, '小王');
    agentA2 = await person('AGENT', deptA.id);
    agentB = await person('AGENT', deptB.id);
    customer = await person('CUSTOMER', null, '李女士');
  }
  beforeAll(startWorld);
  afterAll(() => app.stop());

  describe('shelves', () => {
    let ids: Record<string, string>;
    let shared: World;
    const world = (): World => [app, admin, deptA, deptB, managerA, managerB, agentA, agentA2, agentB, customer];

    beforeAll(async () => {
      shared = world();
      await startWorld();
      ids = {
        mineB: (await made(agentA, { title: 'B 我的常用语', content: '稍等，我查一下', category: '常用' })).id,
        mineA: (await made(agentA, { title: 'A 我的问候', content: '您好{customerName}', shortcut: '/hi' })).id,
        colleague: (await made(agentA2, { title: '同事的', content: '不该给别人看到' })).id,
        deptA: (
          await made(managerA, { scope: 'DEPARTMENT', title: '退款流程', content: '退款将在 3 个工作日内原路返回', category: '退款' })
        ).id,
        deptB: (
          await made(admin, {
            scope: 'DEPARTMENT',
            departmentId: deptB.id,
            title: '重启路由器',
            content: '请先重启路由器',
            category: '故障',
          })
        ).id,
        public2: (await made(admin, { scope: 'PUBLIC', title: '结束语', content: '感谢{customerName}的耐心，{agentName}祝您生活愉快' })).id,
        public1: (await made(admin, { scope: 'PUBLIC', title: '开场白', content: '您好，我是{agentName}', category: '问候' })).id,
      };
    });
    afterAll(async () => {
      await app.stop();
      [app, admin, deptA, deptB, managerA, managerB, agentA, agentA2, agentB, customer] = shared;
    });

    it('an agent sees their PERSONAL, their department’s and the PUBLIC replies, by scope then title', async () => {
      const mine = await list(agentA);
      expect(mine.map((r) => [r.scope, r.title])).toEqual([
        ['PERSONAL', 'A 我的问候'],
        ['PERSONAL', 'B 我的常用语'],
        ['DEPARTMENT', '退款流程'],
        ['PUBLIC', '开场白'],
        ['PUBLIC', '结束语'],
      ]);
      expect(mine.map((r) => r.editable)).toEqual([true, true, false, false, false]);
      expect(mine[0]).toMatchObject({ ownerId: agentA.id, departmentId: null, shortcut: '/hi', category: '通用' });
      expect(mine[2]).toMatchObject({ departmentId: deptA.id, ownerId: managerA.id, category: '退款' });

      expect((await list(agentB)).map((r) => r.id)).toEqual([ids.deptB, ids.public1, ids.public2]);
      expect((await list(agentA2)).map((r) => r.id)).toEqual([ids.colleague, ids.deptA, ids.public1, ids.public2]);
    });

    it('managers see their department’s (editable) and admins choose a department', async () => {
      const m = await list(managerA);
      expect(m.map((r) => [r.id, r.editable])).toEqual([
        [ids.deptA, true],
        [ids.public1, false],
        [ids.public2, false],
      ]);
      expect((await list(admin)).map((r) => r.id)).toEqual([ids.public1, ids.public2]);
      const b = await list(admin, { departmentId: deptB.id });
      expect(b.map((r) => [r.id, r.editable])).toEqual([
        [ids.deptB, true],
        [ids.public1, true],
        [ids.public2, true],
      ]);
      expect(codeOf(await app.exec(QuickRepliesDocument, { departmentId: deptB.id }, managerA.token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(QuickRepliesDocument, { departmentId: deptB.id }, agentA.token))).toBe('FORBIDDEN');
      expect((await list(managerA, { departmentId: deptA.id })).map((r) => r.id)).toEqual([ids.deptA, ids.public1, ids.public2]);
    });

    it('categories are those the caller sees, once each, in order', async () => {
      const a = (await app.data(QuickReplyCategoriesDocument, {}, agentA.token)).quickReplyCategories;
      expect(a).toEqual([...new Set(['常用', '通用', '退款', '问候'])].sort());
      const b = (await app.data(QuickReplyCategoriesDocument, {}, agentB.token)).quickReplyCategories;
      expect(b).toEqual(['故障', '通用', '问候'].sort());
      expect((await list(agentA, { category: '退款' })).map((r) => r.id)).toEqual([ids.deptA]);
      expect(await list(agentB, { category: '退款' })).toEqual([]);
    });

    it('every create was audited in its transaction, by whom', async () => {
      const entries = await em().find(AuditEntry, { action: 'quickReply.create', targetId: { $in: Object.values(ids) } });
      expect(entries).toHaveLength(Object.keys(ids).length);
      const byTarget = new Map(entries.map((e) => [e.targetId, e]));
      expect(byTarget.get(ids.deptA)).toMatchObject({ actorId: managerA.id, actorRole: 'MANAGER', targetType: 'QuickReply' });
      expect(byTarget.get(ids.public1)).toMatchObject({ actorId: admin.id, actorRole: 'ADMIN' });
      expect(byTarget.get(ids.mineA)!.summary).toContain('/hi');
    });
  });

  describe('creating', () => {
    it('refuses shelves the caller does not keep, writing nothing', async () => {
      const before = [await rows(), await audits()];
      const refused: Array<[Person | null, Partial<CreateQuickReplyInput>, string]> = [
        [agentA, { scope: 'DEPARTMENT' }, 'FORBIDDEN'],
        [agentA, { scope: 'DEPARTMENT', departmentId: deptA.id }, 'FORBIDDEN'],
        [agentA, { scope: 'PUBLIC' }, 'FORBIDDEN'],
        [managerA, { scope: 'PUBLIC' }, 'FORBIDDEN'],
        [managerA, { scope: 'DEPARTMENT', departmentId: deptB.id }, 'FORBIDDEN'],
        [customer, { scope: 'PERSONAL' }, 'FORBIDDEN'],
        [customer, { scope: 'PUBLIC' }, 'FORBIDDEN'],
        [null, { scope: 'PERSONAL' }, 'UNAUTHENTICATED'],
        [admin, { scope: 'DEPARTMENT' }, 'BAD_USER_INPUT'],
        [admin, { scope: 'DEPARTMENT', departmentId: randomUUID() }, 'BAD_USER_INPUT'],
        [admin, { scope: 'DEPARTMENT', departmentId: 'not-a-uuid' }, 'BAD_USER_INPUT'],
        [admin, { scope: 'PUBLIC', departmentId: deptA.id }, 'BAD_USER_INPUT'],
        [agentA, { scope: 'PERSONAL', departmentId: deptA.id }, 'BAD_USER_INPUT'],
      ];
      for (const [who, input, code] of refused) {
        const res = await create(who, input);
        expect([who?.role ?? 'anonymous', input, codeOf(res)]).toEqual([who?.role ?? 'anonymous', input, code]);
        expect(res.data ?? null).toBeNull();
      }
      expect([await rows(), await audits()]).toEqual(before);
    });

    it('lets managers and admins keep PERSONAL replies of their own, and a manager’s DEPARTMENT reply is their department’s', async () => {
      const m = await made(managerB, { title: '经理自己的', content: 'x' });
      expect(m).toMatchObject({ scope: 'PERSONAL', ownerId: managerB.id, departmentId: null, editable: true });
      const a = await made(admin, { title: '管理员自己的', content: 'y' });
      expect(a).toMatchObject({ scope: 'PERSONAL', ownerId: admin.id });
      const d = await made(managerB, { scope: 'DEPARTMENT', title: '部门的', content: 'z' });
      expect(d).toMatchObject({ scope: 'DEPARTMENT', departmentId: deptB.id, department: { id: deptB.id, name: '技术支持' } });
      expect((await list(managerB)).map((r) => r.id)).toEqual(expect.arrayContaining([m.id, d.id]));
      expect((await list(agentB)).map((r) => r.id)).toEqual(expect.arrayContaining([d.id]));
      expect((await list(agentB)).map((r) => r.id)).not.toContain(m.id);
      expect((await list(managerA)).map((r) => r.id)).not.toContain(a.id);
    });

    it('validates title, content, category and shortcut (BAD_USER_INPUT naming the field), writing nothing', async () => {
      const before = [await rows(), await audits()];
      const bad: Array<[Partial<CreateQuickReplyInput>, string]> = [
        [{ title: '' }, 'title'],
        [{ title: '   ' }, 'title'],
        [{ title: 'x'.repeat(101) }, 'title'],
        [{ content: '' }, 'content'],
        [{ content: '\n\t ' }, 'content'],
        [{ content: '长'.repeat(2001) }, 'content'],
        [{ category: '' }, 'category'],
        [{ category: 'c'.repeat(51) }, 'category'],
        [{ shortcut: 'refund' }, 'shortcut'],
        [{ shortcut: '/' }, 'shortcut'],
        [{ shortcut: '' }, 'shortcut'],
        [{ shortcut: '/two words' }, 'shortcut'],
        [{ shortcut: '/a%b' }, 'shortcut'],
        [{ shortcut: `/${'a'.repeat(31)}` }, 'shortcut'],
        [{ shortcut: '//x' }, 'shortcut'],
      ];
      for (const [input, field] of bad) {
        const res = await create(agentA, input);
        expect([input, codeOf(res)]).toEqual([input, 'BAD_USER_INPUT']);
        expect(res.errors![0].extensions!.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }
      expect([await rows(), await audits()]).toEqual(before);

      // The limits themselves are fine; Chinese shortcuts too; text is trimmed.
      const ok = await made(agentA, {
        title: '题'.repeat(100),
        content: '文'.repeat(2000),
        category: 'c'.repeat(50),
        shortcut: `/${'a'.repeat(30)}`,
      });
      expect(ok).toMatchObject({ title: '题'.repeat(100), content: '文'.repeat(2000) });
      expect(await made(agentA, { title: '  空格  ', content: '\n内容\n', category: ' 分类 ' })).toMatchObject({
        title: '空格',
        content: '内容',
        category: '分类',
      });
      expect((await made(agentA, { title: '退款', content: '退款说明', shortcut: '/退款-Refund_1' })).shortcut).toBe('/退款-Refund_1');
    });
  });

  describe('shortcuts', () => {
    it('are unique ignoring case per owner, per department and among PUBLIC replies: CONFLICT naming shortcut, nothing written', async () => {
      await made(agentA2, { title: 's', content: 's', shortcut: '/thanks' });
      const before = [await rows(), await audits()];
      const dup = await create(agentA2, { title: 's2', content: 's2', shortcut: '/THANKS' });
      expect(codeOf(dup)).toBe('CONFLICT');
      expect(dup.errors![0].extensions!.fields).toEqual([{ field: 'shortcut', message: 'is already taken' }]);
      expect([await rows(), await audits()]).toEqual(before);

      // Other shelves may use it.
      await made(agentB, { title: 's', content: 's', shortcut: '/thanks' });
      await made(managerA, { scope: 'DEPARTMENT', title: 's', content: 's', shortcut: '/thanks' });
      await made(managerB, { scope: 'DEPARTMENT', title: 's', content: 's', shortcut: '/thanks' });
      await made(admin, { scope: 'PUBLIC', title: 's', content: 's', shortcut: '/thanks' });

      expect(codeOf(await create(admin, { scope: 'DEPARTMENT', departmentId: deptA.id, shortcut: '/Thanks' }))).toBe('CONFLICT');
      expect(codeOf(await create(admin, { scope: 'PUBLIC', shortcut: '/thanks' }))).toBe('CONFLICT');
    });

    it('updating onto a taken shortcut is a CONFLICT and changes nothing', async () => {
      await made(agentB, { title: 'one', content: '1', shortcut: '/one' });
      const two = await made(agentB, { title: 'two', content: '2', shortcut: '/two' });
      const res = await app.exec(UpdateQuickReplyDocument, { id: two.id, input: { shortcut: '/ONE', title: 'changed' } }, agentB.token);
      expect(codeOf(res)).toBe('CONFLICT');
      expect(res.errors![0].extensions!.fields).toEqual([{ field: 'shortcut', message: 'is already taken' }]);
      expect(await em().findOneOrFail(QuickReply, { id: two.id })).toMatchObject({ title: 'two', shortcut: '/two' });
      expect(await em().count(AuditEntry, { action: 'quickReply.update', targetId: two.id })).toBe(0);
    });

    it('concurrent creates of one shortcut: exactly one wins, the rest are CONFLICT', async () => {
      const racer = await person('AGENT', deptA.id);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => create(racer, { title: `r${i}`, content: 'r', shortcut: '/race' })),
      );
      expect(results.filter((r) => r.data?.createQuickReply).length).toBe(1);
      expect(results.filter((r) => codeOf(r) === 'CONFLICT').length).toBe(9);
      expect(await em().count(QuickReply, { ownerId: racer.id })).toBe(1);
      expect(await em().count(AuditEntry, { action: 'quickReply.create', actorId: racer.id })).toBe(1);
    });
  });

  describe('updating and deleting', () => {
    let personal: { id: string };
    let department: { id: string };
    let pub: { id: string };

    beforeEach(async () => {
      personal = await made(agentA, { title: '私人', content: 'p', shortcut: `/p${randomUUID().slice(0, 8)}` });
      department = await made(managerA, { scope: 'DEPARTMENT', title: '部门', content: 'd' });
      pub = await made(admin, { scope: 'PUBLIC', title: '公共', content: 'u' });
    });

    it('refuses per role: someone else’s PERSONAL is NOT_FOUND, other shelves FORBIDDEN, customers FORBIDDEN; nothing changes', async () => {
      const before = await audits();
      const cases: Array<[Person | null, () => string, string]> = [
        [agentA2, () => personal.id, 'NOT_FOUND'],
        [managerA, () => personal.id, 'NOT_FOUND'],
        [admin, () => personal.id, 'NOT_FOUND'],
        [agentA, () => department.id, 'FORBIDDEN'],
        [agentB, () => department.id, 'FORBIDDEN'],
        [managerB, () => department.id, 'FORBIDDEN'],
        [agentA, () => pub.id, 'FORBIDDEN'],
        [managerA, () => pub.id, 'FORBIDDEN'],
        [customer, () => personal.id, 'FORBIDDEN'],
        [customer, () => department.id, 'FORBIDDEN'],
        [customer, () => pub.id, 'FORBIDDEN'],
        [null, () => pub.id, 'UNAUTHENTICATED'],
        [agentA, () => randomUUID(), 'NOT_FOUND'],
        [agentA, () => 'not-a-uuid', 'NOT_FOUND'],
      ];
      for (const [who, id, code] of cases) {
        const update = await app.exec(UpdateQuickReplyDocument, { id: id(), input: { title: 'hacked' } }, who?.token ?? null);
        const del = await app.exec(DeleteQuickReplyDocument, { id: id() }, who?.token ?? null);
        expect([who?.role ?? 'anonymous', codeOf(update), codeOf(del)]).toEqual([who?.role ?? 'anonymous', code, code]);
      }
      const now = await em().find(QuickReply, { id: { $in: [personal.id, department.id, pub.id] } });
      expect(now.map((r) => r.title).sort()).toEqual(['公共', '私人', '部门'].sort());
      expect(await audits()).toBe(before);
    });

    it('the owner changes their PERSONAL reply; null removes the shortcut; bad values are BAD_USER_INPUT', async () => {
      const updated = (
        await app.data(
          UpdateQuickReplyDocument,
          { id: personal.id, input: { title: ' 新标题 ', category: '售后', shortcut: null } },
          agentA.token,
        )
      ).updateQuickReply;
      expect(updated).toMatchObject({
        id: personal.id,
        title: '新标题',
        category: '售后',
        shortcut: null,
        content: 'p',
        scope: 'PERSONAL',
      });
      for (const input of [{ title: '' }, { content: 'x'.repeat(2001) }, { shortcut: 'nope' }, { category: ' ' }]) {
        expect(codeOf(await app.exec(UpdateQuickReplyDocument, { id: personal.id, input }, agentA.token))).toBe('BAD_USER_INPUT');
      }
      expect(await em().findOneOrFail(QuickReply, { id: personal.id })).toMatchObject({ title: '新标题', shortcut: null });
      const trail = await em().find(AuditEntry, { targetId: personal.id }, { orderBy: { createdAt: 'asc' } });
      expect(trail.map((e) => [e.action, e.actorId])).toEqual([
        ['quickReply.create', agentA.id],
        ['quickReply.update', agentA.id],
      ]);
      expect(trail[1].summary).toContain('title, category, shortcut');
    });

    it('the department’s manager and admins change DEPARTMENT replies; admins PUBLIC ones', async () => {
      expect(
        (await app.data(UpdateQuickReplyDocument, { id: department.id, input: { content: '经理改的' } }, managerA.token)).updateQuickReply
          .content,
      ).toBe('经理改的');
      expect(
        (await app.data(UpdateQuickReplyDocument, { id: department.id, input: { content: '管理员改的' } }, admin.token)).updateQuickReply
          .content,
      ).toBe('管理员改的');
      expect(
        (await app.data(UpdateQuickReplyDocument, { id: pub.id, input: { title: '公共2' } }, admin.token)).updateQuickReply.title,
      ).toBe('公共2');
      const actors = await em().find(
        AuditEntry,
        { action: 'quickReply.update', targetId: { $in: [department.id, pub.id] } },
        { orderBy: { createdAt: 'asc' } },
      );
      expect(actors.map((e) => [e.targetId, e.actorRole])).toEqual([
        [department.id, 'MANAGER'],
        [department.id, 'ADMIN'],
        [pub.id, 'ADMIN'],
      ]);
    });

    it('deletes: the owner, the manager, an admin; audited; gone from the lists', async () => {
      expect((await app.data(DeleteQuickReplyDocument, { id: personal.id }, agentA.token)).deleteQuickReply).toBe(personal.id);
      expect((await app.data(DeleteQuickReplyDocument, { id: department.id }, managerA.token)).deleteQuickReply).toBe(department.id);
      expect((await app.data(DeleteQuickReplyDocument, { id: pub.id }, admin.token)).deleteQuickReply).toBe(pub.id);
      expect(await em().count(QuickReply, { id: { $in: [personal.id, department.id, pub.id] } })).toBe(0);
      const listed = (await list(agentA)).map((r) => r.id);
      for (const id of [personal.id, department.id, pub.id]) expect(listed).not.toContain(id);
      const deleted = await em().find(AuditEntry, { action: 'quickReply.delete', targetId: { $in: [personal.id, department.id, pub.id] } });
      expect(deleted.map((e) => e.actorRole).sort()).toEqual(['ADMIN', 'AGENT', 'MANAGER']);
      expect(codeOf(await app.exec(DeleteQuickReplyDocument, { id: personal.id }, agentA.token))).toBe('NOT_FOUND');
      // A second department reply of deptA is deletable by an admin too.
      const again = await made(managerA, { scope: 'DEPARTMENT', title: '再来', content: 'd' });
      expect((await app.data(DeleteQuickReplyDocument, { id: again.id }, admin.token)).deleteQuickReply).toBe(again.id);
    });
  });

  describe('search', () => {
    let searcher: Person;
    let deptC: { id: string };

    beforeAll(async () => {
      deptC = await app.createDepartment('订单问题', 'orders');
      searcher = await person('AGENT', deptC.id);
      await made(searcher, { title: 'Refund Policy', content: 'Money back within 7 days', shortcut: '/rp' });
      await made(searcher, { title: '物流查询', content: '您的包裹正在派送中，请耐心等待', shortcut: '/wuliu' });
      await made(searcher, { title: '折扣', content: '全场 50% 优惠', shortcut: '/discount' });
      await made(searcher, { title: 'under_score', content: 'has an underscore' });
      await made(searcher, { title: 'backslash', content: 'path C:\\temp' });
    });

    const titles = async (search: string) =>
      (await list(searcher, { search }))
        .filter((r) => r.ownerId === searcher.id)
        .map((r) => r.title)
        .sort();

    it('matches title, content or shortcut ignoring case, Chinese by substring', async () => {
      expect(await titles('refund')).toEqual(['Refund Policy']);
      expect(await titles('MONEY BACK')).toEqual(['Refund Policy']);
      expect(await titles('/RP')).toEqual(['Refund Policy']);
      expect(await titles('派送')).toEqual(['物流查询']);
      expect(await titles('物流')).toEqual(['物流查询']);
      expect(await titles('/wu')).toEqual(['物流查询']);
      expect(await titles('  refund  ')).toEqual(['Refund Policy']);
      expect(await titles('nothing like this')).toEqual([]);
      expect((await list(searcher, { search: '' })).length).toBeGreaterThanOrEqual(5);
    });

    it('treats % _ and \\ literally', async () => {
      expect(await titles('%')).toEqual(['折扣']);
      expect(await titles('50%')).toEqual(['折扣']);
      expect(await titles('_')).toEqual(['under_score']);
      expect(await titles('\\')).toEqual(['backslash']);
      expect(await titles('C:\\t')).toEqual(['backslash']);
    });

    it('does not match across fields', async () => {
      // "Policy" ends the title and "Money" starts the content.
      expect(await titles('PolicyMoney')).toEqual([]);
      expect(await titles('Policy Money')).toEqual([]);
    });

    it('refuses searches over 200 characters (or with control characters) as BAD_USER_INPUT', async () => {
      expect(codeOf(await app.exec(QuickRepliesDocument, { search: 'x'.repeat(201) }, searcher.token))).toBe('BAD_USER_INPUT');
      expect(codeOf(await app.exec(QuickRepliesDocument, { search: '\u001f' }, searcher.token))).toBe('BAD_USER_INPUT');
      expect((await app.exec(QuickRepliesDocument, { search: '查'.repeat(200) }, searcher.token)).errors).toBeUndefined();
    });

    it('lists at most 100', async () => {
      const many = await person('AGENT', deptC.id);
      for (let i = 0; i < 105; i += 15) {
        await Promise.all(
          Array.from({ length: Math.min(15, 105 - i) }, (_, j) =>
            made(many, { title: `many ${String(i + j).padStart(3, '0')}`, content: 'm' }),
          ),
        );
      }
      const listed = await list(many);
      expect(listed).toHaveLength(100);
      expect(listed[0].title).toBe('many 000');
      expect(listed.every((r) => r.scope === 'PERSONAL')).toBe(true);
    });
  });

  it('the database itself guards shelves, lengths and shortcuts', async () => {
    const insert = (scope: string, departmentId: string | null, shortcut: string | null, title = 't') =>
      em()
        .getConnection()
        .execute(
          `INSERT INTO quick_replies (id, owner_id, department_id, scope, title, content, shortcut) VALUES (?, ?, ?, ?, ?, 'c', ?)`,
          [randomUUID(), agentA.id, departmentId, scope, title, shortcut],
        )
        .then(
          () => 'OK',
          (err) => String(err.constraint ?? err.code),
        );
    expect(await insert('DEPARTMENT', null, null)).toBe('quick_replies_scope_department_check');
    expect(await insert('PERSONAL', deptA.id, null)).toBe('quick_replies_scope_department_check');
    expect(await insert('PUBLIC', deptA.id, null)).toBe('quick_replies_scope_department_check');
    expect(await insert('PERSONAL', null, 'no-slash')).toBe('quick_replies_shortcut_check');
    expect(await insert('PERSONAL', null, '/a b')).toBe('quick_replies_shortcut_check');
    expect(await insert('PERSONAL', null, `/${'a'.repeat(31)}`)).toBe('quick_replies_shortcut_check');
    expect(await insert('PERSONAL', null, null, ' ')).toBe('quick_replies_title_check');
    expect(await insert('PERSONAL', null, null, 'x'.repeat(101))).toBe('quick_replies_title_check');
    expect(await insert('PERSONAL', null, '/数据库-db_1')).toBe('OK');
    expect(await insert('PERSONAL', null, '/数据库-DB_1')).toBe('quick_replies_personal_shortcut_key');
    const [{ category }] = await em().getConnection().execute(`SELECT category FROM quick_replies WHERE shortcut = '/数据库-db_1'`);
    expect(category).toBe('通用');
  });

  it('customers and anonymous callers get nothing', async () => {
    expect(codeOf(await app.exec(QuickRepliesDocument, {}, customer.token))).toBe('FORBIDDEN');
    expect(codeOf(await app.exec(QuickReplyCategoriesDocument, {}, customer.token))).toBe('FORBIDDEN');
    expect(codeOf(await app.exec(QuickRepliesDocument, {}, null))).toBe('UNAUTHENTICATED');
  });

  describe('sending: the quick-reply half, with a stand-in chat', () => {
    const scopeOf = (who: Person): RequestScope => ({
      viewer: { id: who.id, role: who.role, departmentId: who.departmentId },
      em: em(),
      traceId: randomUUID(),
      logger: app.services.logger,
      ip: '127.0.0.1',
    });
    const conversationId = randomUUID();
    const sent: Array<{ conversationId: string; content: string; clientMessageId: string }> = [];
    const answered: Array<{ conversation: string; faqId: string }> = [];
    const chat: QuickReplyChat<{ content: string }> = {
      parties: async (_em, id) => {
        if (id !== conversationId) throw Object.assign(new Error('no such conversation'), { extensions: { code: 'NOT_FOUND' } });
        return { customer: { displayName: '{agentName}李女士' }, agent: { displayName: '小王' } };
      },
      send: async (input) => {
        sent.push(input);
        return { content: input.content };
      },
      answeredWithFaq: async (conversation, faqId) => {
        answered.push({ conversation, faqId });
      },
    };
    const send = (who: Person, quickReplyId: string) =>
      app.services.quickReplies.sendQuickReply(scopeOf(who), { conversationId, quickReplyId, clientMessageId: 'c-1' }, chat);
    const failure = async (p: Promise<unknown>) =>
      p.then(
        () => 'OK',
        (err) => String(err.extensions?.code),
      );

    it('fills the placeholders (literally) and hands the text to chat', async () => {
      const reply = await made(managerA, {
        scope: 'DEPARTMENT',
        title: '问候',
        content: '您好{customerName}，我是{agentName}，订单 {orderNo}',
      });
      const message = await send(agentA, reply.id);
      expect(message.content).toBe('您好{agentName}李女士，我是小王，订单 {orderNo}');
      expect(sent.at(-1)).toEqual({ conversationId, content: message.content, clientMessageId: 'c-1' });
    });

    it('refuses replies the caller cannot use as NOT_FOUND, and customers as FORBIDDEN, sending nothing', async () => {
      const mine = await made(agentA, { title: '我的', content: 'x' });
      const deptReply = await made(managerA, { scope: 'DEPARTMENT', title: 'A 部门', content: 'y' });
      const count = sent.length;
      expect(await failure(send(agentA2, mine.id))).toBe('NOT_FOUND');
      expect(await failure(send(agentB, deptReply.id))).toBe('NOT_FOUND');
      expect(await failure(send(managerB, deptReply.id))).toBe('NOT_FOUND');
      expect(await failure(send(agentA, randomUUID()))).toBe('NOT_FOUND');
      expect(await failure(send(customer, deptReply.id))).toBe('FORBIDDEN');
      expect(sent.length).toBe(count);
      expect(await failure(send(agentA2, deptReply.id))).toBe('OK');
      expect(sent.length).toBe(count + 1);
    });
  });

  describe('sendQuickReply, through the chat module', () => {
    let conversationId: string;
    let greeting: { id: string };

    beforeAll(async () => {
      await app.data(HeartbeatDocument, {}, agentA.token); // only agentA is online, so the chat is theirs
      const asked = (await app.data(RequestServiceDocument, { input: { topic: 'after_sales', message: '我要退货' } }, customer.token))
        .requestService;
      expect(asked).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: agentA.id, status: 'ACTIVE' } });
      conversationId = asked.conversation!.id;
      greeting = await made(managerA, {
        scope: 'DEPARTMENT',
        title: '退货',
        content: '{customerName}您好，我是{agentName}，请提供订单号 {orderNo}',
      });
    });

    const sendQr = (who: Person | null, quickReplyId: string, clientMessageId: string = randomUUID(), conversation = conversationId) =>
      app.exec(SendQuickReplyDocument, { conversationId: conversation, quickReplyId, clientMessageId }, who?.token ?? null);

    it('sends the filled reply as the agent’s message, once per clientMessageId', async () => {
      const first = await sendQr(agentA, greeting.id, 'qr-1');
      expect(first.errors).toBeUndefined();
      const message = first.data!.sendQuickReply;
      expect(message).toMatchObject({
        conversationId,
        senderId: agentA.id,
        senderRole: 'AGENT',
        content: '李女士您好，我是小王，请提供订单号 {orderNo}',
        clientMessageId: 'qr-1',
      });
      const again = (await sendQr(agentA, greeting.id, 'qr-1')).data!.sendQuickReply;
      expect(again).toEqual(message);
      const history = (await app.data(MessagesDocument, { conversationId }, customer.token)).messages.messages;
      expect(history.map((m) => m.content)).toEqual(['我要退货', message.content]);
    });

    it('refuses: replies the caller cannot use NOT_FOUND, unknown conversations NOT_FOUND, non-agents FORBIDDEN; nothing sent', async () => {
      const before = (await app.data(MessagesDocument, { conversationId }, customer.token)).messages.lastSeq;
      const othersPersonal = await made(agentA2, { title: '别人的', content: 'x' });
      const otherDepartment = await made(managerB, { scope: 'DEPARTMENT', title: 'B', content: 'y' });
      expect(codeOf(await sendQr(agentA, othersPersonal.id))).toBe('NOT_FOUND');
      expect(codeOf(await sendQr(agentA, otherDepartment.id))).toBe('NOT_FOUND');
      expect(codeOf(await sendQr(agentA, randomUUID()))).toBe('NOT_FOUND');
      expect(codeOf(await sendQr(agentA, greeting.id, undefined, randomUUID()))).toBe('NOT_FOUND');
      expect(codeOf(await sendQr(agentA, greeting.id, undefined, 'not-a-uuid'))).toBe('NOT_FOUND');
      expect(codeOf(await sendQr(agentA2, greeting.id))).toBe('FORBIDDEN'); // may use the reply, but it is not their chat
      expect(codeOf(await sendQr(managerA, greeting.id))).toBe('FORBIDDEN');
      expect(codeOf(await sendQr(customer, greeting.id))).toBe('FORBIDDEN');
      expect(codeOf(await sendQr(null, greeting.id))).toBe('UNAUTHENTICATED');
      expect((await app.data(MessagesDocument, { conversationId }, customer.token)).messages.lastSeq).toBe(before);
    });
  });
});
