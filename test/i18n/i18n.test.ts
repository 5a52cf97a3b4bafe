import { randomUUID } from 'node:crypto';
import {
  ApproveLeaveDocument,
  LocalizedTicketDocument,
  MyLocaleDocument,
  NotificationsDocument,
  RequestLeaveDocument,
  SetMyLocaleDocument,
} from '../generated/graphql';
import { startTestApp, subscribe, TestApp } from '../support/harness';

describe('texts in zh-CN and en', () => {
  let app: TestApp;
  let departmentId: string;
  beforeAll(async () => {
    app = await startTestApp();
    departmentId = (await app.createDepartment('I18n', 'i18n')).id;
  });
  afterAll(() => app.stop());

  /** A NOT_FOUND from the ticket query (a ticket that does not exist), as `token` with `headers`. */
  const missingTicket = async (token: string, headers: Record<string, string> = {}) => {
    const id = randomUUID();
    const res = await app.exec(LocalizedTicketDocument, { id }, token, headers);
    expect(res.errors).toHaveLength(1);
    return { id, error: res.errors![0], extensions: res.errors![0].extensions, response: res };
  };

  describe('setMyLocale', () => {
    it('stores a supported locale (tags meaning one are normalised), and null clears it', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      expect((await app.data(SetMyLocaleDocument, { locale: 'en' }, customer.token)).setMyLocale.locale).toBe('en');
      expect((await app.data(MyLocaleDocument, {}, customer.token)).me.locale).toBe('en');
      expect((await app.data(SetMyLocaleDocument, { locale: 'zh-Hans' }, customer.token)).setMyLocale.locale).toBe('zh-CN');
      expect((await app.data(SetMyLocaleDocument, { locale: null }, customer.token)).setMyLocale.locale).toBeNull();
    });

    it('refuses an unsupported locale with BAD_USER_INPUT naming the field, and stores nothing', async () => {
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, agent.token);
      const res = await app.exec(SetMyLocaleDocument, { locale: 'fr-FR' }, agent.token);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'locale' }] });
      expect(res.errors?.[0].message).toBe('必须是以下之一：zh-CN, en'); // in the user's own (stored) locale
      expect((await app.data(MyLocaleDocument, {}, agent.token)).me.locale).toBe('zh-CN');
    });

    it('is refused to an anonymous caller, and let through for every role', async () => {
      const anonymous = await app.exec(SetMyLocaleDocument, { locale: 'en' }, null);
      expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      for (const role of ['ADMIN', 'MANAGER', 'AGENT', 'CUSTOMER'] as const) {
        const user = await app.createUser({ role, departmentId: role === 'ADMIN' || role === 'CUSTOMER' ? null : departmentId });
        expect((await app.data(SetMyLocaleDocument, { locale: 'en' }, user.token)).setMyLocale.locale).toBe('en');
      }
    });

    it('keeps a customer’s locale private from other customers', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const other = await app.createUser({ role: 'CUSTOMER' });
      const res = await app.exec('query ($id: ID!) { user(id: $id) { id locale } }', { id: customer.id }, other.token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });
  });

  describe('error messages', () => {
    it('speak zh-CN to customers and en to staff by default; codes and field names stay as they are', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const toCustomer = await missingTicket(customer.token);
      expect(toCustomer.error.message).toBe(`未找到工单 ${toCustomer.id}`);
      expect(toCustomer.extensions?.code).toBe('NOT_FOUND');
      const toAgent = await missingTicket(agent.token);
      expect(toAgent.error.message).toBe(`Ticket ${toAgent.id} was not found`);
      expect(toAgent.extensions?.code).toBe('NOT_FOUND');
    });

    it('follow Accept-Language when the user chose nothing, and the stored locale when they did', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const english = await missingTicket(customer.token, { 'accept-language': 'fr-CH, en-GB;q=0.8, zh;q=0.5' });
      expect(english.error.message).toBe(`Ticket ${english.id} was not found`);
      await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, customer.token);
      const chinese = await missingTicket(customer.token, { 'accept-language': 'en' });
      expect(chinese.error.message).toBe(`未找到工单 ${chinese.id}`);
    });

    it('translate the messages of BAD_USER_INPUT too, not the field names', async () => {
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const res = await app.exec(NotificationsDocument, { first: 500 }, agent.token, { 'accept-language': 'zh-CN' });
      expect(res.errors?.[0].message).toBe('必须在 1 到 100 之间');
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'first' }] });
    });

    it('fall back for an unsupported Accept-Language and say so in extensions.locale', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const res = await missingTicket(customer.token, { 'accept-language': 'fr-FR, de;q=0.5' });
      expect(res.error.message).toBe(`未找到工单 ${res.id}`);
      const body = await (
        await fetch(app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${customer.token}`, 'accept-language': 'fr-FR' },
          body: JSON.stringify({ query: '{ me { id } }' }),
        })
      ).json();
      expect(body.extensions).toEqual({ locale: { requested: 'fr-FR', used: 'zh-CN', supported: ['zh-CN', 'en'] } });
      expect(body.data.me.id).toBe(customer.id);
    });

    it('over graphql-ws follow the locale of connection_init', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const id = randomUUID();
      const english = subscribe(
        app.ws(customer.token, { connectionParams: { authorization: `Bearer ${customer.token}`, locale: 'en' } }),
        LocalizedTicketDocument,
        { id },
      );
      expect((await english.next()).errors?.[0]).toMatchObject({
        message: `Ticket ${id} was not found`,
        extensions: { code: 'NOT_FOUND' },
      });
      const chinese = subscribe(app.ws(customer.token), LocalizedTicketDocument, { id });
      expect((await chinese.next()).errors?.[0]).toMatchObject({ message: `未找到工单 ${id}` });
    });
  });

  describe('notifications', () => {
    it('render title and body in each reader’s language when read, from one stored row', async () => {
      const manager = await app.createUser({ role: 'MANAGER', departmentId });
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const { requestLeave } = await app.data(
        RequestLeaveDocument,
        { input: { startDate: '2031-03-03', endDate: '2031-03-03', type: 'PERSONAL' } },
        agent.token,
      );
      await app.data(ApproveLeaveDocument, { id: requestLeave.id, comment: '好的' }, manager.token);

      await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, agent.token);
      const zh = (await app.data(NotificationsDocument, {}, agent.token)).notifications.nodes[0];
      expect(zh).toMatchObject({ kind: 'LEAVE_DECIDED', title: '休假已批准' });
      expect(zh.body).toMatch(/^2031-03-03 .+：APPROVED — 好的$/);

      await app.data(SetMyLocaleDocument, { locale: 'en' }, agent.token);
      const en = (await app.data(NotificationsDocument, {}, agent.token)).notifications.nodes[0];
      expect(en).toMatchObject({ id: zh.id, kind: 'LEAVE_DECIDED', title: 'Leave approved' });
      expect(en.body).toMatch(/^2031-03-03 .+: APPROVED — 好的$/);
    });
  });
});
