import { randomUUID } from 'node:crypto';
import {
  CreateShiftDocument,
  DeactivateUserDocument,
  LocalizedTicketDocument,
  LoginDocument,
  MeDocument,
  RegisterCustomerDocument,
  RequestLeaveDocument,
  UpdateUserDocument,
} from '../generated/graphql';
import { startTestApp, subscribe, TestApp } from '../support/harness';

/**
 * A representative error of each code, through the real server, in both languages: texts still written
 * inline in English reach a zh-CN reader in Chinese; codes, reasons and field names never change.
 */
describe('error messages of every code in zh-CN and en', () => {
  let app: TestApp;
  let departmentId: string;
  beforeAll(async () => {
    app = await startTestApp({ env: { RATE_REGISTER_CUSTOMER_PER_HOUR: '1' } });
    departmentId = (await app.createDepartment('Errors', 'errors_i18n')).id;
  });
  afterAll(() => app.stop());

  const inLanguage = (language: 'en' | 'zh-CN') => ({ 'accept-language': language });
  /** The first error of an operation run over graphql-ws, with `locale` in connection_init when given. */
  async function wsError<TData, TVars>(
    token: string | null,
    locale: string | null,
    doc: Parameters<typeof subscribe<TData, TVars>>[1],
    variables: TVars,
  ) {
    const connectionParams = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(locale ? { locale } : {}) };
    const result = await subscribe(app.ws(token, { connectionParams }), doc, variables).next();
    expect(result.errors).toHaveLength(1);
    return result.errors![0] as { message: string; extensions: Record<string, unknown> };
  }

  describe('over HTTP', () => {
    it('FORBIDDEN: a service’s own refusal', async () => {
      const elsewhere = (await app.createDepartment('Elsewhere', 'elsewhere_i18n')).id;
      const manager = await app.createUser({ role: 'MANAGER', departmentId });
      const agent = await app.createUser({ role: 'AGENT', departmentId: elsewhere });
      const input = { displayName: 'Renamed' };
      const en = await app.exec(UpdateUserDocument, { id: agent.id, input }, manager.token, inLanguage('en'));
      expect(en.errors?.[0]).toMatchObject({
        message: 'Managers edit agents of their own department only',
        extensions: { code: 'FORBIDDEN' },
      });
      const zh = await app.exec(UpdateUserDocument, { id: agent.id, input }, manager.token, inLanguage('zh-CN'));
      expect(zh.errors?.[0]).toMatchObject({ message: '经理只能编辑本部门的坐席', extensions: { code: 'FORBIDDEN' } });
    });

    it('FORBIDDEN: a role the operation is not open to', async () => {
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const zh = await app.exec(DeactivateUserDocument, { id: agent.id }, agent.token, inLanguage('zh-CN'));
      expect(zh.errors?.[0]).toMatchObject({ message: '您无权执行此操作', extensions: { code: 'FORBIDDEN' } });
    });

    it('NOT_FOUND', async () => {
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const id = randomUUID();
      expect((await app.exec(LocalizedTicketDocument, { id }, agent.token, inLanguage('en'))).errors?.[0].message).toBe(
        `Ticket ${id} was not found`,
      );
      expect((await app.exec(LocalizedTicketDocument, { id }, agent.token, inLanguage('zh-CN'))).errors?.[0].message).toBe(
        `未找到工单 ${id}`,
      );
    });

    it('CONFLICT: the message translated, extensions.reason as it is', async () => {
      const admin = await app.adminToken();
      const { me } = await app.data(MeDocument, {}, admin);
      const en = await app.exec(DeactivateUserDocument, { id: me.id }, admin, inLanguage('en'));
      expect(en.errors?.[0]).toMatchObject({
        message: 'You cannot deactivate yourself',
        extensions: { code: 'CONFLICT', reason: 'SELF_DEACTIVATION' },
      });
      const zh = await app.exec(DeactivateUserDocument, { id: me.id }, admin, inLanguage('zh-CN'));
      expect(zh.errors?.[0]).toMatchObject({
        message: '不能停用自己的账号',
        extensions: { code: 'CONFLICT', reason: 'SELF_DEACTIVATION' },
      });
    });

    it('BAD_USER_INPUT from class-validator: custom and class-validator’s own messages, field names untouched', async () => {
      const input = { email: 'not-an-address', password: 'x'.repeat(300), displayName: '' };
      const en = await app.exec(RegisterCustomerDocument, { input }, null, inLanguage('en'));
      expect(en.errors?.[0].extensions).toEqual({
        code: 'BAD_USER_INPUT',
        fields: [
          { field: 'email', message: 'must be an e-mail address' },
          { field: 'password', message: 'must be shorter than or equal to 256 characters' },
          { field: 'displayName', message: 'must be 1 to 100 characters' },
        ],
        traceId: expect.any(String),
      });
      const zh = await app.exec(RegisterCustomerDocument, { input }, null, inLanguage('zh-CN'));
      expect(zh.errors?.[0].extensions?.fields).toEqual([
        { field: 'email', message: '必须是邮箱地址' },
        { field: 'password', message: '最多 256 个字符' },
        { field: 'displayName', message: '必须为 1 到 100 个字符' },
      ]);
      expect(zh.errors?.[0].message).toBe('email 必须是邮箱地址; password 最多 256 个字符; displayName 必须为 1 到 100 个字符');
    });

    it('BAD_USER_INPUT from a service: the message and extensions.fields, and nothing stored', async () => {
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const input = { startDate: '2031-02-30', endDate: '2031-03-01', type: 'PERSONAL' as const };
      const en = await app.exec(RequestLeaveDocument, { input }, agent.token, inLanguage('en'));
      expect(en.errors?.[0]).toMatchObject({
        message: 'must be a real date YYYY-MM-DD',
        extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'startDate', message: 'must be a real date YYYY-MM-DD' }] },
      });
      const zh = await app.exec(RequestLeaveDocument, { input }, agent.token, inLanguage('zh-CN'));
      expect(zh.errors?.[0]).toMatchObject({
        message: '必须是有效日期 YYYY-MM-DD',
        extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'startDate', message: '必须是有效日期 YYYY-MM-DD' }] },
      });
      expect(zh.data?.requestLeave ?? null).toBeNull();
    });

    it('BAD_USER_INPUT before Apollo runs: a body that is not JSON', async () => {
      const post = async (language: string) =>
        (
          await fetch(app.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'accept-language': language },
            body: '{"query":',
          })
        ).json();
      expect((await post('en')).errors[0]).toMatchObject({
        message: 'The request body is not valid JSON',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      expect((await post('zh-CN')).errors[0]).toMatchObject({ message: '请求体不是有效的 JSON', extensions: { code: 'BAD_USER_INPUT' } });
    });

    it('UNAUTHENTICATED: a bad token (reason kept) and a wrong password', async () => {
      const en = await app.exec(MeDocument, {}, 'not-a-token', inLanguage('en'));
      expect(en.status).toBe(401);
      expect(en.errors?.[0]).toMatchObject({
        message: 'The token is invalid or has been revoked; sign in again',
        extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID' },
      });
      const zh = await app.exec(MeDocument, {}, 'not-a-token', inLanguage('zh-CN'));
      expect(zh.errors?.[0]).toMatchObject({
        message: '令牌无效或已被撤销，请重新登录',
        extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID' },
      });
      const wrong = { email: 'nobody@test.local', password: 'wrong-password' };
      expect((await app.exec(LoginDocument, wrong, null, inLanguage('en'))).errors?.[0].message).toBe('Wrong e-mail or password');
      expect((await app.exec(LoginDocument, wrong, null, inLanguage('zh-CN'))).errors?.[0]).toMatchObject({
        message: '邮箱或密码错误',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    });
  });

  describe('over graphql-ws (locale of connection_init, else the role’s default)', () => {
    it('FORBIDDEN (a templated text) for staff, English by default, Chinese when the connection asks', async () => {
      const manager = await app.createUser({ role: 'MANAGER', departmentId });
      const agent = await app.createUser({ role: 'AGENT', departmentId });
      const variables = { id: agent.id, input: { role: 'MANAGER' as const, departmentId } };
      expect((await wsError(manager.token, null, UpdateUserDocument, variables)).message).toBe('Only admins change role, departmentId');
      expect(await wsError(manager.token, 'zh-CN', UpdateUserDocument, variables)).toMatchObject({
        message: '只有管理员可以修改 role, departmentId',
        extensions: { code: 'FORBIDDEN' },
      });
    });

    it('CONFLICT and BAD_USER_INPUT: staff read English by default, Chinese when the connection asks', async () => {
      const admin = await app.adminToken();
      const { me } = await app.data(MeDocument, {}, admin);
      expect((await wsError(admin, null, DeactivateUserDocument, { id: me.id })).message).toBe('You cannot deactivate yourself');
      expect(await wsError(admin, 'zh-CN', DeactivateUserDocument, { id: me.id })).toMatchObject({
        message: '不能停用自己的账号',
        extensions: { code: 'CONFLICT', reason: 'SELF_DEACTIVATION' },
      });
      const input = { name: 'Early', code: 'bad code!', startTime: '25:00', endTime: '09:00', departmentId, color: 'red' };
      const zh = await wsError(admin, 'zh-CN', CreateShiftDocument, { input });
      expect(zh.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        fields: [
          { field: 'code', message: '必须为 1 到 20 个字母、数字、- 或 _' },
          { field: 'startTime', message: '必须是 00:00 到 23:59 之间的时间 "HH:mm"' },
          { field: 'color', message: '必须为颜色值 #RRGGBB' },
        ],
      });
      const en = await wsError(admin, null, CreateShiftDocument, { input });
      expect((en.extensions.fields as Array<{ message: string }>)[0].message).toBe('must be 1 to 20 letters, digits, - or _');
    });

    it('NOT_FOUND, UNAUTHENTICATED and RATE_LIMITED for a customer: Chinese by default, English when the connection asks', async () => {
      const customer = await app.createUser({ role: 'CUSTOMER' });
      const id = randomUUID();
      expect(await wsError(customer.token, null, LocalizedTicketDocument, { id })).toMatchObject({
        message: `未找到工单 ${id}`,
        extensions: { code: 'NOT_FOUND' },
      });
      expect((await wsError(customer.token, 'en', LocalizedTicketDocument, { id })).message).toBe(`Ticket ${id} was not found`);
      const wrong = { email: 'nobody-ws@test.local', password: 'wrong-password' };
      expect(await wsError(customer.token, null, LoginDocument, wrong)).toMatchObject({
        message: '邮箱或密码错误',
        extensions: { code: 'UNAUTHENTICATED' },
      });
      expect((await wsError(customer.token, 'en', LoginDocument, wrong)).message).toBe('Wrong e-mail or password');
      // RATE_REGISTER_CUSTOMER_PER_HOUR is 1 here: the first sign-up from this address passes, the others do not.
      const register = (n: number) => ({
        input: { email: `rate-${n}-${randomUUID().slice(0, 6)}@test.local`, password: 'password-123', displayName: `Rate ${n}` },
      });
      expect((await app.exec(RegisterCustomerDocument, register(1), null)).errors).toBeUndefined();
      expect(await wsError(customer.token, null, RegisterCustomerDocument, register(2))).toMatchObject({
        message: '此地址注册过于频繁，请稍后再试',
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) },
      });
      expect(await wsError(customer.token, 'en', RegisterCustomerDocument, register(3))).toMatchObject({
        message: 'Too many sign-ups from this address; try again later',
        extensions: { code: 'RATE_LIMITED' },
      });
      const http = await app.exec(RegisterCustomerDocument, register(4), null, inLanguage('zh-CN'));
      expect(http.errors?.[0]).toMatchObject({ message: '此地址注册过于频繁，请稍后再试', extensions: { code: 'RATE_LIMITED' } });
    });
  });
});
