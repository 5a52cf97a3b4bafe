import pino from 'pino';
import {
  AuditLogDocument,
  CommentOnTicketDocument,
  CreateTicketDocument,
  EncryptionStatusDocument,
  ForgetCustomerDocument,
  HeartbeatDocument,
  PiiConversationEventsDocument,
  PiiMessagesDocument,
  PiiRequestLeaveDocument,
  PiiSendMessageDocument,
  ProtectionNotificationsDocument,
  RequestDataErasureDocument,
  RequestServiceDocument,
  RevealTextDocument,
} from '../generated/graphql';
import { maskText } from '../../src/modules/records/masking';
import { shippedPiiRules } from '../../src/modules/records/pii-rules';
import { ADMIN_EMAIL, startTestApp, subscribe, TestApp } from '../support/harness';

const PHONE = '13812345678';
const ID = '11010519491231002X';
const CARD = '6222021234567891233';
const PLAINTEXTS = [PHONE, ID, CARD];

describe('personal data encrypted at rest, revealed with a reason', () => {
  let app: TestApp;
  const lines: string[] = [];
  let dept: { id: string };
  let otherDept: { id: string };
  let admin: string;
  let manager: { id: string; token: string };
  let otherManager: { id: string; token: string };
  let agent: { id: string; token: string };
  type Customer = { id: string; token: string; email: string; password: string };
  const original = `我的手机 ${PHONE}，身份证 ${ID}，卡号 ${CARD}`;
  const mask = (text: string) => maskText(text, shippedPiiRules());
  const masked = mask(original);

  const sql = <T = Record<string, unknown>>(q: string, params: unknown[] = []) => app.services.orm.em.fork().execute<T[]>(q, params);
  const reveal = (token: string, vars: { kind: string; id: string; reason: string }) => app.exec(RevealTextDocument, vars as never, token);
  const reveals = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries WHERE action = 'text.reveal'`))[0].n;
  const failures = async () => {
    const text = await (await fetch(app.url.replace(/\/graphql$/, '/metrics'))).text();
    return Number(/^shiftdesk_sealed_text_failures_total\{table="messages"\} (\S+)$/m.exec(text)?.[1] ?? 0);
  };

  beforeAll(async () => {
    // The server logs into memory at debug, so the test reads what an operator would see.
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    app = await startTestApp({
      logger,
      env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_REVEAL_TEXT_PER_HOUR: '12', TICKET_SLA_SWEEP_SECONDS: '3600' },
    });
    admin = await app.adminToken();
    dept = await app.createDepartment('技术支持', 'technical');
    otherDept = await app.createDepartment('账务', 'billing');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: otherDept.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 10 });
    await app.data(HeartbeatDocument, {}, agent.token);
  });
  afterAll(() => app.stop());

  /** A customer of its own in a conversation with the agent, opened with a card number (one sealed message). */
  async function chat(): Promise<{ customer: Customer; conversationId: string }> {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const res = await app.data(
      RequestServiceDocument,
      { input: { topic: 'technical', message: `你好，卡号 ${CARD} 被扣了两次` } },
      customer.token,
    );
    return { customer, conversationId: res.requestService.conversation!.id };
  }

  let leaveDay = 0;
  /** A fresh chat plus every kind of sealed text: the customer's message, a ticket, its comment, an agent's leave reason. */
  async function sealedTexts() {
    const { customer, conversationId } = await chat();
    const messageId = (
      await app.data(PiiSendMessageDocument, { input: { conversationId, content: original, clientMessageId: 'enc-1' } }, customer.token)
    ).sendMessage.id;
    const ticketId = (
      await app.data(
        CreateTicketDocument,
        { input: { subject: `退款到 ${CARD}`, description: `电话 ${PHONE}，身份证 ${ID}`, category: '技术支持' } } as never,
        customer.token,
      )
    ).createTicket.id;
    await app.data(CommentOnTicketDocument, { id: ticketId, body: `再说一次：${PHONE}` } as never, customer.token);
    const [comment] = await sql<{ id: string }>(`SELECT id FROM ticket_comments WHERE ticket_id = ? AND sealed IS NOT NULL`, [ticketId]);
    leaveDay += 1; // a day of its own: the agent's leave requests must not overlap
    const day = `2027-09-${String(leaveDay).padStart(2, '0')}`;
    await app.data(
      PiiRequestLeaveDocument,
      { input: { type: 'PERSONAL', startDate: day, endDate: day, reason: `家中有事，电话 ${PHONE}` } as never },
      agent.token,
    );
    const [leave] = await sql<{ id: string }>(`SELECT id FROM leave_requests WHERE requester_id = ? AND start_date = ?`, [agent.id, day]);
    return { customer, conversationId, messageId, ticketId, commentId: comment.id, leaveId: leave.id };
  }

  it('every reader gets the masked text; no table and no log line holds a plaintext phone, ID or card number', async () => {
    const { customer, conversationId } = await chat();
    const live = subscribe(app.ws(agent.token), PiiConversationEventsDocument, { conversationId, afterSeq: 1 });
    const sent = (
      await app.data(PiiSendMessageDocument, { input: { conversationId, content: original, clientMessageId: 'enc-1' } }, customer.token)
    ).sendMessage;
    expect(masked).toMatch(/^我的手机 138\*\*\*\*5678，身份证 110\*{11}002X，卡号 6222 \*{4} /);
    expect(sent.content).toBe(masked);
    expect(sent.piiTypes).toEqual(['PHONE', 'ID_CARD', 'BANK_CARD']);
    expect((await live.next()).data?.conversationEvents.message).toMatchObject({
      id: sent.id,
      content: sent.content,
      piiTypes: sent.piiTypes,
    });
    // The agent's own message with a customer's number, and a repeat of the customer's (same clientMessageId).
    await app.data(
      PiiSendMessageDocument,
      { input: { conversationId, content: `已登记 ${PHONE}`, clientMessageId: 'enc-a' } },
      agent.token,
    );
    const again = (
      await app.data(PiiSendMessageDocument, { input: { conversationId, content: original, clientMessageId: 'enc-1' } }, customer.token)
    ).sendMessage;
    expect(again.id).toBe(sent.id);
    const history = (await app.data(PiiMessagesDocument, { conversationId }, agent.token)).messages.messages;
    for (const m of history) for (const p of PLAINTEXTS) expect(m.content).not.toContain(p);

    // Tickets, comments and a leave reason (which is also quoted in the managers' notification and the audit).
    const ticket = (
      await app.data(
        CreateTicketDocument,
        { input: { subject: `退款到 ${CARD}`, description: `电话 ${PHONE}，身份证 ${ID}`, category: '技术支持' } } as never,
        customer.token,
      )
    ).createTicket;
    await app.data(CommentOnTicketDocument, { id: ticket.id, body: `再说一次：${PHONE}` } as never, customer.token);
    await app.data(
      PiiRequestLeaveDocument,
      { input: { type: 'PERSONAL', startDate: '2027-08-02', endDate: '2027-08-02', reason: `家中有事，电话 ${PHONE}` } as never },
      agent.token,
    );

    const [{ n: sealed }] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages WHERE sealed IS NOT NULL AND conversation_id = ?`,
      [conversationId],
    );
    expect(sealed).toBe(3); // the first message, the customer's and the agent's
    const tables = await sql<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['messages', 'tickets', 'ticket_comments', 'leave_requests', 'audit_entries', 'notifications']),
    );
    for (const t of tables) {
      const [{ dump }] = await sql<{ dump: string | null }>(`SELECT string_agg(x::text, E'\\n') AS dump FROM "${t.schema}"."${t.name}" x`);
      for (const p of PLAINTEXTS) expect({ table: t.name, found: (dump ?? '').includes(p) }).toEqual({ table: t.name, found: false });
    }
    const log = lines.join('\n');
    expect(log.length).toBeGreaterThan(0);
    for (const p of PLAINTEXTS) expect(log).not.toContain(p);
  });

  it('revealText gives the original to the customer, their department’s manager and admins, audited with the reason', async () => {
    const { customer, messageId } = await sealedTexts();
    const before = await reveals();
    for (const token of [customer.token, manager.token, admin]) {
      const res = await reveal(token, { kind: 'MESSAGE', id: messageId, reason: '核对客户身份' });
      expect(res.errors).toBeUndefined();
      expect(res.data!.revealText).toBe(original);
    }
    const entries = (await app.data(AuditLogDocument, { filter: { action: 'text.reveal', targetId: messageId } }, admin)).auditLog.nodes;
    expect(entries).toHaveLength(3);
    expect(entries.map((e) => e.actorId).sort()).toEqual(
      [customer.id, manager.id, (await sql<{ id: string }>(`SELECT id FROM users WHERE email = ?`, [ADMIN_EMAIL]))[0].id].sort(),
    );
    for (const e of entries)
      expect(e).toMatchObject({ targetType: 'Message', comment: '核对客户身份', summary: 'Revealed MESSAGE (original)' });
    expect(await reveals()).toBe(before + 3);
  });

  it('refuses a reveal without a reason or with an empty one, by an agent, by a manager of another department, of another customer’s text; none is audited', async () => {
    const { messageId } = await sealedTexts();
    const stranger = await app.createUser({ role: 'CUSTOMER' });
    const before = await reveals();
    const noReason = await app.exec(`query ($id: ID!) { revealText(kind: MESSAGE, id: $id) }`, { id: messageId }, manager.token);
    expect(noReason.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    for (const reason of ['', '   ']) {
      const res = await reveal(manager.token, { kind: 'MESSAGE', id: messageId, reason });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'reason' }] });
    }
    expect((await reveal(agent.token, { kind: 'MESSAGE', id: messageId, reason: '想看' })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await reveal(otherManager.token, { kind: 'MESSAGE', id: messageId, reason: '想看' })).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await reveal(stranger.token, { kind: 'MESSAGE', id: messageId, reason: '想看' })).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect(
      (await reveal(admin, { kind: 'MESSAGE', id: '00000000-0000-4000-8000-000000000000', reason: '核对' })).errors?.[0].extensions?.code,
    ).toBe('NOT_FOUND');
    expect((await reveal(admin, { kind: 'TICKET_SUBJECT', id: 'not-a-uuid', reason: '核对' })).errors?.[0].extensions?.code).toBe(
      'NOT_FOUND',
    );
    expect(await reveals()).toBe(before);
  });

  it('tickets, comments and leave reasons reveal per kind; the staff member’s manager reads the leave reason', async () => {
    const { customer, ticketId, commentId, leaveId } = await sealedTexts();
    const [t, c, l] = [{ id: ticketId }, { id: commentId }, { id: leaveId }];
    const text = async (kind: string, id: string, token = admin) =>
      (await app.data(RevealTextDocument, { kind, id, reason: '工单处理' } as never, token)).revealText;
    expect(await text('TICKET_SUBJECT', t.id)).toBe(`退款到 ${CARD}`);
    expect(await text('TICKET_DESCRIPTION', t.id, customer.token)).toBe(`电话 ${PHONE}，身份证 ${ID}`);
    expect(await text('TICKET_COMMENT', c.id, manager.token)).toBe(`再说一次：${PHONE}`);
    expect(await text('LEAVE_REASON', l.id, manager.token)).toBe(`家中有事，电话 ${PHONE}`);
    expect((await reveal(otherManager.token, { kind: 'LEAVE_REASON', id: l.id, reason: '看看' })).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await reveal(customer.token, { kind: 'LEAVE_REASON', id: l.id, reason: '看看' })).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
  });

  it('a sealed text that fails authentication is answered masked, logged and counted in /metrics', async () => {
    const { conversationId, messageId } = await sealedTexts();
    const counted = await failures();
    await sql(`UPDATE messages SET sealed = overlay(sealed placing '\\xff'::bytea from 40 for 1) WHERE id = ?`, [messageId]);
    const res = await reveal(admin, { kind: 'MESSAGE', id: messageId, reason: '核对' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.revealText).toBe(masked);
    expect(await failures()).toBe(counted + 1);
    expect(lines.some((l) => l.includes('failed authentication') && l.includes(messageId))).toBe(true);
    // A ciphertext moved to another row does not open either (bound to its row).
    const [other] = await sql<{ id: string }>(
      `SELECT id FROM messages WHERE conversation_id = ? AND sealed IS NOT NULL AND id <> ? LIMIT 1`,
      [conversationId, messageId],
    );
    await sql(`UPDATE messages SET sealed = (SELECT sealed FROM messages WHERE id = ?) WHERE id = ?`, [other.id, messageId]);
    expect((await app.data(RevealTextDocument, { kind: 'MESSAGE', id: messageId, reason: '核对' } as never, admin)).revealText).not.toBe(
      original,
    );
    expect(await failures()).toBe(counted + 2);
  });

  it('revealText is rate limited per user', async () => {
    const busy = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    const t = { id: (await sealedTexts()).ticketId };
    const codes: string[] = [];
    for (let i = 0; i < 13; i++)
      codes.push((await reveal(busy.token, { kind: 'TICKET_SUBJECT', id: t.id, reason: '核对' })).errors?.[0].extensions?.code ?? 'OK');
    expect(codes.slice(0, 12)).toEqual(Array(12).fill('OK'));
    expect(codes[12]).toBe('RATE_LIMITED');
  });

  it('requestDataErasure tells the admins; forgetCustomer refuses staff, a missing reason and non-admins, then shreds the key and anonymises', async () => {
    const { customer, conversationId, ticketId } = await sealedTexts();
    expect((await app.exec(RequestDataErasureDocument, { reason: '请删除我的信息' }, agent.token)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await app.data(RequestDataErasureDocument, { reason: `请删除我的信息 ${PHONE}` }, customer.token)).requestDataErasure).toBe(
      true,
    );
    const told = (await app.data(ProtectionNotificationsDocument, {}, admin)).notifications.nodes.filter(
      (n) => n.kind === 'DATA_ERASURE_REQUESTED',
    );
    expect(told).toHaveLength(1);
    expect(told[0].body).toContain(customer.id);
    expect(told[0].body).not.toContain(PHONE);

    const keysBefore = await sql(`SELECT subject_id, master_key_id, wrapped FROM data_keys ORDER BY subject_id`);
    const agentBefore = await sql(`SELECT email, active FROM users WHERE id = ?`, [agent.id]);
    const staff = await app.exec(ForgetCustomerDocument, { userId: agent.id, reason: '离职' }, admin);
    expect(staff.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'userId' }] });
    expect((await app.exec(ForgetCustomerDocument, { userId: customer.id, reason: ' ' }, admin)).errors?.[0].extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      (await app.exec(ForgetCustomerDocument, { userId: customer.id, reason: '客户申请' }, manager.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect(
      (await app.exec(ForgetCustomerDocument, { userId: customer.id, reason: '客户申请' }, customer.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect(await sql(`SELECT subject_id, master_key_id, wrapped FROM data_keys ORDER BY subject_id`)).toEqual(keysBefore);
    expect(await sql(`SELECT email, active FROM users WHERE id = ?`, [agent.id])).toEqual(agentBefore);

    const t = { id: ticketId };
    expect((await app.data(RevealTextDocument, { kind: 'TICKET_SUBJECT', id: t.id, reason: '核对' } as never, admin)).revealText).toBe(
      `退款到 ${CARD}`,
    );
    expect((await app.data(ForgetCustomerDocument, { userId: customer.id, reason: '客户依法申请删除' }, admin)).forgetCustomer).toBe(true);

    // Crypto-shredded: the originals no longer open anywhere; the masked texts stay.
    expect((await app.data(RevealTextDocument, { kind: 'TICKET_SUBJECT', id: t.id, reason: '核对' } as never, admin)).revealText).toBe(
      mask(`退款到 ${CARD}`),
    );
    const [key] = await sql<{ wrapped: Buffer | null; destroyed: boolean }>(
      `SELECT wrapped, destroyed_at IS NOT NULL AS destroyed FROM data_keys WHERE subject_id = ?`,
      [customer.id],
    );
    expect(key).toEqual({ wrapped: null, destroyed: true });
    const [user] = await sql<{ email: string; display_name: string; active: boolean }>(
      `SELECT email, display_name, active FROM users WHERE id = ?`,
      [customer.id],
    );
    expect(user).toEqual({ email: `forgotten-${customer.id}@forgotten.invalid`, display_name: '已注销用户', active: false });
    expect((await app.exec(PiiMessagesDocument, { conversationId }, customer.token)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    await expect(app.login(customer.email, customer.password)).rejects.toThrow();
    const audit = (await app.data(AuditLogDocument, { filter: { action: 'customer.forget', targetId: customer.id } }, admin)).auditLog
      .nodes;
    expect(audit).toMatchObject([{ comment: '客户依法申请删除' }]);
    // A new text about a forgotten customer is stored masked, its original not kept at all.
    await app.data(
      PiiSendMessageDocument,
      { input: { conversationId, content: `客户电话 ${PHONE}`, clientMessageId: 'enc-after' } },
      agent.token,
    );
    const [after] = await sql<{ content: string; sealed: Buffer | null }>(
      `SELECT content, sealed FROM messages WHERE client_message_id = 'enc-after' AND conversation_id = ?`,
      [conversationId],
    );
    expect(after).toEqual({ content: '客户电话 138****5678', sealed: null });
    expect((await app.data(EncryptionStatusDocument, {}, admin)).encryptionStatus.destroyedDataKeys).toBe(1);
  });
});
