import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import {
  AcceptFaqPhrasingDocument,
  AddFaqPhrasingDocument,
  AnswerHelpedDocument,
  CreateFaqDocument,
  EndConversationDocument,
  FaqPhrasingSuggestionsDocument,
  FaqWithPhrasingsDocument,
  HeartbeatDocument,
  PublishFaqDocument,
  RateConversationDocument,
  RejectFaqPhrasingDocument,
  RemoveFaqPhrasingDocument,
  RequestServiceDocument,
  SearchFaqsDocument,
  SendFaqDocument,
  UnansweredQuestionsDocument,
  UpdateFaqPhrasingDocument,
} from '../generated/graphql';
import type { CreateFaqInput } from '../generated/graphql';
import { GqlResult, startTestApp, TestApp } from '../support/harness';
import { FaqPhrasingSource } from '../../src/modules/knowledge/faq-phrasing.entity';
import { suggestPhrasing } from '../../src/modules/knowledge/phrasing-store';

type Person = { id: string; token: string };
const codeOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.code;
const fieldsOf = (res: GqlResult<unknown>) => (res.errors?.[0]?.extensions?.fields ?? []).map((f: { field: string }) => f.field);
/** Today in the business time zone (BUSINESS_TZ's default), as unansweredQuestions counts dates. */
const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });

