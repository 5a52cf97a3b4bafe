import {
  ConversationSentimentDocument,
  HeartbeatDocument,
  OnQualityViolationRaisedDocument,
  OnQualityViolationRaisedSubscription,
  QualityRulesDocument,
  QualityViolationsDocument,
  RequestServiceDocument,
  SendMessageDocument,
} from '../generated/graphql';
import { startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

type Person = { id: string; token: string };
type Alert = OnQualityViolationRaisedSubscription['qualityViolationRaised'];

describe('quality inspection of messages', () => {
  let app: TestApp;
  let live: ReturnType<typeof watchSubscriptions>;
  let admin: string;
  let dept: { id: string };
  let other: { id: string };
  let agent: Person;
  let manager: Person;
  let otherManager: Person;

  const send = async (who: Person, conversationId: string, content: string) =>
    (await app.data(SendMessageDocument, { input: { conversationId, content, clientMessageId: `${Math.random()}` } }, who.token))
      .sendMessage;

  const newConversation = async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const res = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好，我想问一下订单' } }, customer.token))
      .requestService;
    expect(res.conversation?.agentId).toBe(agent.id);
    return { customer, id: res.conversation!.id };
  };

  const metric = async (line: RegExp) => {
    const text = await (await fetch(app.url.replace('/graphql', '/metrics'))).text();
    const m = text.split('\n').find((l) => line.test(l));
    return m ? Number(m.split(' ').pop()) : 0;
  };

  /** Alerts that arrive within `ms`, for counting. */
  const collect = async (sub: ReturnType<typeof subscribe<OnQualityViolationRaisedSubscription, unknown>>, ms: number) => {
    const out: Alert[] = [];
    const end = Date.now() + ms;
    for (;;) {
      try {
        const e = await sub.next(Math.max(1, end - Date.now()));
        if (e.errors) throw new Error(JSON.stringify(e.errors));
        out.push(e.data!.qualityViolationRaised);
      } catch {
        return out;
      }
    }
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '1000' } });
    live = watchSubscriptions(app.services.pubsub);
    admin = await app.adminToken();
    dept = await app.createDepartment('订单问题', 'order');
    other = await app.createDepartment('售前咨询', 'sales');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 50 });
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    await app.data(HeartbeatDocument, {}, agent.token);
  });
  afterAll(() => app.stop());

  it('stores a violation with the message, pushes it to the department’s supervisors, and counts it', async () => {
    const { id } = await newConversation();
    const registered = live.fromNow();
    const watch = subscribe(app.ws(manager.token), OnQualityViolationRaisedDocument, {});
    const elsewhere = subscribe(app.ws(otherManager.token), OnQualityViolationRaisedDocument, {});
    const everyone = subscribe(app.ws(admin), OnQualityViolationRaisedDocument, {});
    await registered.until(3);
    const before = await metric(/^shiftdesk_quality_violations_total\{rule="FORBIDDEN_PROMISE"\}/);

    const m = await send(agent, id, '放心，保证退款，一定能抢到下一场！');
    const alert = (await watch.next()).data!.qualityViolationRaised;
    expect(alert).toMatchObject({
      kind: 'RULE_VIOLATION',
      conversationId: id,
      messageId: m.id,
      agentId: agent.id,
      departmentId: dept.id,
      rule: 'FORBIDDEN_PROMISE',
      ruleLabel: '违规承诺',
    });
    expect(alert.matched).toMatch(/保证退款|一定能抢到/);
    expect((await everyone.next()).data!.qualityViolationRaised.messageId).toBe(m.id);

    const stored = (await app.data(QualityViolationsDocument, { filter: { conversationId: id } }, manager.token)).qualityViolations.nodes;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      messageId: m.id,
      conversationId: id,
      agentId: agent.id,
      departmentId: dept.id,
      rule: 'FORBIDDEN_PROMISE',
      agent: { id: agent.id },
    });
    expect(await metric(/^shiftdesk_quality_violations_total\{rule="FORBIDDEN_PROMISE"\}/)).toBe(before + 1);
    expect(await collect(elsewhere, 500)).toEqual([]);
  });

  it('stores one row per rule a message breaks, and nothing for a clean message or a customer’s words', async () => {
    const { id, customer } = await newConversation();
    const rude = await send(agent, id, '烦不烦，把登录密码告诉我');
    await send(agent, id, '您好，请不要向任何人透露您的密码');
    await send(customer, id, '你是不是傻，保证退款');
    await app.services.quality.inspection.idle();
    const stored = (await app.data(QualityViolationsDocument, { filter: { conversationId: id } }, admin)).qualityViolations.nodes;
    expect(stored.map((v) => [v.messageId, v.rule]).sort()).toEqual([
      [rude.id, 'ASK_PASSWORD'],
      [rude.id, 'RUDENESS'],
    ]);
  });

  it('checks every message of a burst once: the count equals the messages sent', async () => {
    const { id } = await newConversation();
    await Promise.all(Array.from({ length: 20 }, (_, i) => send(agent, id, `第${i}条：这个保证退款`)));
    await app.services.quality.inspection.idle();
    const page = (await app.data(QualityViolationsDocument, { filter: { conversationId: id }, first: 100 }, admin)).qualityViolations;
    expect(page.nodes).toHaveLength(20);
    expect(new Set(page.nodes.map((v) => v.messageId)).size).toBe(20);
  });

  it('flags a conversation once when the customer turns strongly negative, and tracks the sentiment message by message', async () => {
    const { id, customer } = await newConversation();
    const registered = live.fromNow();
    const watch = subscribe(app.ws(manager.token), OnQualityViolationRaisedDocument, { departmentId: dept.id });
    await registered.until(1);
    await send(customer, id, '谢谢，服务很好');
    const angry = await send(customer, id, '太差劲了！！骗子，我要投诉你们！');
    await send(customer, id, '垃圾平台，非常失望！！！');
    const alerts = await collect(watch, 1500);
    expect(alerts.filter((a) => a.conversationId === id)).toEqual([
      expect.objectContaining({
        kind: 'NEGATIVE_SENTIMENT',
        conversationId: id,
        messageId: angry.id,
        agentId: agent.id,
        departmentId: dept.id,
        rule: null,
      }),
    ]);
    expect(alerts[0].intensity).toBeGreaterThanOrEqual(0.7);

    const s = (await app.data(ConversationSentimentDocument, { conversationId: id }, manager.token)).conversationSentiment;
    expect(s.flagged).toBe(true);
    // The request's first message, then the three above.
    expect(s.points.map((p) => p.sentiment)).toEqual(['NEUTRAL', 'POSITIVE', 'NEGATIVE', 'NEGATIVE']);
    expect(s.points.find((p) => p.messageId === angry.id)).toMatchObject({ sentiment: 'NEGATIVE', stronglyNegative: true });
    expect(await metric(/^shiftdesk_quality_negative_conversations_total /)).toBeGreaterThanOrEqual(1);
  });

  it('does not flag a calm conversation', async () => {
    const { id, customer } = await newConversation();
    await send(customer, id, '好的，谢谢您');
    await app.services.quality.inspection.idle();
    const s = (await app.data(ConversationSentimentDocument, { conversationId: id }, admin)).conversationSentiment;
    expect(s).toMatchObject({ flagged: false, flaggedAt: null });
  });

  it('shows agents nothing of quality: lists, sentiment, rules and the live feed are FORBIDDEN', async () => {
    const { id } = await newConversation();
    for (const [doc, vars] of [
      [QualityViolationsDocument, {}],
      [QualityViolationsDocument, { filter: { agentId: agent.id } }],
      [ConversationSentimentDocument, { conversationId: id }],
      [QualityRulesDocument, {}],
    ] as const) {
      const res = await app.exec(doc as never, vars as never, agent.token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    const customer = await app.createUser({ role: 'CUSTOMER' });
    expect((await app.exec(QualityViolationsDocument, {}, customer.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.exec(QualityViolationsDocument, {}, null)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const feed = subscribe(app.ws(agent.token), OnQualityViolationRaisedDocument, {});
    const first = await feed.next();
    expect(first.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('keeps managers to their own department', async () => {
    const { id } = await newConversation();
    expect(
      (await app.exec(QualityViolationsDocument, { filter: { departmentId: dept.id } }, otherManager.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect((await app.exec(ConversationSentimentDocument, { conversationId: id }, otherManager.token)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    const own = (await app.data(QualityViolationsDocument, {}, otherManager.token)).qualityViolations.nodes;
    expect(own).toEqual([]);
    const feed = subscribe(app.ws(otherManager.token), OnQualityViolationRaisedDocument, { departmentId: dept.id });
    expect((await feed.next()).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.exec(ConversationSentimentDocument, { conversationId: 'nope' }, admin)).errors?.[0].extensions?.code).toBe(
      'NOT_FOUND',
    );
  });
});
