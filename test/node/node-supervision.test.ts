import { randomUUID } from 'node:crypto';
import {
  AddFaqPhrasingDocument,
  AddForecastOverrideDocument,
  CommentOnTicketDocument,
  CreateApiKeyDocument,
  CreateFaqDocument,
  CreateTicketDocument,
  LinkChannelIdentityDocument,
  NodeByIdDocument,
  NodesByIdsDocument,
  PublishFaqDocument,
  RequestLeaveDocument,
} from '../generated/graphql';
import { seedConversation, sqlOf } from '../records/records-helpers';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a5e10000000049454e44ae426082',
  'hex',
);

/**
 * node(id) for the types with their own list rules: alerts, API keys, webhooks, channel identities, forecast
 * overrides, quality findings, FAQ phrasings and uploads. Each role that may see one gets it, every other gets null.
 */
describe('node(id) for supervision, integration, knowledge and upload types', () => {
  let app: TestApp;
  let sql: ReturnType<typeof sqlOf>;
  let admin: string;
  let deptA: string;
  let managerA: Person;
  let managerB: Person;
  let agentA: Person;
  let agentB: Person;
  let customer: Person;
  let everyone: () => Record<string, string>;

  beforeAll(async () => {
    app = await startTestApp();
    sql = sqlOf(app);
    admin = await app.adminToken();
    deptA = (await app.createDepartment('Sales', `sales_${randomUUID().slice(0, 6)}`)).id;
    const deptB = (await app.createDepartment('Support', `support_${randomUUID().slice(0, 6)}`)).id;
    managerA = await app.createUser({ role: 'MANAGER', departmentId: deptA });
    managerB = await app.createUser({ role: 'MANAGER', departmentId: deptB });
    agentA = await app.createUser({ role: 'AGENT', departmentId: deptA });
    agentB = await app.createUser({ role: 'AGENT', departmentId: deptB });
    customer = await app.createUser({ role: 'CUSTOMER' });
    everyone = () => ({
      admin,
      managerA: managerA.token,
      managerB: managerB.token,
      agentA: agentA.token,
      agentB: agentB.token,
      customer: customer.token,
    });
  });
  afterAll(() => app.stop());

  /** Who of everyone gets the object (by __typename and id); all the others must get null. */
  const seenBy = async (id: string): Promise<string[]> => {
    const who: string[] = [];
    for (const [name, token] of Object.entries(everyone())) {
      const res = await app.exec(NodeByIdDocument, { id }, token);
      expect(res.errors).toBeUndefined();
      const node = res.data!.node;
      if (node) {
        expect(node.id).toBe(id);
        who.push(`${name}:${node.__typename}`);
      }
    }
    return who;
  };

  const insertAlert = async (departmentId: string | null): Promise<string> => {
    const id = randomUUID();
    await sql(
      `INSERT INTO alerts (id, rule, metric, department_id, severity, summary, threshold, value) VALUES (?, ?, 'queue_length', ?, 'warning', 'Long queue', 10, 12)`,
      [id, `queue-long-${id}`, departmentId],
    );
    return id;
  };

  it('shows an alert and its deliveries to its department’s managers and admins; a cluster-wide alert to admins only', async () => {
    const alert = await insertAlert(deptA);
    const delivery = randomUUID();
    await sql(
      `INSERT INTO alert_deliveries (id, alert_id, webhook, kind, attempt, outcome) VALUES (?, ?, 'ops', 'generic', 1, 'DELIVERED')`,
      [delivery, alert],
    );
    expect(await seenBy(alert)).toEqual(['admin:Alert', 'managerA:Alert']);
    expect(await seenBy(delivery)).toEqual(['admin:AlertDelivery', 'managerA:AlertDelivery']);
    expect(await seenBy(await insertAlert(null))).toEqual(['admin:Alert']);
  });

  it('shows an API key as apiKeys lists it: its department’s managers and admins; a key of no department to admins only', async () => {
    const input = { name: 'Bridge', scopes: ['TICKETS_READ'] as never };
    const own = (await app.data(CreateApiKeyDocument, { input }, managerA.token)).createApiKey.apiKey.id;
    expect(await seenBy(own)).toEqual(['admin:ApiKey', 'managerA:ApiKey']);
    const global = (await app.data(CreateApiKeyDocument, { input }, admin)).createApiKey.apiKey.id;
    expect(await seenBy(global)).toEqual(['admin:ApiKey']);
    // the secret is no field of ApiKey, so node() cannot show it
    const res = await app.exec(`query($id: ID!) { node(id: $id) { ... on ApiKey { secretHash } } }`, { id: own }, admin);
    expect(res.errors?.[0].message).toContain('secretHash');
    expect(res.data).toBeUndefined();
  });

  it('shows a webhook and its deliveries to whoever manages the webhook', async () => {
    const hook = randomUUID();
    const everywhere = randomUUID();
    for (const [id, departmentId] of [
      [hook, deptA],
      [everywhere, null],
    ]) {
      await sql(
        `INSERT INTO webhooks (id, url, events, department_id, secret_sealed, enabled) VALUES (?, 'https://hooks.example.com/in', '{ticket.created}', ?, '\\x00', false)`,
        [id, departmentId],
      );
    }
    const [event] = await sql<{ id: string }>(
      `INSERT INTO webhook_events (type, object_type, object_id, lane_id, snapshot, dispatched_at)
       VALUES ('ticket.created', 'Ticket', gen_random_uuid(), gen_random_uuid(), '{}', now()) RETURNING id`,
    );
    const [delivery] = await sql<{ id: string }>(
      `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, lane_id, status) VALUES (?, ?, 'ticket.created', gen_random_uuid(), 'FAILED') RETURNING id`,
      [hook, event.id],
    );
    expect(await seenBy(hook)).toEqual(['admin:Webhook', 'managerA:Webhook']);
    expect(await seenBy(delivery.id)).toEqual(['admin:WebhookDelivery', 'managerA:WebhookDelivery']);
    expect(await seenBy(everywhere)).toEqual(['admin:Webhook']);
  });

  it('shows a channel identity to those who may link it (admins, managers), not to agents or the customer', async () => {
    const linked = await app.data(
      LinkChannelIdentityDocument,
      { input: { channel: 'wechat', externalCustomerId: `openid-${randomUUID()}`, customerId: customer.id } },
      admin,
    );
    const id = linked.linkChannelIdentity.id;
    expect(await seenBy(id)).toEqual(['admin:ChannelIdentity', 'managerA:ChannelIdentity', 'managerB:ChannelIdentity']);
  });

  it('shows a forecast override to its department’s planners', async () => {
    const added = await app.data(
      AddForecastOverrideDocument,
      { departmentId: deptA, from: '2031-11-11T00:00:00Z', to: '2031-11-12T00:00:00Z', factor: 3, reason: '双十一' },
      managerA.token,
    );
    expect(await seenBy(added.addForecastOverride.id)).toEqual(['admin:ForecastOverride', 'managerA:ForecastOverride']);
  });

  it('shows quality violations and reviews to the department’s managers and admins, not to the agent concerned', async () => {
    const conversation = await seedConversation(app, {
      customerId: customer.id,
      agentId: agentA.id,
      departmentId: deptA,
      messages: [{ content: '你好' }, { content: '自己查', role: 'AGENT' }],
    });
    const [message] = await sql<{ id: string }>(`SELECT id FROM messages WHERE conversation_id = ? AND seq = 2`, [conversation]);
    const [violation] = await sql<{ id: string }>(
      `INSERT INTO quality_violations (id, message_id, conversation_id, agent_id, department_id, rule, matched)
       VALUES (gen_random_uuid(), ?, ?, ?, ?, 'rude', '自己查') RETURNING id`,
      [message.id, conversation, agentA.id, deptA],
    );
    const [review] = await sql<{ id: string }>(
      `INSERT INTO quality_reviews (id, conversation_id, agent_id, department_id, status) VALUES (gen_random_uuid(), ?, ?, ?, 'PENDING') RETURNING id`,
      [conversation, agentA.id, deptA],
    );
    expect(await seenBy(violation.id)).toEqual(['admin:QualityViolation', 'managerA:QualityViolation']);
    expect(await seenBy(review.id)).toEqual(['admin:QualityReview', 'managerA:QualityReview']);
  });

  it('shows an accepted FAQ phrasing to whoever reads the FAQ, a suggestion only to the FAQ’s keepers', async () => {
    const faq = (
      await app.data(
        CreateFaqDocument,
        { input: { question: '怎么开发票？', answer: '在订单页申请', category: '其他', scope: 'DEPARTMENT' } },
        managerA.token,
      )
    ).createFaq.id;
    const accepted = (await app.data(AddFaqPhrasingDocument, { faqId: faq, text: '发票怎么开' }, managerA.token)).addFaqPhrasing.id;
    const suggested = randomUUID();
    await sql(
      `INSERT INTO faq_phrasings (id, faq_id, text, match_text, status, source) VALUES (?, ?, '能开票吗', '能开票吗', 'SUGGESTED', 'AGENT_ANSWER')`,
      [suggested, faq],
    );
    const keepers = ['admin:FaqPhrasing', 'managerA:FaqPhrasing'];
    // a draft FAQ: its phrasings are its keepers' alone
    expect(await seenBy(accepted)).toEqual(keepers);
    await app.data(PublishFaqDocument, { id: faq }, managerA.token);
    expect(await seenBy(accepted)).toEqual(Object.keys(everyone()).map((name) => `${name}:FaqPhrasing`));
    expect(await seenBy(suggested)).toEqual(keepers);
  });

  it('shows an upload as GET /uploads/{id} does: its owner, admins, and the managers deciding the leave it is attached to', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'note.png');
    const res = await fetch(app.url.replace('/graphql', '/uploads'), {
      method: 'POST',
      headers: { authorization: `Bearer ${agentA.token}` },
      body: form,
    });
    expect(res.status).toBe(201);
    const upload = ((await res.json()) as { id: string }).id;
    expect(await seenBy(upload)).toEqual(['admin:Upload', 'agentA:Upload']);
    await app.data(
      RequestLeaveDocument,
      { input: { startDate: '2031-07-01', endDate: '2031-07-01', type: 'SICK', attachmentIds: [upload] } },
      agentA.token,
    );
    expect(await seenBy(upload)).toEqual(['admin:Upload', 'managerA:Upload', 'agentA:Upload']);
  });

  it('shows a message to the parties of its conversation and a ticket’s internal comment to staff only', async () => {
    const conversation = await seedConversation(app, { customerId: customer.id, agentId: agentA.id, departmentId: deptA });
    const [message] = await sql<{ id: string }>(`SELECT id FROM messages WHERE conversation_id = ?`, [conversation]);
    expect(await seenBy(message.id)).toEqual(['admin:Message', 'managerA:Message', 'agentA:Message', 'customer:Message']);

    const ticket = (await app.data(CreateTicketDocument, { input: { subject: '发票', category: '技术支持' } }, customer.token)).createTicket
      .id;
    const comment = async (internal: boolean) =>
      (await app.data(CommentOnTicketDocument, { id: ticket, body: internal ? '内部备注' : '已处理', internal }, admin)).commentOnTicket.id;
    const [open, internal] = [await comment(false), await comment(true)];
    const res = await app.data(NodesByIdsDocument, { ids: [open, internal, message.id] }, customer.token);
    expect(res.nodes).toEqual([{ __typename: 'TicketComment', id: open }, null, { __typename: 'Message', id: message.id }]);
    const staff = await app.data(NodesByIdsDocument, { ids: [open, internal] }, admin);
    expect(staff.nodes.map((n) => n?.__typename)).toEqual(['TicketComment', 'TicketComment']);
  });

  it('nodes(ids) mixes the new types, in order, with null for what the caller may not see', async () => {
    const mine = await insertAlert(deptA);
    const cluster = await insertAlert(null);
    const res = await app.data(NodesByIdsDocument, { ids: [mine, cluster, mine, randomUUID()] }, managerA.token);
    expect(res.nodes).toEqual([{ __typename: 'Alert', id: mine }, null, { __typename: 'Alert', id: mine }, null]);
  });
});
