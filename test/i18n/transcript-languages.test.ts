import { RequestServiceDocument, SetMyLocaleDocument } from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

const ENGLISH_LABELS = ['<h1>Conversation transcript</h1>', '<dt>Customer</dt>', '<dt>Status</dt>', '<th>Time (UTC)</th>', '<th>From</th>'];
const CHINESE_LABELS = ['<h1>会话记录</h1>', '<dt>客户</dt>', '<dt>状态</dt>', '<th>时间（UTC）</th>', '<th>发送人</th>'];

/**
 * A conversation's printable transcript (GET /conversations/:id/transcript) has its labels in the reader's
 * language: their stored locale, else Accept-Language, else, for the conversation's own customer, the language
 * the conversation was held in, else the role's default. Values (ids, the status code, names, messages) are kept.
 */
describe('transcript labels in the reader’s language', () => {
  let app: TestApp;
  let admin: string;
  let topic: string;
  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    topic = (await app.createDepartment('记录', 'transcripts')).code;
  });
  afterAll(() => app.stop());

  /** A customer's waiting conversation, begun with `headers` (its language is kept from them). */
  const conversation = async (headers: Record<string, string> = {}) => {
    const customer = await app.createUser({ role: 'CUSTOMER', displayName: '张三' });
    const res = await app.exec(RequestServiceDocument, { input: { topic, message: '我想查询订单' } }, customer.token, headers);
    expect(res.errors).toBeUndefined();
    return { customer, id: res.data!.requestService.conversation!.id };
  };
  const transcript = async (id: string, token: string, headers: Record<string, string> = {}) => {
    const res = await fetch(new URL(`/conversations/${id}/transcript`, app.url), {
      headers: { authorization: `Bearer ${token}`, ...headers },
    });
    expect(res.status).toBe(200);
    return { html: await res.text(), language: res.headers.get('content-language'), notice: res.headers.get('x-locale-notice') };
  };
  const expectLabels = (html: string, labels: string[], absent: string[]) => {
    for (const label of labels) expect(html).toContain(label);
    for (const label of absent) expect(html).not.toContain(label);
  };

  it('staff read English by default, Chinese with Accept-Language: zh-CN, and their stored locale over both', async () => {
    const { id } = await conversation();
    const english = await transcript(id, admin);
    expectLabels(english.html, ENGLISH_LABELS, CHINESE_LABELS);
    expect(english.html).toContain('<html lang="en">');
    expect(english.language).toBe('en');
    // Values stay as they are in both: the status code, the customer's name, the message.
    for (const value of ['<dd>QUEUED</dd>', '<dd>张三</dd>', '我想查询订单', `<dd>${id}</dd>`]) expect(english.html).toContain(value);

    const chinese = await transcript(id, admin, { 'accept-language': 'zh-CN,zh;q=0.9' });
    expectLabels(chinese.html, CHINESE_LABELS, ENGLISH_LABELS);
    expect(chinese.html).toContain('<html lang="zh-CN">');
    expect(chinese.language).toBe('zh-CN');
    for (const value of ['<dd>QUEUED</dd>', '<dd>张三</dd>', '我想查询订单']) expect(chinese.html).toContain(value);

    const reader = await app.createUser({ role: 'ADMIN' });
    await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, reader.token);
    expectLabels((await transcript(id, reader.token, { 'accept-language': 'en' })).html, CHINESE_LABELS, ENGLISH_LABELS);
  });

  it('the customer reads their own transcript in the language their conversation was held in, unless they ask otherwise', async () => {
    const inChinese = await conversation();
    expectLabels((await transcript(inChinese.id, inChinese.customer.token)).html, CHINESE_LABELS, ENGLISH_LABELS);

    const inEnglish = await conversation({ 'accept-language': 'en-GB' });
    const own = await transcript(inEnglish.id, inEnglish.customer.token);
    expectLabels(own.html, ENGLISH_LABELS, CHINESE_LABELS);
    expect(own.language).toBe('en');
    // Asking for a language, or having stored one, wins over the conversation's.
    expectLabels(
      (await transcript(inEnglish.id, inEnglish.customer.token, { 'accept-language': 'zh-CN' })).html,
      CHINESE_LABELS,
      ENGLISH_LABELS,
    );
    await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, inEnglish.customer.token);
    expectLabels((await transcript(inEnglish.id, inEnglish.customer.token)).html, CHINESE_LABELS, ENGLISH_LABELS);
    // Staff reading that conversation read their own language, not the customer's.
    expectLabels((await transcript(inChinese.id, admin)).html, ENGLISH_LABELS, CHINESE_LABELS);
  });

  it('an unsupported Accept-Language falls back and says so in X-Locale-Notice', async () => {
    const { customer, id } = await conversation({ 'accept-language': 'en' });
    const staff = await transcript(id, admin, { 'accept-language': 'fr-FR' });
    expectLabels(staff.html, ENGLISH_LABELS, CHINESE_LABELS);
    expect(JSON.parse(staff.notice!)).toEqual({ requested: 'fr-FR', used: 'en', supported: ['zh-CN', 'en'] });
    // The customer falls back to their conversation's language.
    const own = await transcript(id, customer.token, { 'accept-language': 'fr-FR' });
    expectLabels(own.html, ENGLISH_LABELS, CHINESE_LABELS);
    expect(JSON.parse(own.notice!)).toEqual({ requested: 'fr-FR', used: 'en', supported: ['zh-CN', 'en'] });
    expect((await transcript(id, admin, { 'accept-language': 'zh-CN' })).notice).toBeNull();
  });
});
