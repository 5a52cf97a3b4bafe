import { randomUUID } from 'node:crypto';
import {
  ChannelInboundDocument,
  CreateApiKeyDocument,
  HeartbeatDocument,
  MessageHistoryDocument,
  RequestServiceDocument,
  SendMessageDocument,
  SetMyLocaleDocument,
  TransferConversationDocument,
} from '../generated/graphql';
import { eventually, startTestApp, TestApp } from '../support/harness';

describe('system messages to customers are stored in the customer’s language', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', IDLE_WARNING_SECONDS: '1', IDLE_CLOSE_SECONDS: '600' } });
  });
  afterAll(() => app.stop());

  /** A department with two online agents, and a conversation of a customer (with `locale`, if any) that the first has. */
  async function chat(locale: string | null) {
    const code = `sys_${randomUUID().slice(0, 6)}`;
    const dept = await app.createDepartment(`Sys ${code}`, code);
    const first = await app.createUser({ role: 'AGENT', departmentId: dept.id, displayName: 'Agent One' });
    await app.data(HeartbeatDocument, {}, first.token);
    const customer = await app.createUser({ role: 'CUSTOMER' });
    if (locale) await app.data(SetMyLocaleDocument, { locale }, customer.token);
    const { requestService } = await app.data(RequestServiceDocument, { input: { topic: dept.code, message: 'hello' } }, customer.token);
    expect(requestService.conversation?.agentId).toBe(first.id);
    const second = await app.createUser({ role: 'AGENT', departmentId: dept.id, displayName: 'Agent Two' });
    await app.data(HeartbeatDocument, {}, second.token);
    return { first, second, customer, id: requestService.conversation!.id };
  }
  const history = async (token: string, conversationId: string) =>
    (await app.data(MessageHistoryDocument, { conversationId, first: 50 }, token)).messages;
  const systemTexts = async (token: string, conversationId: string) =>
    (await history(token, conversationId)).messages.filter((m) => m.kind === 'SYSTEM').map((m) => m.content);

  it('a transfer note in English for a customer who chose en, read the same by the agent', async () => {
    const { first, second, customer, id } = await chat('en');
    const moved = await app.exec(TransferConversationDocument, { id, toAgentId: second.id, note: 'VIP' }, first.token);
    expect(moved.errors).toBeUndefined();
    const [note] = await systemTexts(customer.token, id);
    expect(note.split('\n').slice(0, 2)).toEqual(['The conversation was transferred from Agent One to Agent Two.', 'Transfer note: VIP']);
    expect(await systemTexts(second.token, id)).toEqual([note]);
  });

  it('a transfer note in Chinese for a customer who chose nothing', async () => {
    const { first, second, customer, id } = await chat(null);
    expect((await app.exec(TransferConversationDocument, { id, toAgentId: second.id }, first.token)).errors).toBeUndefined();
    const [note] = await systemTexts(customer.token, id);
    expect(note.split('\n')[0]).toBe('会话已由 Agent One 转接给 Agent Two。');
  });

  it('the idle warning in the customer’s language', async () => {
    const english = await chat('en');
    const chinese = await chat(null);
    for (const c of [english, chinese]) {
      await app.data(
        SendMessageDocument,
        { input: { conversationId: c.id, content: 'Anything else?', clientMessageId: randomUUID() } },
        c.first.token,
      );
    }
    await eventually(async () => (await systemTexts(english.customer.token, english.id)).length > 0, 8000, 'the idle warning');
    await eventually(async () => (await systemTexts(chinese.customer.token, chinese.id)).length > 0, 8000, 'the idle warning');
    expect(await systemTexts(english.customer.token, english.id)).toEqual([
      'You have not replied for a while; the conversation will end automatically in 599 seconds.',
    ]);
    expect(await systemTexts(chinese.customer.token, chinese.id)).toEqual(['您已经有一段时间没有回复了，会话将在 599 秒后自动结束。']);
  });

  it('a customer who chose nothing but asked in English keeps English in later system messages', async () => {
    const code = `sys_${randomUUID().slice(0, 6)}`;
    const dept = await app.createDepartment(`Sys ${code}`, code);
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    await app.data(HeartbeatDocument, {}, agent.token);
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const asked = await app.exec(RequestServiceDocument, { input: { topic: dept.code, message: 'hello' } }, customer.token, {
      'accept-language': 'en-US,en;q=0.9',
    });
    const id = asked.data!.requestService.conversation!.id;
    // Later requests send no Accept-Language: the conversation keeps the language it began in.
    await app.data(
      SendMessageDocument,
      { input: { conversationId: id, content: 'Anything else?', clientMessageId: randomUUID() } },
      agent.token,
    );
    await eventually(async () => (await systemTexts(customer.token, id)).length > 0, 8000, 'the idle warning');
    expect(await systemTexts(customer.token, id)).toEqual([
      'You have not replied for a while; the conversation will end automatically in 599 seconds.',
    ]);
  });

  it('the hand-over after no first reply, its summary included, in the customer’s language', async () => {
    const english = await chat('en');
    const chinese = await chat(null);
    await app.services.firstReply.sweep(new Date(Date.now() + 24 * 3600_000));
    const [toEnglish] = await systemTexts(english.customer.token, english.id);
    expect(toEnglish.split('\n').slice(0, 2)).toEqual([
      'Sorry to keep you waiting; you have been transferred to Agent Two. Please wait a moment.',
      'The latest 1 message(s):',
    ]);
    expect(toEnglish.split('\n')[2]).toMatch(/\]\[CUSTOMER\]\[.*\] hello$/);
    const [toChinese] = await systemTexts(chinese.customer.token, chinese.id);
    expect(toChinese.split('\n').slice(0, 2)).toEqual(['抱歉让您久等了，已为您转接至 Agent Two，请稍候。', '最近 1 条消息：']);
    // The agents read the same record.
    expect(await systemTexts(english.second.token, english.id)).toEqual([toEnglish]);
  });

  it('a customer bridged by an integration (which itself reads English) gets them in Chinese by default', async () => {
    const code = `sys_${randomUUID().slice(0, 6)}`;
    const dept = await app.createDepartment(`Sys ${code}`, code);
    const first = await app.createUser({ role: 'AGENT', departmentId: dept.id, displayName: 'Agent One' });
    await app.data(HeartbeatDocument, {}, first.token);
    const input = { name: 'bridge', scopes: ['CHANNEL_WRITE'], departmentId: dept.id };
    const key = (await app.data(CreateApiKeyDocument, { input } as never, await app.adminToken())).createApiKey.secret;
    const inbound = await app.data(
      ChannelInboundDocument,
      { input: { channel: 'wechat', externalCustomerId: code, displayName: '王女士', externalMessageId: code, content: 'hello' } },
      key,
    );
    const id = inbound.channelInbound.conversation!.id;
    const second = await app.createUser({ role: 'AGENT', departmentId: dept.id, displayName: 'Agent Two' });
    await app.data(HeartbeatDocument, {}, second.token);
    await app.services.firstReply.sweep(new Date(Date.now() + 24 * 3600_000));
    const [told] = await systemTexts(second.token, id);
    expect(told.split('\n')[0]).toBe('抱歉让您久等了，已为您转接至 Agent Two，请稍候。');
  });

  it('message history also has Relay edges: each cursor is the seq, which afterSeq takes', async () => {
    const { customer, id } = await chat(null);
    const page = await history(customer.token, id);
    expect(page.edges.map((e) => e.cursor)).toEqual(page.messages.map((m) => String(m.seq)));
    expect(page.pageInfo).toEqual({ endCursor: String(page.lastSeq), hasNextPage: false });
    const one = (await app.data(MessageHistoryDocument, { conversationId: id, afterSeq: 0, first: 1 }, customer.token)).messages;
    expect(one.pageInfo).toEqual({ endCursor: '1', hasNextPage: page.messages.length > 1 });
  });
});
