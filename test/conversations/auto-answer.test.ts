import {
  AnswerHelpedDocument,
  ConversationAutoAnswerDocument,
  CreateFaqDocument,
  HeartbeatDocument,
  MessagesDocument,
  NotificationsDocument,
  PublishFaqDocument,
  QueueDocument,
  RequestServiceDocument,
  SearchFaqsDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };
type Result = { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> };
const codeOf = (res: Result) => res.errors?.[0]?.extensions?.code;

const THRESHOLD = 0.6;
const QUESTION = '如何申请退票？';
const ANSWER = '在订单详情页点击“申请退票”，票款将在3个工作日内原路退回。';
/** Scores about 0.73 against QUESTION (searchFaqs); LOW about 0.21: a match, but below the threshold. */
const PARAPHRASE = '申请退票';
const LOW = '我想申请退票';

const ENV = { ROUTING_REQUIRE_SHIFT: 'false', QUEUE_AGEING_SECONDS: '3600', AUTO_ANSWER_THRESHOLD: String(THRESHOLD) };

/** Publishes the FAQ the paraphrase matches; returns its id. */
async function publishFaq(app: TestApp, admin: string): Promise<string> {
  const { createFaq } = await app.data(
    CreateFaqDocument,
    { input: { question: QUESTION, answer: ANSWER, category: '其他', scope: 'PUBLIC' } },
    admin,
  );
  return (await app.data(PublishFaqDocument, { id: createFaq.id }, admin)).publishFaq.id;
}

