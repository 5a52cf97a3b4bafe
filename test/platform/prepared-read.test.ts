import { randomUUID } from 'node:crypto';
import { wrap } from '@mikro-orm/postgresql';
import { PreparedStatements, selectByIdStatement } from '../../src/platform/db/prepared';
import { User } from '../../src/modules/accounts/user.entity';
import { Faq } from '../../src/modules/knowledge/faq.entity';
import { startTestApp, TestApp } from '../support/harness';

describe('reading an entity by id with a prepared statement', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it("gives the entity the ORM's own read gives, lazy columns left out", async () => {
    const department = await app.createDepartment('Prepared', 'prepared');
    const agent = await app.createUser({ role: 'AGENT', departmentId: department.id, employeeCode: 'PR001', skills: ['退款', 'english'] });
    await app.data('mutation { setMyLocale(locale: "en") { id } }', undefined, agent.token);
    const meta = app.services.orm.getMetadata().get(User.name);
    const statement = selectByIdStatement(meta);
    expect(statement.text).not.toMatch(/password_hash/);

    const [row] = await new PreparedStatements(app.services.orm.em).run<Record<string, unknown>>(statement, [agent.id]);
    const mapped = app.services.orm.em.fork().map(User, row);
    const read = await app.services.orm.em.fork().findOneOrFail(User, agent.id);
    expect(wrap(mapped).toObject()).toEqual(wrap(read).toObject());
    expect(mapped).toMatchObject({ departmentId: department.id, employeeCode: 'PR001', skills: ['退款', 'english'], locale: 'en' });
    expect(mapped.createdAt).toBeInstanceOf(Date);
    expect(wrap(mapped).isInitialized()).toBe(true);
    expect(wrap(mapped, true).__loadedProperties.has('passwordHash')).toBe(false);

    expect(await new PreparedStatements(app.services.orm.em).run(statement, [randomUUID()])).toEqual([]);
  });

  it('`me` answers the row as it is now, right after it changed', async () => {
    const department = await app.createDepartment('Renamed', 'renamed');
    const agent = await app.createUser({ role: 'AGENT', departmentId: department.id, displayName: '旧名字' });
    expect(
      (await app.data<{ me: { displayName: string } }, unknown>('{ me { displayName } }', undefined, agent.token)).me.displayName,
    ).toBe('旧名字');
    await app.data(
      'mutation ($id: ID!) { updateUser(id: $id, input: { displayName: "新名字", skills: ["改签"] }) { id } }',
      { id: agent.id },
      await app.adminToken(),
    );
    const me = await app.data<{ me: { displayName: string; skills: string[] } }, unknown>(
      '{ me { displayName skills } }',
      undefined,
      agent.token,
    );
    expect(me.me).toEqual({ displayName: '新名字', skills: ['改签'] });
  });

  it('is refused for an entity with relations or a composite key, which the ORM reads', () => {
    const faqMeta = app.services.orm.getMetadata().get(Faq.name);
    const relational = { ...faqMeta, className: 'WithRelation', props: [...faqMeta.props, { ...faqMeta.props[0], kind: 'm:1' }] };
    expect(() => selectByIdStatement(relational as typeof faqMeta)).toThrow(/WithRelation has relations/);
    const composite = { ...faqMeta, className: 'TwoKeys', primaryKeys: ['id', 'question'] };
    expect(() => selectByIdStatement(composite as unknown as typeof faqMeta)).toThrow(/TwoKeys has a composite key/);
  });
});