describe('FAQ phrasings (相似问法), learning from service, unanswered questions', () => {
  let app: TestApp;
  let admin: Person;
  let dept: { id: string };
  let manager: Person;
  let otherManager: Person;
  let agent: Person;
  let customer: Person;
  let refund: { id: string };
  let invoice: { id: string };
  let deptFaq: { id: string };

  const em = (): EntityManager => app.services.orm.em.fork() as EntityManager;
  const publish = async (who: Person, input: Partial<CreateFaqInput>) => {
    const { createFaq } = await app.data(
      CreateFaqDocument,
      { input: { question: '问题', answer: '回答', category: '其他', ...input } as CreateFaqInput },
      who.token,
    );
    return (await app.data(PublishFaqDocument, { id: createFaq.id }, who.token)).publishFaq;
  };
  const search = async (query: string) => (await app.data(SearchFaqsDocument, { query, limit: 5 }, customer.token)).searchFaqs;
  const add = (who: Person, faqId: string, text: string) => app.exec(AddFaqPhrasingDocument, { faqId, text }, who.token);
  const phrasingRows = (faqId: string) =>
    em().execute<Array<{ text: string; status: string }>>(`SELECT text, status FROM faq_phrasings WHERE faq_id = ? ORDER BY created_at`, [
      faqId,
    ]);

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', AUTO_ANSWER_THRESHOLD: '0.5' } });
    const token = await app.adminToken();
    admin = { id: (await app.data<{ me: { id: string } }, unknown>('{ me { id } }', {}, token)).me.id, token };
    dept = await app.createDepartment('售后服务', 'after_sales');
    const other = await app.createDepartment('账户问题', 'accounts');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 20 });
    customer = await app.createUser({ role: 'CUSTOMER' });
    refund = await publish(admin, {
      question: '退票后多久能到账？',
      answer: '退款 1–3 个工作日原路退回。',
      category: '退票退款',
      scope: 'PUBLIC' as CreateFaqInput['scope'],
    });
    invoice = await publish(admin, {
      question: '电子发票怎么开？',
      answer: '在订单详情页申请电子发票。',
      category: '发票',
      scope: 'PUBLIC' as CreateFaqInput['scope'],
    });
    deptFaq = await publish(manager, { question: '纸质票可以寄到公司吗？', answer: '可以，下单时填写公司地址。', category: '配送' });
  });
  afterAll(() => app.stop());

  it('a phrasing is searched like the question: a query that shares nothing with the question finds the FAQ through it', async () => {
    const query = '钱啥时候回来';
    expect((await search(query)).map((h) => h.faq.id)).not.toContain(refund.id);
    const res = await add(admin, refund.id, '钱什么时候能回来');
    expect(res.errors).toBeUndefined();
    expect(res.data!.addFaqPhrasing).toMatchObject({
      faqId: refund.id,
      text: '钱什么时候能回来',
      status: 'ACCEPTED',
      source: 'MANUAL',
      createdById: admin.id,
    });
    const [best] = await search(query);
    expect(best.faq.id).toBe(refund.id);
    const listed = (await app.data(FaqWithPhrasingsDocument, {}, customer.token)).faqs.nodes.find((f) => f.id === refund.id)!;
    expect(listed.phrasings.map((p) => p.text)).toEqual(['钱什么时候能回来']);
  });

  it('edits and removals apply to search at once, and every change is audited', async () => {
    // An FAQ of its own: the audit trail and the search below count only this test's changes.
    const deptFaq = await publish(manager, { question: '门票能快递到家吗？', answer: '可以，下单时填写收货地址。', category: '配送' });
    const added = (await add(manager, deptFaq.id, '票能寄到单位吗')).data!.addFaqPhrasing;
    expect((await search('寄到单位')).map((h) => h.faq.id)).toContain(deptFaq.id);
    const updated = (await app.data(UpdateFaqPhrasingDocument, { id: added.id, text: '能邮寄到上班的地方吗' }, manager.token))
      .updateFaqPhrasing;
    expect(updated.text).toBe('能邮寄到上班的地方吗');
    expect((await search('上班的地方')).map((h) => h.faq.id)[0]).toBe(deptFaq.id);
    expect((await app.data(RemoveFaqPhrasingDocument, { id: added.id }, manager.token)).removeFaqPhrasing).toBe(added.id);
    expect((await search('上班的地方')).map((h) => h.faq.id)).not.toContain(deptFaq.id);
    const actions = (
      await em().find(AuditEntry, { targetId: deptFaq.id, action: { $like: 'faq.phrasing%' } }, { orderBy: { createdAt: 'asc' } })
    ).map((a) => a.action);
    expect(actions).toEqual(['faq.phrasing_add', 'faq.phrasing_update', 'faq.phrasing_remove']);
  });

  it('bad phrasings are BAD_USER_INPUT naming text, and nothing is written', async () => {
    const before = await phrasingRows(invoice.id);
    expect(fieldsOf(await add(admin, invoice.id, '长'.repeat(201)))).toEqual(['text']);
    expect(fieldsOf(await add(admin, invoice.id, '   '))).toEqual(['text']);
    expect(fieldsOf(await add(admin, invoice.id, '？！😀'))).toEqual(['text']);
    // Identical to another FAQ's question (ignoring case, width, punctuation spacing and traditional characters).
    const same = await add(admin, invoice.id, '退票后多久能到账？');
    expect(codeOf(same)).toBe('BAD_USER_INPUT');
    expect(same.errors![0].message).toMatch(/another FAQ/);
    expect(codeOf(await add(admin, invoice.id, '退票後多久能到賬？'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await add(admin, invoice.id, '电子发票怎么开？'))).toBe('BAD_USER_INPUT');
    expect(await phrasingRows(invoice.id)).toEqual(before);
    // The same phrasing twice on one FAQ: CONFLICT.
    expect((await add(admin, invoice.id, '怎么要发票')).errors).toBeUndefined();
    expect(codeOf(await add(admin, invoice.id, '怎么要发票'))).toBe('CONFLICT');
  });

  it('punctuation aside, a phrasing may not repeat another FAQ’s question or phrasing, nor one of its own FAQ’s; suggestions merge', async () => {
    const scope = { scope: 'PUBLIC' as CreateFaqInput['scope'] };
    const parking = await publish(admin, { question: '场馆附近有停车场吗？', answer: '有，B2 层。', category: '其他', ...scope });
    const subtitles = await publish(admin, { question: '演出现场有字幕吗？', answer: '部分场次有。', category: '入场观演', ...scope });
    const before = [await phrasingRows(parking.id), await phrasingRows(subtitles.id)];
    for (const text of ['场馆附近有停车场吗', '场馆附近有停车场吗！！', '“场馆附近有停车场吗”']) {
      const res = await add(admin, subtitles.id, text);
      expect([codeOf(res), fieldsOf(res)]).toEqual(['BAD_USER_INPUT', ['text']]);
      expect(res.errors![0].message).toMatch(/another FAQ’s question/);
    }
    expect((await add(admin, parking.id, '车停哪儿')).errors).toBeUndefined();
    for (const text of ['车停哪儿', '车停哪儿？']) {
      const res = await add(admin, subtitles.id, text);
      expect([codeOf(res), fieldsOf(res)]).toEqual(['BAD_USER_INPUT', ['text']]);
      expect(res.errors![0].message).toMatch(/already a phrasing of another FAQ/);
    }
    expect(codeOf(await add(admin, parking.id, '车停哪儿？！'))).toBe('CONFLICT');
    expect(await phrasingRows(subtitles.id)).toEqual(before[1]);
    expect(await phrasingRows(parking.id)).toEqual([...before[0], { text: '车停哪儿', status: 'ACCEPTED' }]);

    // A customer's question learnt twice, once with a question mark: one suggestion, seen twice.
    for (const question of ['停车场收费吗？', '停车场收费吗']) {
      await suggestPhrasing(em(), app.services.faqs.analyzer, parking.id, question, FaqPhrasingSource.AUTO_ANSWER_HELPFUL);
    }
    const suggestions = (await app.data(FaqPhrasingSuggestionsDocument, { faqId: parking.id }, admin.token)).faqPhrasingSuggestions;
    expect(suggestions.map((x) => [x.text, x.timesSeen])).toEqual([['停车场收费吗？', 2]]);
  });

  it('refuses everyone but the FAQ’s keepers: agents, customers, another department’s manager, a manager on a public FAQ', async () => {
    const other = (await add(manager, deptFaq.id, '寄到公司要多久')).data!.addFaqPhrasing;
    for (const who of [agent, customer, otherManager]) {
      expect(codeOf(await add(who, deptFaq.id, '可以寄公司吗'))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(UpdateFaqPhrasingDocument, { id: other.id, text: '换个说法' }, who.token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(RemoveFaqPhrasingDocument, { id: other.id }, who.token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(AcceptFaqPhrasingDocument, { id: other.id }, who.token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(RejectFaqPhrasingDocument, { id: other.id }, who.token))).toBe('FORBIDDEN');
    }
    expect(codeOf(await add(manager, refund.id, '退款到了吗'))).toBe('FORBIDDEN');
    for (const who of [agent, customer]) {
      expect(codeOf(await app.exec(FaqPhrasingSuggestionsDocument, {}, who.token))).toBe('FORBIDDEN');
      expect(codeOf(await app.exec(UnansweredQuestionsDocument, { from: today(), to: today() }, who.token))).toBe('FORBIDDEN');
    }
    expect(
      codeOf(await app.exec(SendFaqDocument, { conversationId: refund.id, faqId: refund.id, clientMessageId: 'x' }, customer.token)),
    ).toBe('FORBIDDEN');
    expect(
      codeOf(await app.exec(AddFaqPhrasingDocument, { faqId: '00000000-0000-4000-8000-000000000000', text: '随便' }, admin.token)),
    ).toBe('NOT_FOUND');
  });

  it('an agent answering with an FAQ in a conversation that ends well (rated 4+) suggests the customer’s question; a keeper accepts it once', async () => {
    await app.data(HeartbeatDocument, {}, agent.token);
    const who = await app.createUser({ role: 'CUSTOMER' });
    const question = '我的发票在哪里申请呀';
    const conversation = (await app.data(RequestServiceDocument, { input: { topic: '发票', message: question } }, who.token)).requestService
      .conversation!;
    expect(conversation.agentId).toBe(agent.id);
    const sent = (
      await app.data(SendFaqDocument, { conversationId: conversation.id, faqId: invoice.id, clientMessageId: 'faq-1' }, agent.token)
    ).sendFaq;
    expect(sent).toMatchObject({ content: '在订单详情页申请电子发票。', senderId: agent.id, senderRole: 'AGENT' });
    await app.data(EndConversationDocument, { id: conversation.id }, who.token);
    // Not settled before the customer rated (or an hour passed).
    await app.services.faqLearning.settleAnswers();
    expect((await app.data(FaqPhrasingSuggestionsDocument, { faqId: invoice.id }, admin.token)).faqPhrasingSuggestions).toEqual([]);
    await app.data(RateConversationDocument, { id: conversation.id, score: 5 }, who.token);
    expect(await app.services.faqLearning.settleAnswers()).toBe(1);
    expect(await app.services.faqLearning.settleAnswers()).toBe(0);
    const [suggestion] = (await app.data(FaqPhrasingSuggestionsDocument, { faqId: invoice.id }, admin.token)).faqPhrasingSuggestions;
    expect(suggestion).toMatchObject({ text: question, status: 'SUGGESTED', source: 'AGENT_ANSWER', faq: { id: invoice.id } });

    // Accepting twice at once: one wins, the other is CONFLICT; the phrasing is searched from then on.
    const results = await Promise.all(
      [admin, admin, admin].map((a) => app.exec(AcceptFaqPhrasingDocument, { id: suggestion.id }, a.token)),
    );
    expect(results.filter((r) => !r.errors).length).toBe(1);
    expect(results.filter((r) => codeOf(r) === 'CONFLICT').length).toBe(2);
    expect(codeOf(await app.exec(RejectFaqPhrasingDocument, { id: suggestion.id }, admin.token))).toBe('CONFLICT');
    expect((await phrasingRows(invoice.id)).filter((r) => r.text === question)).toEqual([{ text: question, status: 'ACCEPTED' }]);
    expect((await search('发票在哪里申请呀'))[0].faq.id).toBe(invoice.id);
  });

  it('a conversation that ends badly (rated 2) suggests nothing; a rejected suggestion is not suggested again', async () => {
    await app.data(HeartbeatDocument, {}, agent.token);
    const who = await app.createUser({ role: 'CUSTOMER' });
    const conversation = (await app.data(RequestServiceDocument, { input: { topic: '退款', message: '钱怎么还没退回来' } }, who.token))
      .requestService.conversation!;
    expect(conversation.agentId).toBe(agent.id);
    await app.data(SendFaqDocument, { conversationId: conversation.id, faqId: refund.id, clientMessageId: 'faq-2' }, agent.token);
    await app.data(EndConversationDocument, { id: conversation.id }, agent.token);
    await app.data(RateConversationDocument, { id: conversation.id, score: 2 }, who.token);
    await app.services.faqLearning.settleAnswers();
    expect((await app.data(FaqPhrasingSuggestionsDocument, { faqId: refund.id }, admin.token)).faqPhrasingSuggestions).toEqual([]);
  });

  it('a customer marking an auto-answer helpful suggests their question; managers see only their department’s suggestions', async () => {
    const who = await app.createUser({ role: 'CUSTOMER' });
    const r = (await app.data(RequestServiceDocument, { input: { topic: '发票', message: '电子发票怎么开呢' } }, who.token)).requestService;
    expect(r.conversation).toBeTruthy();
    const done = await app.exec(AnswerHelpedDocument, { conversationId: r.conversation!.id, helped: true }, who.token);
    expect(done.errors).toBeUndefined();
    const suggestions = (await app.data(FaqPhrasingSuggestionsDocument, {}, admin.token)).faqPhrasingSuggestions;
    const mine = suggestions.find((s) => s.text === '电子发票怎么开呢')!;
    expect(mine).toMatchObject({ source: 'AUTO_ANSWER_HELPFUL', faq: { id: invoice.id } });
    expect((await app.data(FaqPhrasingSuggestionsDocument, {}, manager.token)).faqPhrasingSuggestions.map((s) => s.id)).not.toContain(
      mine.id,
    );
    const rejected = (await app.data(RejectFaqPhrasingDocument, { id: mine.id }, admin.token)).rejectFaqPhrasing;
    expect(rejected.status).toBe('REJECTED');
    expect(codeOf(await app.exec(AcceptFaqPhrasingDocument, { id: mine.id }, admin.token))).toBe('CONFLICT');
  });

  it('unansweredQuestions groups what found nothing and unhelpful auto-answers by similarity, with counts', async () => {
    // Questions that share no word and no two characters with any FAQ here: nothing plausible exists.
    for (const q of ['宠物狗能同行吗', '宠物狗能同行吗？', '宠物狗同行吗', '直播网址']) {
      expect((await app.data(SearchFaqsDocument, { query: q }, customer.token)).searchFaqs).toEqual([]);
    }
    const who = await app.createUser({ role: 'CUSTOMER' });
    const r = (await app.data(RequestServiceDocument, { input: { topic: '发票', message: '电子发票怎么开啊' } }, who.token)).requestService;
    await app.data(AnswerHelpedDocument, { conversationId: r.conversation!.id, helped: false }, who.token);
    const report = (await app.data(UnansweredQuestionsDocument, { from: today(), to: today() }, manager.token)).unansweredQuestions;
    const pets = report.find((c) => c.examples.some((e) => e.includes('宠物')))!;
    expect(pets.count).toBe(3);
    // Two wordings (one asked twice, with and without the question mark), one group.
    expect(pets.examples).toHaveLength(2);
    expect(pets.examples).toContain('宠物狗同行吗');
    expect(pets.noResultCount).toBe(pets.count);
    expect(report[0].count).toBeGreaterThanOrEqual(pets.count);
    expect(report.find((c) => c.question === '电子发票怎么开啊')).toMatchObject({ notHelpfulCount: 1 });
    const bad = await app.exec(UnansweredQuestionsDocument, { from: today(), to: '2020-01-01' }, admin.token);
    expect(fieldsOf(bad)).toEqual(['to']);
    expect(fieldsOf(await app.exec(UnansweredQuestionsDocument, { from: '2026-02-30', to: today() }, admin.token))).toEqual(['from']);
  });

  it('a search of only punctuation or emoji is BAD_USER_INPUT naming query, and logs nothing', async () => {
    const before = await em().execute<Array<{ n: string }>>(`SELECT count(*) AS n FROM faq_unanswered`);
    for (const query of ['？？？', '!!!...', '😀😀', '👍 ！']) {
      const res = await app.exec(SearchFaqsDocument, { query }, customer.token);
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(res)).toEqual(['query']);
    }
    expect(await em().execute(`SELECT count(*) AS n FROM faq_unanswered`)).toEqual(before);
  });
});