describe('auto-answers and classification of requests', () => {
  let app: TestApp;
  let admin: string;
  let faqId: string;
  let support: { id: string };
  let manager: Person;

  const customer = () => app.createUser({ role: 'CUSTOMER' });
  const ask = (who: Person, message: string, topic = '咨询') =>
    app.data(RequestServiceDocument, { input: { topic, message } }, who.token).then((d) => d.requestService);

  beforeAll(async () => {
    app = await startTestApp({ env: ENV });
    admin = await app.adminToken();
    faqId = await publishFaq(app, admin);
    support = await app.createDepartment('技术支持', 'technical');
    manager = await app.createUser({ role: 'MANAGER', departmentId: support.id });
  });
  afterAll(() => app.stop());

  it('the paraphrase clears the test threshold and the low-scoring message does not (searchFaqs scores)', async () => {
    const c = await customer();
    const [hit] = (await app.data(SearchFaqsDocument, { query: PARAPHRASE, limit: 1 }, c.token)).searchFaqs;
    expect(hit.faq.id).toBe(faqId);
    expect(hit.score).toBeGreaterThanOrEqual(THRESHOLD);
    const low = (await app.data(SearchFaqsDocument, { query: LOW, limit: 1 }, c.token)).searchFaqs;
    expect(low.every((h) => h.score < THRESHOLD)).toBe(true);
  });

  it('asks whether the answer helped in the customer’s language (Accept-Language: en; the next test reads the Chinese default)', async () => {
    const c = await customer();
    const asked = await app.exec(RequestServiceDocument, { input: { topic: '咨询', message: PARAPHRASE } }, c.token, {
      'accept-language': 'en',
    });
    const id = asked.data!.requestService.conversation!.id;
    const { messages } = (await app.data(MessagesDocument, { conversationId: id }, c.token)).messages;
    expect(messages[1].content).toBe(`${ANSWER}\n\nDid this answer solve your problem?`);
  });

  it('answers a matching first message at once with a system message, and helped ends it RESOLVED_BY_FAQ', async () => {
    const c = await customer();
    const r = await ask(c, PARAPHRASE);
    expect(r.status).toBe('QUEUED');
    const id = r.conversation!.id;
    const { messages } = (await app.data(MessagesDocument, { conversationId: id }, c.token)).messages;
    expect(messages.map((m) => [m.seq, m.kind])).toEqual([
      [1, 'TEXT'],
      [2, 'SYSTEM'],
    ]);
    expect(messages[1].content).toBe(`${ANSWER}\n\n这个回答解决您的问题了吗？`);
    const seen = (await app.data(ConversationAutoAnswerDocument, { id }, c.token)).conversation;
    expect(seen).toMatchObject({ lastSeq: 2, autoAnswer: { state: 'ASKED', faq: { id: faqId, question: QUESTION } } });

    const other = await customer();
    expect(codeOf(await app.exec(AnswerHelpedDocument, { conversationId: id, helped: true }, other.token))).toBe('FORBIDDEN');

    const done = (await app.data(AnswerHelpedDocument, { conversationId: id, helped: true }, c.token)).answerHelped;
    expect(done).toMatchObject({ status: 'ENDED', endReason: 'RESOLVED_BY_FAQ', autoAnswer: { state: 'HELPED' } });
    expect(codeOf(await app.exec(AnswerHelpedDocument, { conversationId: id, helped: false }, c.token))).toBe('CONFLICT');
    const [{ helpful_count: helpful }] = await app.services.orm.em
      .fork()
      .execute<Array<{ helpful_count: number }>>('SELECT helpful_count FROM faqs WHERE id = ?', [faqId]);
    expect(helpful).toBe(1);
  });

  it('not helped keeps the request QUEUED in the same place; answering twice is a CONFLICT', async () => {
    const first = await customer();
    const second = await customer();
    await ask(first, '你好，想问一下');
    const r = await ask(second, PARAPHRASE);
    expect(r).toMatchObject({ status: 'QUEUED' });
    const before = (await app.data(QueueDocument, { departmentId: null }, admin)).queue.find(
      (q) => q.conversation.id === r.conversation!.id,
    )!.position;
    const after = (await app.data(AnswerHelpedDocument, { conversationId: r.conversation!.id, helped: false }, second.token)).answerHelped;
    expect(after).toMatchObject({ status: 'QUEUED', endReason: null, autoAnswer: { state: 'NOT_HELPED' } });
    const queue = (await app.data(QueueDocument, { departmentId: null }, admin)).queue;
    expect(queue.find((q) => q.conversation.id === r.conversation!.id)!.position).toBe(before);
    expect(codeOf(await app.exec(AnswerHelpedDocument, { conversationId: r.conversation!.id, helped: true }, second.token))).toBe(
      'CONFLICT',
    );
  });

  it('gives a low-scoring message no auto-answer (and answerHelped there is a CONFLICT)', async () => {
    const c = await customer();
    const r = await ask(c, LOW);
    const seen = (await app.data(ConversationAutoAnswerDocument, { id: r.conversation!.id }, c.token)).conversation;
    expect(seen).toMatchObject({ lastSeq: 1, autoAnswer: null });
    expect(codeOf(await app.exec(AnswerHelpedDocument, { conversationId: r.conversation!.id, helped: true }, c.token))).toBe('CONFLICT');
  });

  it('takes the classifier’s priority when it is higher than the keyword rules’', async () => {
    const r = await ask(await customer(), '订单一直不出票，赶紧处理一下');
    expect(r.priority).toBe('HIGH');
  });

  it('flags a strongly negative request to the department’s managers', async () => {
    const r = await ask(await customer(), '你们客服态度太恶劣了，我要投诉！', 'technical');
    expect(r.priority).toBe('URGENT');
    const { nodes } = (await app.data(NotificationsDocument, {}, manager.token)).notifications;
    const flagged = nodes.filter((n) => n.kind === 'NEGATIVE_CONVERSATION');
    expect(flagged).toHaveLength(1);
    expect(flagged[0].body).toContain(r.conversation!.id);
  });
});

describe('an auto-answered request that an agent took', () => {
  // A server of its own: the online agent here would take the customers the tests above keep waiting.
  let app: TestApp;
  afterAll(() => app?.stop());

  it('helped frees the assigned agent’s slot', async () => {
    app = await startTestApp({ env: ENV });
    await publishFaq(app, await app.adminToken());
    const orders = await app.createDepartment('订单问题', 'order');
    const agent = await app.createUser({ role: 'AGENT', departmentId: orders.id, maxConcurrentChats: 20 });
    await app.data(HeartbeatDocument, {}, agent.token);
    const c = await app.createUser({ role: 'CUSTOMER' });
    const r = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: PARAPHRASE } }, c.token)).requestService;
    expect(r).toMatchObject({ status: 'ASSIGNED', conversation: { agentId: agent.id } });
    const activeChats = async () =>
      (
        await app.services.orm.em
          .fork()
          .execute<Array<{ active_chats: number }>>('SELECT active_chats FROM agent_states WHERE agent_id = ?', [agent.id])
      )[0].active_chats;
    expect(await activeChats()).toBe(1);
    await app.data(AnswerHelpedDocument, { conversationId: r.conversation!.id, helped: true }, c.token);
    expect(await activeChats()).toBe(0);
  });
});
