import {
  HeartbeatDocument,
  PiiCommentOnTicketDocument,
  PiiConversationEventsDocument,
  PiiCreateTicketDocument,
  PiiLeaveDocument,
  PiiMessagesDocument,
  PiiRequestLeaveDocument,
  PiiSendMessageDocument,
  PiiTicketDocument,
  RequestServiceDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';

const PHONE = '13812345678';
const ID = '11010519491231002X';
const CARD = '6222021234567891233';
const EMAIL = 'zhangsan@example.com';

describe('piiTypes on stored texts', () => {
  let app: TestApp;
  let dept: { id: string };
  let agent: { id: string; token: string };
  let customer: { id: string; token: string };

  const sql = <T = Record<string, unknown>>(q: string, params: unknown[] = []) => app.services.orm.em.fork().execute<T[]>(q, params);
  const stored = async (table: string, id: string) =>
    (await sql<{ pii_types: string[] | null }>(`SELECT pii_types FROM ${table} WHERE id = ?`, [id]))[0].pii_types;

  beforeAll(async () => {
    app = await startTestApp({
      env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '1000', TICKET_SLA_SWEEP_SECONDS: '3600' },
    });
    dept = await app.createDepartment('技术支持', 'technical');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 10 });
    await app.data(HeartbeatDocument, {}, agent.token);
    customer = await app.createUser({ role: 'CUSTOMER' });
  });
  afterAll(() => app.stop());

  /** A conversation of its own for each test (a customer's first message holds a bank card number, seq 1). */
  async function openConversation() {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const res = await app.data(
      RequestServiceDocument,
      { input: { topic: 'technical', message: `你好，我的卡号${CARD}被扣了两次` } },
      customer.token,
    );
    return { customer, conversationId: res.requestService.conversation!.id };
  }

  it('a chat message gets the kinds it holds, stored with it and shown in replies, history and live events', async () => {
    const { customer, conversationId } = await openConversation();
    const live = subscribe(app.ws(agent.token), PiiConversationEventsDocument, { conversationId, afterSeq: 1 });
    const sent = await app.data(
      PiiSendMessageDocument,
      { input: { conversationId, content: `手机 +86 138-1234-5678，身份证${ID}`, clientMessageId: 'pii-1' } },
      customer.token,
    );
    expect(sent.sendMessage.piiTypes).toEqual(['PHONE', 'ID_CARD']);
    expect(await stored('messages', sent.sendMessage.id)).toEqual(['PHONE', 'ID_CARD']);
    const plain = await app.data(
      PiiSendMessageDocument,
      { input: { conversationId, content: '订单号 202612031234567890，¥1,380.00', clientMessageId: 'pii-2' } },
      customer.token,
    );
    expect(plain.sendMessage.piiTypes).toEqual([]);
    expect(await stored('messages', plain.sendMessage.id)).toEqual([]);

    const first = await live.next();
    expect(first.data?.conversationEvents.message).toMatchObject({ id: sent.sendMessage.id, piiTypes: ['PHONE', 'ID_CARD'] });
    expect((await live.next()).data?.conversationEvents.message).toMatchObject({ id: plain.sendMessage.id, piiTypes: [] });

    // The first message came through requestService (routing's own INSERT), and a repeat of a clientMessageId through
    // the locked path: both carry their types.
    const history = (await app.data(PiiMessagesDocument, { conversationId }, customer.token)).messages.messages;
    expect(history.find((m) => m.seq === 1)).toMatchObject({ piiTypes: ['BANK_CARD'] });
    const again = await app.data(
      PiiSendMessageDocument,
      { input: { conversationId, content: `手机 +86 138-1234-5678，身份证${ID}`, clientMessageId: 'pii-1' } },
      customer.token,
    );
    expect(again.sendMessage).toMatchObject({ id: sent.sendMessage.id, piiTypes: ['PHONE', 'ID_CARD'] });
    const [{ count }] = await sql<{ count: number }>(
      `SELECT count(*)::int AS count FROM messages WHERE conversation_id = ? AND pii_types IS NULL`,
      [conversationId],
    );
    expect(count).toBe(0);
  });

  it('tickets (subject and description), their comments and leave reasons get theirs too, kept through later changes', async () => {
    const ticket = (
      await app.data(
        PiiCreateTicketDocument,
        { input: { subject: `退款到 ${CARD}`, description: `请发邮件到 ${EMAIL}`, category: '技术支持' } },
        customer.token,
      )
    ).createTicket;
    expect(ticket.piiTypes).toEqual(['BANK_CARD', 'EMAIL']);
    expect(await stored('tickets', ticket.id)).toEqual(['BANK_CARD', 'EMAIL']);

    const comment = (await app.data(PiiCommentOnTicketDocument, { id: ticket.id, body: `我的电话 ${PHONE}` }, customer.token))
      .commentOnTicket;
    expect(comment.piiTypes).toEqual(['PHONE']);
    expect(await stored('ticket_comments', comment.id)).toEqual(['PHONE']);

    // A change that leaves the texts alone (the agent's first response updates the ticket) keeps the types.
    await app.data(PiiCommentOnTicketDocument, { id: ticket.id, body: '已收到，马上处理' }, agent.token);
    const [row] = await sql<{ first_response_at: Date | null; pii_types: string[] }>(
      `SELECT first_response_at, pii_types FROM tickets WHERE id = ?`,
      [ticket.id],
    );
    expect(row.first_response_at).not.toBeNull();
    expect(row.pii_types).toEqual(['BANK_CARD', 'EMAIL']);
    const read = (await app.data(PiiTicketDocument, { id: ticket.id }, customer.token)).ticket!;
    expect(read.piiTypes).toEqual(['BANK_CARD', 'EMAIL']);
    expect(read.comments.map((c) => c.piiTypes)).toEqual(expect.arrayContaining([['PHONE'], []]));

    const leave = (
      await app.data(
        PiiRequestLeaveDocument,
        { input: { type: 'PERSONAL', startDate: '2027-06-10', endDate: '2027-06-10', reason: `家里有事，急事请打 ${PHONE}` } as never },
        agent.token,
      )
    ).requestLeave;
    expect(leave.piiTypes).toEqual(['PHONE']);
    expect(await stored('leave_requests', leave.id)).toEqual(['PHONE']);
  });

  it('rows stored before detection existed are answered from their text, then filled by the backfill', async () => {
    const { customer, conversationId } = await openConversation();
    const sent = await app.data(
      PiiSendMessageDocument,
      { input: { conversationId, content: `邮箱 ${EMAIL}`, clientMessageId: 'pii-old' } },
      customer.token,
    );
    const leave = (
      await app.data(
        PiiRequestLeaveDocument,
        { input: { type: 'PERSONAL', startDate: '2027-07-01', endDate: '2027-07-01', reason: `身份证 ${ID}` } as never },
        agent.token,
      )
    ).requestLeave;
    // As the migrations leave older rows: the original text in the column, not read, not sealed.
    await sql(`UPDATE messages SET pii_types = NULL, sealed = NULL, content = ? WHERE id = ?`, [`邮箱 ${EMAIL}`, sent.sendMessage.id]);
    await sql(`UPDATE leave_requests SET pii_types = NULL, sealed = NULL, reason = ? WHERE id = ?`, [`身份证 ${ID}`, leave.id]);

    const history = (await app.data(PiiMessagesDocument, { conversationId }, customer.token)).messages.messages;
    expect(history.find((m) => m.id === sent.sendMessage.id)?.piiTypes).toEqual(['EMAIL']);
    expect((await app.data(PiiLeaveDocument, { id: leave.id }, agent.token)).leaveRequest?.piiTypes).toEqual(['ID_CARD']);

    // The scheduled run (every 5 s) may be reading them at the same time (SKIP LOCKED: then this one skips
    // them and that one commits them): filled either way.
    await app.services.piiBackfill.run();
    await eventually(async () => JSON.stringify(await stored('messages', sent.sendMessage.id)) === '["EMAIL"]', 5000, 'message backfilled');
    await eventually(async () => JSON.stringify(await stored('leave_requests', leave.id)) === '["ID_CARD"]', 5000, 'leave backfilled');
    expect(await app.services.piiBackfill.run()).toBe(0);
    // …and now masked in their columns, the originals sealed beside them.
    const [m] = await sql<{ content: string; sealed: Buffer | null }>(`SELECT content, sealed FROM messages WHERE id = ?`, [
      sent.sendMessage.id,
    ]);
    expect(m.content).toBe('邮箱 zhan***@example.com');
    expect(m.sealed).toBeInstanceOf(Buffer);
    const [l] = await sql<{ reason: string; sealed: Buffer | null }>(`SELECT reason, sealed FROM leave_requests WHERE id = ?`, [leave.id]);
    expect(l.reason).not.toContain(ID);
    expect(l.sealed).toBeInstanceOf(Buffer);
  });
});
