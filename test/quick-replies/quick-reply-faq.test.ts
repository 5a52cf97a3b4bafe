import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import { QuickReply } from '../../src/modules/quick-replies/quick-reply.entity';
import {
  ArchiveFaqDocument,
  CreateFaqDocument,
  CreateQuickReplyDocument,
  EndConversationDocument,
  FaqPhrasingSuggestionsDocument,
  HeartbeatDocument,
  PublishFaqDocument,
  QuickRepliesDocument,
  RateConversationDocument,
  RequestServiceDocument,
  SendQuickReplyDocument,
  UpdateQuickReplyDocument,
} from '../generated/graphql';
import type { CreateFaqInput, CreateQuickReplyInput } from '../generated/graphql';
import { GqlResult, startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };
const codeOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.code;
const fieldsOf = (res: GqlResult<unknown>) => (res.errors?.[0]?.extensions?.fields ?? []).map((f: { field: string }) => f.field);

/** Issue 15, item 3: a quick reply linked to an FAQ teaches the knowledge base as sending the FAQ does. */
describe('quick replies linked to an FAQ', () => {
  let app: TestApp;
  let admin: Person;
  let manager: Person;
  let agent: Person;
  let refund: { id: string; question: string };
  let otherDraft: { id: string };

  const em = (): EntityManager => app.services.orm.em.fork() as EntityManager;
  const faqAnswers = (faqId: string) =>
    em().execute<Array<{ conversation_id: string; question: string }>>(
      `SELECT conversation_id, question FROM faq_answers_sent WHERE faq_id = ? ORDER BY sent_at`,
      [faqId],
    );
  const createFaq = async (who: Person, input: Partial<CreateFaqInput>) =>
    (
      await app.data(
        CreateFaqDocument,
        { input: { question: '问题', answer: '回答', category: '其他', ...input } as CreateFaqInput },
        who.token,
      )
    ).createFaq;
  const publishedFaq = async (who: Person, input: Partial<CreateFaqInput>) =>
    (await app.data(PublishFaqDocument, { id: (await createFaq(who, input)).id }, who.token)).publishFaq;
  const createReply = (who: Person, input: Partial<CreateQuickReplyInput>) =>
    app.exec(
      CreateQuickReplyDocument,
      { input: { title: '退款说明', content: '{customerName}您好，退款 1–3 个工作日到账。', ...input } as CreateQuickReplyInput },
      who.token,
    );
  /** A customer asks `question`; the only online agent (ours) takes it. */
  const conversationAbout = async (question: string) => {
    await app.data(HeartbeatDocument, {}, agent.token);
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const asked = (await app.data(RequestServiceDocument, { input: { topic: '退款', message: question } }, customer.token)).requestService;
    expect(asked.conversation?.agentId).toBe(agent.id);
    return { id: asked.conversation!.id, customer };
  };
  const sendReply = (conversationId: string, quickReplyId: string, clientMessageId: string) =>
    app.data(SendQuickReplyDocument, { conversationId, quickReplyId, clientMessageId }, agent.token);

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', AUTO_ANSWER_THRESHOLD: '0.99' } });
    const token = await app.adminToken();
    admin = { id: (await app.data<{ me: { id: string } }, unknown>('{ me { id } }', {}, token)).me.id, token };
    const dept = await app.createDepartment('售后服务', 'after_sales');
    const other = await app.createDepartment('会员服务', 'membership');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 20 });
    refund = await publishedFaq(admin, {
      question: '退票后多久能到账？',
      answer: '退款 1–3 个工作日原路退回。',
      category: '退票退款',
      scope: 'PUBLIC' as CreateFaqInput['scope'],
    });
    // A draft of another department: its keepers (admins, that department's manager) read it, our manager does not.
    otherDraft = await createFaq(admin, {
      question: '会员积分怎么用？',
      scope: 'DEPARTMENT' as CreateFaqInput['scope'],
      departmentId: other.id,
    });
  });
  afterAll(() => app.stop());

  it('links a reply to an FAQ when created, shows the FAQ in lists, and unlinks it with faqId: null', async () => {
    const created = (await createReply(manager, { scope: 'DEPARTMENT' as CreateQuickReplyInput['scope'], faqId: refund.id })).data!
      .createQuickReply;
    expect(created.faqId).toBe(refund.id);
    // The FAQ in the same request that linked it.
    const withFaq = await app.data<{ createQuickReply: { faq: { question: string } | null } }, unknown>(
      'mutation ($input: CreateQuickReplyInput!) { createQuickReply(input: $input) { faq { question answer } } }',
      { input: { title: '退款时效说明', content: '退款 1–3 个工作日到账。', faqId: refund.id } },
      agent.token,
    );
    expect(withFaq.createQuickReply.faq).toMatchObject({ question: refund.question });
    const listed = (await app.data(QuickRepliesDocument, {}, agent.token)).quickReplies.find((r) => r.id === created.id)!;
    expect(listed).toMatchObject({ faqId: refund.id, faq: { id: refund.id, question: refund.question } });

    // Another update leaves the link alone; null removes it; a new id sets it again.
    const renamed = (await app.data(UpdateQuickReplyDocument, { id: created.id, input: { title: '退款时效' } }, manager.token))
      .updateQuickReply;
    expect(renamed.faqId).toBe(refund.id);
    const unlinked = (await app.data(UpdateQuickReplyDocument, { id: created.id, input: { faqId: null } }, manager.token)).updateQuickReply;
    expect(unlinked.faqId).toBeNull();
    const relinked = (await app.data(UpdateQuickReplyDocument, { id: created.id, input: { faqId: refund.id } }, manager.token))
      .updateQuickReply;
    expect(relinked.faqId).toBe(refund.id);
    const audited = await em().find(AuditEntry, { targetType: 'QuickReply', targetId: created.id }, { orderBy: { createdAt: 'asc' } });
    expect(audited.map((a) => a.action)).toEqual(['quickReply.create', 'quickReply.update', 'quickReply.update', 'quickReply.update']);
    expect(audited.at(-1)!.summary).toContain('faqId');
  });

  it('refuses an FAQ the caller cannot read (unknown, not an id, another department’s draft) as BAD_USER_INPUT on faqId, writing nothing', async () => {
    const kept = (await createReply(agent, { title: '我的退款说明' })).data!.createQuickReply;
    const replies = await em().count(QuickReply, {});
    const audits = await em().count(AuditEntry, { targetType: 'QuickReply' });
    for (const faqId of ['00000000-0000-4000-8000-000000000000', 'not-an-id', otherDraft.id]) {
      const created = await createReply(manager, { title: `坏的 ${faqId}`, faqId });
      expect([codeOf(created), fieldsOf(created)]).toEqual(['BAD_USER_INPUT', ['faqId']]);
      const updated = await app.exec(UpdateQuickReplyDocument, { id: kept.id, input: { title: '改了', faqId } }, agent.token);
      expect([codeOf(updated), fieldsOf(updated)]).toEqual(['BAD_USER_INPUT', ['faqId']]);
    }
    expect(await em().count(QuickReply, {})).toBe(replies);
    expect(await em().count(AuditEntry, { targetType: 'QuickReply' })).toBe(audits);
    expect(await em().findOneOrFail(QuickReply, { id: kept.id })).toMatchObject({ title: '我的退款说明', faqId: null });
    // The draft's keeper may link it.
    expect(
      (await createReply(admin, { scope: 'PUBLIC' as CreateQuickReplyInput['scope'], title: '积分', faqId: otherDraft.id })).errors,
    ).toBeUndefined();
  });

  it('a linked reply sent in a conversation that ends well suggests the customer’s question as a phrasing of the FAQ', async () => {
    const reply = (await createReply(agent, { title: '退款到账', faqId: refund.id })).data!.createQuickReply;
    const plain = (await createReply(agent, { title: '稍等', content: '请稍等，我查一下。' })).data!.createQuickReply;
    const question = '退的钱啥时候回到卡里';
    const conversation = await conversationAbout(question);
    await sendReply(conversation.id, plain.id, 'plain-1');
    expect(await faqAnswers(refund.id)).toEqual([]);
    // Sent twice (a retry and a second send): one pairing.
    await sendReply(conversation.id, reply.id, 'linked-1');
    await sendReply(conversation.id, reply.id, 'linked-1');
    await sendReply(conversation.id, reply.id, 'linked-2');
    expect(await faqAnswers(refund.id)).toEqual([{ conversation_id: conversation.id, question }]);

    await app.data(EndConversationDocument, { id: conversation.id }, conversation.customer.token);
    await app.data(RateConversationDocument, { id: conversation.id, score: 5 }, conversation.customer.token);
    expect(await app.services.faqLearning.settleAnswers()).toBe(1);
    const suggestions = (await app.data(FaqPhrasingSuggestionsDocument, { faqId: refund.id }, admin.token)).faqPhrasingSuggestions;
    expect(suggestions.map((s) => [s.text, s.source])).toEqual([[question, 'AGENT_ANSWER']]);
  });

  it('a reply linked to an FAQ archived since is still sent, and teaches nothing', async () => {
    const faq = await publishedFaq(admin, {
      question: '演出取消怎么退？',
      answer: '演出取消全额退款。',
      category: '退票退款',
      scope: 'PUBLIC' as CreateFaqInput['scope'],
    });
    const reply = (await createReply(agent, { title: '取消退款', faqId: faq.id })).data!.createQuickReply;
    await app.data(ArchiveFaqDocument, { id: faq.id }, admin.token);
    const conversation = await conversationAbout('演出没了钱怎么办');
    const sent = (await sendReply(conversation.id, reply.id, 'archived-1')).sendQuickReply;
    expect(sent.content).toMatch(/退款 1–3 个工作日到账。$/);
    expect(await faqAnswers(faq.id)).toEqual([]);
  });
});
