import { createHmac } from 'node:crypto';
import {
  ApproveLeaveDocument,
  ApproveSwapDocument,
  AssignSchedulesDocument,
  CreateShiftDocument,
  CreateTicketDocument,
  CreateWebhookDocument,
  DeleteWebhookDocument,
  EndConversationDocument,
  HeartbeatDocument,
  NotificationsDocument,
  RedeliverDocument,
  RequestLeaveDocument,
  RequestServiceDocument,
  RequestSwapDocument,
  ResolveTicketDocument,
  SendMessageDocument,
  TransferConversationDocument,
  UpdateWebhookDocument,
  WebhookDeliveriesDocument,
  WebhooksDocument,
} from '../generated/graphql';
import { eventually, startTestApp, TestApp } from '../support/harness';
import { Received, startReceiver } from './webhook-receiver';

type Person = { id: string; token: string };
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** What a receiver does to check a delivery: HMAC-SHA256 over `timestamp + "." + body` (docs/integrations.md). */
function verifies(r: Received, secret: string): boolean {
  const timestamp = String(r.headers['x-shiftdesk-timestamp']);
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${r.body}`).digest('hex')}`;
  return r.headers['x-shiftdesk-signature'] === expected;
}

describe('outbound webhooks', () => {
  let app: TestApp;
  let receiver: Receiver;
  let dept: { id: string };
  let other: { id: string };
  let manager: Person;
  let otherManager: Person;
  let agent: Person;
  let customer: Person;
  /** Per path: how many of the next requests answer 500 before 200s. */
  const failFirst = new Map<string, number>();

  const create = (who: Person | string, input: { url: string; events: string[]; departmentId?: string | null }) =>
    app.exec(CreateWebhookDocument, { input }, typeof who === 'string' ? who : who.token);
  const deliveries = async (webhookId: string, token: string) =>
    (await app.data(WebhookDeliveriesDocument, { webhookId, first: 100 }, token)).webhookDeliveries.nodes;
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await app.services.orm.em.fork().execute<Array<{ n: string }>>(sql, params))[0].n);
  const newChat = async (message = '你好', topic = 'order') => {
    const c = await app.createUser({ role: 'CUSTOMER' });
    const r = (await app.data(RequestServiceDocument, { input: { topic, message } }, c.token)).requestService;
    return { customer: c, id: r.conversation!.id };
  };
  /**
   * A department of the test's own with an online agent: what happens there (its chats, its agents) reaches no
   * other test's webhook, and no other test's agent takes its customers.
   */
  const ownTeam = async () => {
    const code = `team_${Math.random().toString(36).slice(2, 10)}`;
    const team = await app.createDepartment(`团队 ${code}`, code);
    const teamManager = await app.createUser({ role: 'MANAGER', departmentId: team.id });
    const teamAgent = await app.createUser({ role: 'AGENT', departmentId: team.id, maxConcurrentChats: 50 });
    await app.data(HeartbeatDocument, {}, teamAgent.token);
    return { dept: team, manager: teamManager, agent: teamAgent, chat: (message = '你好') => newChat(message, code) };
  };
  /** A webhook of its own that has delivered one event (the given path, conversation.created of its own department). */
  const deliveredHook = async (path: string) => {
    const team = await ownTeam();
    const res = (await create(team.manager, { url: `${receiver.url}${path}`, events: ['conversation.created'] })).data!.createWebhook;
    await team.chat();
    await eventually(async () => (await deliveries(res.webhook.id, team.manager.token))[0]?.status === 'DELIVERED', 10_000, 'delivered');
    return { ...team, hook: res.webhook };
  };

  beforeAll(async () => {
    receiver = await startReceiver((path) => {
      const left = failFirst.get(path) ?? 0;
      if (left > 0) failFirst.set(path, left - 1);
      return left > 0 ? 500 : 200;
    });
    app = await startTestApp({
      env: {
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_ATTEMPTS: '4',
        WEBHOOK_RETRY_DELAY_SECONDS: '1',
        WEBHOOK_OUTBOX_POLL_MS: '200',
        JOB_POLL_SECONDS: '1',
        ROUTING_REQUIRE_SHIFT: 'false',
        RATE_SEND_MESSAGE_PER_MINUTE: '1000',
      },
    });
    dept = await app.createDepartment('订单问题', 'order');
    other = await app.createDepartment('售前咨询', 'sales');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 50 });
    await app.data(HeartbeatDocument, {}, agent.token);
    customer = await app.createUser({ role: 'CUSTOMER' });
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('writes no outbox row for a change nobody subscribes to', async () => {
    // A server of its own: a webhook any other test made, of any department, has the outbox written for its events.
    const quiet = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    try {
      const team = await quiet.createDepartment('订单问题', 'order');
      const teamAgent = await quiet.createUser({ role: 'AGENT', departmentId: team.id });
      await quiet.data(HeartbeatDocument, {}, teamAgent.token);
      const c = await quiet.createUser({ role: 'CUSTOMER' });
      const id = (await quiet.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, c.token)).requestService
        .conversation!.id;
      await quiet.data(
        SendMessageDocument,
        { input: { conversationId: id, content: '没人订阅', clientMessageId: 'quiet-1' } },
        teamAgent.token,
      );
      const [{ n }] = await quiet.services.orm.em.fork().execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM webhook_events`);
      expect(n).toBe(0);
    } finally {
      await quiet.stop();
    }
  });

  it('refuses unknown events, missing events and bad URLs with BAD_USER_INPUT, writing nothing', async () => {
    const before = await count(`SELECT count(*) AS n FROM webhooks`);
    const unknown = await create(manager, { url: `${receiver.url}/x`, events: ['conversation.created', 'conversation.exploded'] });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'events' }] });
    expect(unknown.errors?.[0].message).toContain('conversation.exploded');
    expect((await create(manager, { url: `${receiver.url}/x`, events: [] })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    for (const url of ['not a url', 'ftp://example.com/hook', 'https://user:pw@example.com/hook']) {
      const res = await create(manager, { url, events: ['ticket.created'] });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'url' }] });
    }
    expect(await count(`SELECT count(*) AS n FROM webhooks`)).toBe(before);
  });

  it('returns the secret once, and delivers signed events after the change commits', async () => {
    const res = (await create(manager, { url: `${receiver.url}/conv`, events: ['conversation.created', 'conversation.assigned'] })).data!
      .createWebhook;
    expect(res.secret).toMatch(/^whsec_/);
    expect(res.webhook).toMatchObject({ departmentId: dept.id, enabled: true, createdById: manager.id });
    const listed = (await app.data(WebhooksDocument, {}, manager.token)).webhooks;
    expect(listed.map((w) => w.id)).toContain(res.webhook.id);
    expect(JSON.stringify(listed)).not.toContain(res.secret);
    const stored = await app.services.orm.em.fork().execute(`SELECT secret_sealed::text AS s FROM webhooks WHERE id = ?`, [res.webhook.id]);
    expect(stored[0].s).not.toContain(res.secret.slice(6, 20));

    const { id } = await newChat('我的订单');
    await eventually(() => receiver.got.filter((r) => r.path === '/conv').length >= 2, 10_000, 'two deliveries');
    const got = receiver.got.filter((r) => r.path === '/conv');
    expect(got.map((r) => r.json.type)).toEqual(['conversation.created', 'conversation.assigned']);
    for (const r of got) {
      expect(verifies(r, res.secret)).toBe(true);
      expect(verifies(r, 'whsec_wrong')).toBe(false);
      expect(r.headers['x-shiftdesk-event-id']).toBe(r.json.id);
      expect(r.headers['x-shiftdesk-event']).toBe(r.json.type);
      expect(Math.abs(Number(r.headers['x-shiftdesk-timestamp']) * 1000 - Date.now())).toBeLessThan(60_000);
      expect(r.json.object).toMatchObject({ id, departmentId: dept.id });
      expect(new Date(r.json.occurredAt).toISOString()).toBe(r.json.occurredAt);
    }
    // The snapshot of each change: created while QUEUED without an agent, then assigned to the agent.
    expect(got[1].json.object).toMatchObject({ status: 'ACTIVE', agentId: agent.id });
    expect(got[0].json.id).not.toBe(got[1].json.id);
    // Another department's conversations do not reach this department's webhook.
    await eventually(async () => (await deliveries(res.webhook.id, manager.token)).every((d) => d.status === 'DELIVERED'));
    const list = await deliveries(res.webhook.id, manager.token);
    expect(list.every((d) => d.responseStatus === 200 && d.attempts === 1)).toBe(true);
    expect(list.every((d) => typeof d.durationMs === 'number')).toBe(true);
  });

  it('retries a receiver answering 500 with backoff until it accepts, with the same event id and body', async () => {
    const res = (await create(manager, { url: `${receiver.url}/flaky`, events: ['conversation.ended'] })).data!.createWebhook;
    failFirst.set('/flaky', 2);
    const { id } = await newChat();
    const end = await app.exec(EndConversationDocument, { id }, agent.token);
    expect(end.errors).toBeUndefined();
    await eventually(async () => (await deliveries(res.webhook.id, manager.token))[0]?.status === 'DELIVERED', 20_000, 'delivered');
    const [d] = await deliveries(res.webhook.id, manager.token);
    expect(d).toMatchObject({ eventType: 'conversation.ended', attempts: 3, responseStatus: 200, error: null });
    const got = receiver.got.filter((r) => r.path === '/flaky');
    expect(got.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(got.map((r) => r.json.id)).size).toBe(1);
    expect(new Set(got.map((r) => JSON.stringify(r.json))).size).toBe(1);
    expect(got[0].json.object).toMatchObject({ id, status: 'ENDED' });
    expect((await app.data(WebhooksDocument, {}, manager.token)).webhooks.find((w) => w.id === res.webhook.id)?.failingSince).toBeNull();
  });

  it('delivers the events of one conversation in order under concurrent changes, even when one waits for retries', async () => {
    const res = (await create(manager, { url: `${receiver.url}/messages`, events: ['message.created'] })).data!.createWebhook;
    const original = receiver.got.length;
    const chats = [await newChat('一'), await newChat('二')];
    // The first delivery of the burst fails once: the rest of its conversation must wait for it.
    let failed = false;
    const send = (conversationId: string, i: number) =>
      app.exec(
        SendMessageDocument,
        { input: { conversationId, content: `并发 ${i}`, clientMessageId: `burst-${conversationId}-${i}` } },
        agent.token,
      );
    failFirst.set('/messages', 1);
    const results = await Promise.all(chats.flatMap((c) => Array.from({ length: 10 }, (_, i) => send(c.id, i))));
    expect(results.every((r) => !r.errors)).toBe(true);
    const total = await count(
      `SELECT count(*) AS n FROM messages WHERE conversation_id IN (?, ?)`,
      chats.map((c) => c.id),
    );
    expect(total).toBeGreaterThanOrEqual(22);
    await eventually(
      () => receiver.got.slice(original).filter((r) => r.path === '/messages' && r.status === 200).length >= total,
      30_000,
      'every message delivered',
    );
    for (const chat of chats) {
      const accepted = receiver.got.filter((r) => r.path === '/messages' && r.status === 200 && r.json.object.conversationId === chat.id);
      const seqs = accepted.map((r) => r.json.object.seq as number);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // The customer's first message, then the burst: each once.
      expect(accepted.filter((r) => String(r.json.object.content).startsWith('并发'))).toHaveLength(10);
      expect(new Set(seqs).size).toBe(seqs.length);
      failed ||= receiver.got.some((r) => r.status === 500 && r.json.object.conversationId === chat.id);
    }
    expect(failed).toBe(true);
    // One event per change: an outbox row per message, never two.
    expect(
      await count(
        `SELECT count(*) AS n FROM webhook_events WHERE type = 'message.created' AND lane_id IN (?, ?)`,
        chats.map((c) => c.id),
      ),
    ).toBe(total);
    // The receiver answers before the attempt is recorded: the last one's row settles a moment later.
    await eventually(
      async () => (await deliveries(res.webhook.id, manager.token)).filter((d) => d.status === 'DELIVERED').length === total,
    );
  });

  it('sends ticket, leave and alert events of the department (and only those subscribed)', async () => {
    const res = (
      await create(manager, {
        url: `${receiver.url}/desk`,
        events: ['ticket.created', 'ticket.status_changed', 'ticket.sla_breached', 'leave.decided', 'alert.raised'],
      })
    ).data!.createWebhook;
    const ticket = (
      await app.data(CreateTicketDocument, { input: { category: '订单问题', subject: '没收到货', description: '订单 42' } }, customer.token)
    ).createTicket;
    // The SLA sweep marks a breach by setting its notified time (here at once, instead of waiting hours).
    await app.services.orm.em.fork().execute(`UPDATE tickets SET first_response_breach_notified_at = now() WHERE id = ?`, [ticket.id]);
    await app.data(ResolveTicketDocument, { id: ticket.id, resolution: '已补发' }, manager.token);
    const d = (
      await app.data(RequestLeaveDocument, { input: { startDate: '2031-05-06', endDate: '2031-05-06', type: 'PERSONAL' } }, agent.token)
    ).requestLeave;
    await app.data(ApproveLeaveDocument, { id: d.id }, manager.token);
    const em = app.services.orm.em.fork();
    await em.execute(
      `INSERT INTO alerts (id, rule, metric, department_id, severity, summary, threshold, value) VALUES (gen_random_uuid(), 'webhook-test', 'queue_length', ?, 'warning', 'long queue', 5, 9)`,
      [dept.id],
    );
    await em.execute(
      `INSERT INTO alerts (id, rule, metric, department_id, severity, summary, threshold, value) VALUES (gen_random_uuid(), 'webhook-test-other', 'queue_length', ?, 'warning', 'elsewhere', 5, 9)`,
      [other.id],
    );
    const got = () => receiver.got.filter((r) => r.path === '/desk');
    await eventually(() => got().length >= 5, 10_000, 'five deliveries');
    const types = got().map((r) => r.json.type);
    // Created already assigned (auto-assignment in the same transaction), breached, then resolved: in that order.
    expect(types.filter((t) => t.startsWith('ticket.'))).toEqual(['ticket.created', 'ticket.sla_breached', 'ticket.status_changed']);
    expect(types.filter((t) => !t.startsWith('ticket.')).sort()).toEqual(['alert.raised', 'leave.decided']);
    const statuses = got()
      .filter((r) => r.json.object.id === ticket.id)
      .map((r) => r.json.object.status);
    expect(statuses[0]).toBe(ticket.status);
    expect(statuses.at(-1)).toBe('RESOLVED');
    expect(got().find((r) => r.json.type === 'leave.decided')?.json.object).toMatchObject({ id: d.id, status: 'APPROVED' });
    expect(got().find((r) => r.json.type === 'alert.raised')?.json.object).toMatchObject({ summary: 'long queue', departmentId: dept.id });
    // Personal data kept sealed never travels: the snapshot has no sealed original.
    expect(got().every((r) => !('sealed' in r.json.object))).toBe(true);
    await eventually(async () => (await deliveries(res.webhook.id, manager.token)).every((x) => x.status === 'DELIVERED'));
  });

  it('redelivers an event with the same id, audited', async () => {
    const { hook, manager: owner } = await deliveredHook('/redeliver');
    const [latest] = await deliveries(hook.id, owner.token);
    const before = receiver.got.length;
    const again = (await app.data(RedeliverDocument, { deliveryId: latest.id }, owner.token)).redeliver;
    expect(again).toMatchObject({ eventId: latest.eventId, redeliveryOfId: latest.id, status: 'PENDING' });
    await eventually(() => receiver.got.slice(before).some((r) => r.json.id === latest.eventId), 10_000, 'redelivery');
    await eventually(async () => (await deliveries(hook.id, owner.token)).find((d) => d.id === again.id)?.status === 'DELIVERED');
    expect(await count(`SELECT count(*) AS n FROM audit_entries WHERE action = 'webhook.redeliver' AND target_id = ?`, [hook.id])).toBe(1);
  });

  it('disables a webhook failing for longer than the window, gives up its deliveries and tells its creator', async () => {
    const res = (await create(manager, { url: `${receiver.url}/down`, events: ['conversation.created'] })).data!.createWebhook;
    failFirst.set('/down', 1000);
    // Time moves on: the webhook has been failing for two days when the next attempt fails.
    await app.services.orm.em
      .fork()
      .execute(`UPDATE webhooks SET failing_since = now() - interval '2 days' WHERE id = ?`, [res.webhook.id]);
    await newChat();
    await eventually(
      async () => (await app.data(WebhooksDocument, {}, manager.token)).webhooks.find((w) => w.id === res.webhook.id)?.enabled === false,
      15_000,
      'disabled',
    );
    const hook = (await app.data(WebhooksDocument, {}, manager.token)).webhooks.find((w) => w.id === res.webhook.id)!;
    expect(hook.disabledReason).toMatch(/failed/);
    const list = await deliveries(res.webhook.id, manager.token);
    expect(list.map((d) => [d.status, d.responseStatus])).toEqual([['FAILED', 500]]);
    const notes = (await app.data(NotificationsDocument, { first: 20 }, manager.token)).notifications.nodes;
    expect(notes.some((n) => n.kind === 'WEBHOOK_DISABLED' && n.body.includes('/down'))).toBe(true);
    expect(
      await count(`SELECT count(*) AS n FROM audit_entries WHERE action = 'webhook.disable' AND target_id = ?`, [res.webhook.id]),
    ).toBe(1);
    // A disabled webhook gets no new deliveries, and cannot be redelivered to until enabled again.
    await newChat();
    const refused = await app.exec(RedeliverDocument, { deliveryId: list[0].id }, manager.token);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'INVALID_STATE' });
    const enabled = (await app.data(UpdateWebhookDocument, { id: res.webhook.id, input: { enabled: true } }, manager.token)).updateWebhook;
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
  });

  it('lets managers manage only their own department’s webhooks; admins any', async () => {
    const mine = (await create(manager, { url: `${receiver.url}/mine`, events: ['ticket.created'] })).data!.createWebhook.webhook;
    // Another department: refused at creation, invisible afterwards.
    expect(
      (await create(otherManager, { url: `${receiver.url}/x`, events: ['ticket.created'], departmentId: dept.id })).errors?.[0].extensions
        ?.code,
    ).toBe('FORBIDDEN');
    expect((await app.data(WebhooksDocument, {}, otherManager.token)).webhooks).toEqual([]);
    for (const res of [
      await app.exec(UpdateWebhookDocument, { id: mine.id, input: { events: ['ticket.status_changed'] } }, otherManager.token),
      await app.exec(DeleteWebhookDocument, { id: mine.id }, otherManager.token),
      await app.exec(WebhookDeliveriesDocument, { webhookId: mine.id, first: 10 }, otherManager.token),
    ]) {
      expect(res.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    // Agents, customers and anonymous callers are refused every operation.
    for (const [token, code] of [
      [agent.token, 'FORBIDDEN'],
      [customer.token, 'FORBIDDEN'],
      [null, 'UNAUTHENTICATED'],
    ] as const) {
      const calls = [
        app.exec(CreateWebhookDocument, { input: { url: `${receiver.url}/x`, events: ['ticket.created'] } }, token),
        app.exec(WebhooksDocument, {}, token),
        app.exec(UpdateWebhookDocument, { id: mine.id, input: { enabled: false } }, token),
        app.exec(DeleteWebhookDocument, { id: mine.id }, token),
        app.exec(WebhookDeliveriesDocument, { webhookId: mine.id, first: 10 }, token),
        app.exec(RedeliverDocument, { deliveryId: mine.id }, token),
      ];
      for (const res of await Promise.all(calls)) expect(res.errors?.[0].extensions?.code).toBe(code);
    }
    // Admins: every department, and webhooks of every department (departmentId null).
    const admin = await app.adminToken();
    const global = (await create(admin, { url: `${receiver.url}/all`, events: ['alert.raised'] })).data!.createWebhook.webhook;
    expect(global.departmentId).toBeNull();
    expect((await app.data(WebhooksDocument, {}, admin)).webhooks.map((w) => w.id)).toEqual(expect.arrayContaining([mine.id, global.id]));
    expect((await app.data(WebhooksDocument, {}, manager.token)).webhooks.map((w) => w.id)).not.toContain(global.id);
    const updated = await app.data(
      UpdateWebhookDocument,
      { id: mine.id, input: { events: ['ticket.status_changed'], url: `${receiver.url}/mine2` } },
      admin,
    );
    expect(updated.updateWebhook).toMatchObject({ events: ['ticket.status_changed'], url: `${receiver.url}/mine2` });
    expect((await app.exec(UpdateWebhookDocument, { id: mine.id, input: { events: ['nope'] } }, admin)).errors?.[0].extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect((await app.data(DeleteWebhookDocument, { id: mine.id }, manager.token)).deleteWebhook).toBe(mine.id);
    const [key] = await app.services.orm.em.fork().execute(`SELECT destroyed_at FROM data_keys WHERE subject_id = ?`, [mine.id]);
    expect(key.destroyed_at).not.toBeNull();
    expect((await app.exec(WebhookDeliveriesDocument, { webhookId: mine.id, first: 10 }, manager.token)).errors?.[0].extensions?.code).toBe(
      'NOT_FOUND',
    );
    const audited = await app.services.orm.em
      .fork()
      .execute<Array<{ action: string }>>(`SELECT action FROM audit_entries WHERE target_id = ? ORDER BY created_at, id`, [mine.id]);
    expect(audited.map((a) => a.action)).toEqual(['webhook.create', 'webhook.update', 'webhook.delete']);
  });

  it('does not send a new webhook the events that happened before it was made, even when they wait in the outbox', async () => {
    const team = await ownTeam();
    const before = await team.chat('早先的会话');
    const res = (await create(team.manager, { url: `${receiver.url}/new-hook`, events: ['conversation.created'] })).data!.createWebhook;
    // Another webhook's interest wrote an event a second before this one was made; the dispatcher reads it only now.
    await app.services.orm.em.fork().execute(
      `INSERT INTO webhook_events (type, object_type, object_id, lane_id, snapshot, occurred_at)
       SELECT 'conversation.created', 'Conversation', c.id, c.id, to_jsonb(c), w.created_at - interval '1 second'
       FROM conversations c, webhooks w WHERE c.id = ? AND w.id = ?`,
      [before.id, res.webhook.id],
    );
    const after = await team.chat('之后的会话');
    await eventually(async () => (await deliveries(res.webhook.id, team.manager.token))[0]?.status === 'DELIVERED', 10_000, 'delivered');
    // The dispatcher has passed the older event (it keeps seq order), so nothing more can come for it.
    expect(await count(`SELECT count(*) AS n FROM webhook_events WHERE dispatched_at IS NULL AND object_id = ?`, [before.id])).toBe(0);
    expect((await deliveries(res.webhook.id, team.manager.token)).map((d) => d.eventType)).toEqual(['conversation.created']);
    expect(receiver.got.filter((r) => r.path === '/new-hook').map((r) => r.json.object.id)).toEqual([after.id]);
  });

  it('sends a transfer between agents, then the end, in order', async () => {
    // A team of two of its own: a second online agent in the shared department would take other tests' customers.
    const team = await ownTeam();
    const res = (
      await create(team.manager, { url: `${receiver.url}/transfer`, events: ['conversation.transferred', 'conversation.ended'] })
    ).data!.createWebhook;
    const second = await app.createUser({ role: 'AGENT', departmentId: team.dept.id, maxConcurrentChats: 50 });
    await app.data(HeartbeatDocument, {}, second.token);
    const { id } = await team.chat();
    const [{ agent_id: first }] = await app.services.orm.em.fork().execute(`SELECT agent_id FROM conversations WHERE id = ?`, [id]);
    const [from, to] = first === team.agent.id ? [team.agent, second] : [second, team.agent];
    expect((await app.exec(TransferConversationDocument, { id, toAgentId: to.id, note: '请接手' }, from.token)).errors).toBeUndefined();
    expect((await app.exec(EndConversationDocument, { id }, to.token)).errors).toBeUndefined();
    const got = () => receiver.got.filter((r) => r.path === '/transfer');
    await eventually(() => got().length >= 2, 10_000, 'two deliveries');
    expect(got().map((r) => [r.json.type, r.json.object.agentId])).toEqual([
      ['conversation.transferred', to.id],
      ['conversation.ended', to.id],
    ]);
    expect(await deliveries(res.webhook.id, team.manager.token)).toHaveLength(2);
  });

  it('sends swap.decided when a manager approves a swap', async () => {
    await create(manager, { url: `${receiver.url}/swaps`, events: ['swap.decided'] });
    const admin = await app.adminToken();
    const shift = (
      await app.data(CreateShiftDocument, { input: { name: '早班', code: 'EARLY', startTime: '09:00', endTime: '17:00' } }, admin)
    ).createShift;
    const receiverAgent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    const assign = async (agentId: string, date: string) =>
      (await app.data(AssignSchedulesDocument, { input: { shiftId: shift.id, agentIds: [agentId], dates: [date] } }, admin)).assignSchedules
        .created[0].id;
    const scheduleId = await assign(agent.id, '2031-07-01');
    await assign(receiverAgent.id, '2031-07-02');
    const swap = (await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId, toAgentId: receiverAgent.id }] } }, agent.token))
      .requestSwap;
    await app.data(ApproveSwapDocument, { id: swap.id }, manager.token);
    await eventually(() => receiver.got.some((r) => r.path === '/swaps'), 10_000, 'swap.decided');
    const got = receiver.got.filter((r) => r.path === '/swaps');
    expect(got.map((r) => [r.json.type, r.json.object.id, r.json.object.status])).toEqual([['swap.decided', swap.id, 'APPROVED']]);
  });

  it('deletes finished deliveries and their events after the retention period, keeping pending ones', async () => {
    const em = app.services.orm.em.fork();
    // Two delivered events of a webhook of its own, then a pending delivery of the first: only this test's rows age.
    const { hook, chat, manager: owner } = await deliveredHook('/purge');
    await chat();
    await eventually(async () => (await deliveries(hook.id, owner.token)).filter((d) => d.status === 'DELIVERED').length === 2);
    const events = await em.execute<Array<{ event_id: string; lane_id: string }>>(
      `SELECT event_id, lane_id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at`,
      [hook.id],
    );
    const [kept, dropped] = events.map((e) => e.event_id);
    await em.execute(
      `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, lane_id, claimed_by) VALUES (?, ?, 'conversation.created', ?, 'held')`,
      [hook.id, kept, events[0].lane_id],
    );
    await em.execute(`UPDATE webhook_deliveries SET created_at = created_at - interval '31 days' WHERE webhook_id = ?`, [hook.id]);
    await em.execute(`UPDATE webhook_events SET dispatched_at = dispatched_at - interval '31 days' WHERE id IN (?, ?)`, [kept, dropped]);
    expect(await app.services.webhookDelivery.purge()).toEqual({ deliveries: 2, events: 1 });
    expect(await count(`SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ? AND status = 'PENDING'`, [hook.id])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ?`, [hook.id])).toBe(1);
    const left = await em.execute<Array<{ id: string }>>(`SELECT id FROM webhook_events WHERE id IN (?, ?)`, [kept, dropped]);
    expect(left.map((e) => e.id)).toEqual([kept]);
  });

  it('refuses bad page sizes and cursors of webhookDeliveries', async () => {
    const hook = (await create(manager, { url: `${receiver.url}/pages`, events: ['ticket.created'] })).data!.createWebhook.webhook;
    for (const vars of [
      { webhookId: hook.id, first: 0 },
      { webhookId: hook.id, first: 101 },
      { webhookId: hook.id, first: 10, after: 'not-a-cursor' },
    ]) {
      expect((await app.exec(WebhookDeliveriesDocument, vars, manager.token)).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect((await app.exec(WebhookDeliveriesDocument, { webhookId: 'nope', first: 10 }, manager.token)).errors?.[0].extensions?.code).toBe(
      'NOT_FOUND',
    );
  });
});
