import { HeartbeatDocument, MessagesDocument, RequestServiceDocument, SendMessageDocument } from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

/** The topic and clientMessageId limits: 1 to 100 characters, refused as BAD_USER_INPUT with nothing stored. */
describe('conversation input limits', () => {
  let app: TestApp;
  let agent: { id: string; token: string };

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    const dept = await app.createDepartment('订单问题', 'order');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 50 });
    await app.data(HeartbeatDocument, {}, agent.token);
  });
  afterAll(() => app.stop());

  it.each([
    ['an empty', '   '],
    ['a 101-character', '题'.repeat(101)],
  ])('%s topic is BAD_USER_INPUT on topic and opens no conversation', async (_, topic) => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const res = await app.exec(RequestServiceDocument, { input: { topic, message: '你好' } }, customer.token);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(JSON.stringify(res.errors?.[0].extensions)).toContain('topic');
    const [{ n }] = await app.services.orm.em
      .fork()
      .execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM conversations WHERE customer_id = ?`, [customer.id]);
    expect(n).toBe(0);
  });

  it('a topic of exactly 100 characters is accepted', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const res = await app.data(RequestServiceDocument, { input: { topic: 'order' + 'x'.repeat(95), message: '你好' } }, customer.token);
    expect(res.requestService.status).toBeDefined();
  });

  it.each([
    ['an empty', ''],
    ['a 101-character', 'c'.repeat(101)],
  ])('%s clientMessageId is BAD_USER_INPUT and stores no message', async (_, clientMessageId) => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const conversation = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, customer.token))
      .requestService.conversation!;
    const res = await app.exec(
      SendMessageDocument,
      { input: { conversationId: conversation.id, content: '在吗', clientMessageId } },
      customer.token,
    );
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'clientMessageId' }] });
    const page = (await app.data(MessagesDocument, { conversationId: conversation.id, afterSeq: 0, first: 100 }, customer.token)).messages;
    expect(page.messages.map((m) => m.content)).not.toContain('在吗');
  });

  it('a clientMessageId of exactly 100 characters is accepted', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const conversation = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, customer.token))
      .requestService.conversation!;
    const sent = await app.data(
      SendMessageDocument,
      { input: { conversationId: conversation.id, content: '在吗', clientMessageId: 'c'.repeat(100) } },
      customer.token,
    );
    expect(sent.sendMessage.clientMessageId).toBe('c'.repeat(100));
  });
});
