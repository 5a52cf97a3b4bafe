import { Client } from 'pg';
import { startTestApp, TestApp } from '../support/harness';
import { daysAgo, seedConversation, sqlOf } from './records-helpers';

const RUN = 'mutation { runArchive { conversations messages purgedConversations purgedMessages } }';
type RunResult = { runArchive: { conversations: number; messages: number; purgedConversations: number; purgedMessages: number } };

describe('archiving ended conversations', () => {
  let app: TestApp;
  let admin: string;
  let dept: { id: string };
  let agent: { id: string; token: string };
  let otherAgent: { id: string; token: string };
  let manager: { id: string; token: string };
  let sql: ReturnType<typeof sqlOf>;

  const totals = async () => {
    const [row] = await sql<{ live_c: number; live_m: number; arch_c: number; arch_m: number }>(
      `SELECT (SELECT count(*)::int FROM conversations) AS live_c, (SELECT count(*)::int FROM messages) AS live_m,
              (SELECT count(*)::int FROM conversations_archive) AS arch_c, (SELECT count(*)::int FROM messages_archive) AS arch_m`,
    );
    return row;
  };

  beforeAll(async () => {
    // RETAIN_DAYS 365: conversations ended 400 days ago are purged by the run that archives them.
    app = await startTestApp({ env: { ARCHIVE_AFTER_DAYS: '180', RETAIN_DAYS: '365', ARCHIVE_BATCH_SIZE: '7' } });
    sql = sqlOf(app);
    admin = await app.adminToken();
    dept = await app.createDepartment('售后', 'after_sales');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    otherAgent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
  });
  afterAll(() => app.stop());

  it('the archive tables have every column of the live ones', async () => {
    const rows = await sql<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()
         AND table_name IN ('conversations', 'messages', 'conversation_transfers', 'conversations_archive', 'messages_archive', 'conversation_transfers_archive')`,
    );
    for (const table of ['conversations', 'messages', 'conversation_transfers']) {
      const archived = rows.filter((r) => r.table_name === `${table}_archive`).map((r) => r.column_name);
      expect(archived).toEqual(expect.arrayContaining(rows.filter((r) => r.table_name === table).map((r) => r.column_name)));
    }
  });

  it('moves old ended conversations with their messages; counts match; recent, open and referenced ones stay', async () => {
    // A customer of its own: the open conversation below is the one a customer may have.
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const old: string[] = [];
    for (let i = 0; i < 20; i++) {
      old.push(
        await seedConversation(app, {
          customerId: customer.id,
          agentId: agent.id,
          departmentId: dept.id,
          createdAt: daysAgo(200 + i),
          messages: [{ content: `第${i}次咨询：退票流程` }, { content: '已处理', role: 'AGENT' }, { content: '谢谢' }],
        }),
      );
    }
    const ancient = await seedConversation(app, {
      customerId: customer.id,
      agentId: agent.id,
      departmentId: dept.id,
      createdAt: daysAgo(400),
      messages: [{ content: '很久以前' }],
    });
    const recent = await seedConversation(app, {
      customerId: customer.id,
      agentId: agent.id,
      departmentId: dept.id,
      createdAt: daysAgo(30),
    });
    const withTicket = await seedConversation(app, {
      customerId: customer.id,
      agentId: agent.id,
      departmentId: dept.id,
      createdAt: daysAgo(300),
    });
    await app.data(
      'mutation ($input: CreateTicketInput!) { createTicket(input: $input) { id } }',
      { input: { subject: '退款未到账', description: '见会话', category: '售后服务', conversationId: withTicket } },
      customer.token,
    );
    const open = await seedConversation(app, {
      customerId: customer.id,
      agentId: agent.id,
      departmentId: dept.id,
      createdAt: daysAgo(1),
      status: 'ACTIVE',
    });

    const earlierEntries = (await sql<{ id: string }>(`SELECT id FROM audit_entries`)).map((r) => r.id);
    const before = await totals();
    const result = (await app.data<RunResult, unknown>(RUN, {}, admin)).runArchive;
    expect(result).toEqual({ conversations: 21, messages: 61, purgedConversations: 1, purgedMessages: 1 });
    const after = await totals();
    expect(after.live_c).toBe(before.live_c - 21);
    expect(after.live_m).toBe(before.live_m - 61);
    expect(after.arch_c).toBe(before.arch_c + 20);
    expect(after.arch_m).toBe(before.arch_m + 60);
    // Every row is in exactly one place (the purged one in none).
    expect(after.live_c + after.arch_c).toBe(before.live_c + before.arch_c - 1);
    expect(after.live_m + after.arch_m).toBe(before.live_m + before.arch_m - 1);
    const live = (await sql<{ id: string }>(`SELECT id FROM conversations`)).map((r) => r.id);
    expect(live).toEqual(expect.arrayContaining([recent, withTicket, open]));
    expect(live).not.toContain(old[0]);
    const [{ n }] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM conversations_archive WHERE id = ANY(?::uuid[])`, [
      `{${old.join(',')}}`,
    ]);
    expect(n).toBe(20);
    expect(await sql(`SELECT 1 FROM conversations_archive WHERE id = ?`, [ancient])).toHaveLength(0);

    const audit = await sql<{ action: string; summary: string }>(
      `SELECT action, summary FROM audit_entries WHERE action IN ('records.archive', 'records.purge') AND id <> ALL(?::uuid[])`,
      [`{${earlierEntries.join(',')}}`],
    );
    expect(audit.map((a) => a.action).sort()).toEqual(['records.archive', 'records.purge']);
    expect(audit.find((a) => a.action === 'records.purge')!.summary).toContain('1 archived conversations with 1 messages');

    // A second run finds nothing more to move.
    expect((await app.data<RunResult, unknown>(RUN, {}, admin)).runArchive.conversations).toBe(0);

    // Archived conversations stay readable, marked archived, for their parties and staff in scope …
    const read = `query ($id: ID!) { conversation(id: $id) { id status archived } messages(conversationId: $id) { messages { seq content } hasMore } }`;
    for (const token of [customer.token, agent.token, manager.token, admin]) {
      const data = await app.data<any, unknown>(read, { id: old[3] }, token);
      expect(data.conversation).toEqual({ id: old[3], status: 'ENDED', archived: true });
      expect(data.messages.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
      expect(data.messages.messages[0].content).toBe('第3次咨询：退票流程');
    }
    expect((await app.exec(read, { id: old[3] }, otherAgent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await app.data<any, unknown>(read, { id: recent }, admin)).conversation.archived).toBe(false);

    // … and searchable with includeArchived.
    const search = `query ($inc: Boolean) { searchConversations(filter: { keyword: "退票流程" }, first: 50, includeArchived: $inc) { nodes { archived conversation { id archived } matches { seq } } } }`;
    expect((await app.data<any, unknown>(search, { inc: false }, admin)).searchConversations.nodes).toHaveLength(0);
    const hits = (await app.data<any, unknown>(search, { inc: true }, admin)).searchConversations.nodes;
    expect(hits).toHaveLength(20);
    expect(hits.every((h: any) => h.archived && h.conversation.archived && h.matches[0].seq === 1)).toBe(true);
    const agentHits = (await app.data<any, unknown>(search, { inc: true }, otherAgent.token)).searchConversations.nodes;
    expect(agentHits).toHaveLength(0);
  });

  it('keeps the invariants in the archive: one seq per conversation, only ended conversations, messages with their conversation', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const ended = { customerId: customer.id, agentId: agent.id, departmentId: dept.id, createdAt: daysAgo(200) };
    const id = await seedConversation(app, ended);
    await seedConversation(app, { ...ended, createdAt: daysAgo(1), status: 'ACTIVE' });
    expect((await app.data<RunResult, unknown>(RUN, {}, admin)).runArchive.conversations).toBe(1);
    const archived = { id, customer_id: customer.id };
    await expect(
      sql(
        `INSERT INTO messages_archive (id, conversation_id, seq, sender_role, content) VALUES (gen_random_uuid(), ?, 1, 'CUSTOMER', 'again')`,
        [archived.id],
      ),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(sql(`UPDATE conversations_archive SET status = 'ACTIVE' WHERE id = ?`, [archived.id])).rejects.toMatchObject({
      code: '23514',
    });
    await expect(
      sql(
        `INSERT INTO messages_archive (id, conversation_id, seq, sender_role, content) VALUES (gen_random_uuid(), gen_random_uuid(), 1, 'CUSTOMER', 'orphan')`,
      ),
    ).rejects.toMatchObject({ code: '23503' });
    // The customer's one open conversation is still the live one; another cannot be opened beside it.
    await expect(
      sql(
        `INSERT INTO conversations (id, customer_id, topic, status, priority, priority_rank) VALUES (gen_random_uuid(), ?, 'x', 'QUEUED', 'NORMAL', 2)`,
        [archived.customer_id],
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('two runs started at once: one runs, the other says one is already running', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    for (let i = 0; i < 10; i++) {
      await seedConversation(app, {
        customerId: customer.id,
        agentId: agent.id,
        departmentId: dept.id,
        createdAt: daysAgo(250 + i),
        messages: [{ content: '并发归档' }],
      });
    }
    // Hold the first run inside its first batch (its INSERT waits for this lock), so both really overlap.
    const blocker = new Client({ connectionString: app.databaseUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE conversations_archive IN EXCLUSIVE MODE');
      const first = app.exec<RunResult, unknown>(RUN, {}, admin);
      await waitForLockWaiter(blocker);
      const second = await app.exec<RunResult, unknown>(RUN, {}, admin);
      expect(second.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'ARCHIVE_RUNNING' });
      await blocker.query('COMMIT');
      const done = await first;
      expect(done.errors).toBeUndefined();
      expect(done.data!.runArchive.conversations).toBe(10);
    } finally {
      await blocker.end();
    }
    // Both at once, without help: exactly one moves what there is; the other runs or is refused, never both move it.
    const results = await Promise.all([app.exec<RunResult, unknown>(RUN, {}, admin), app.exec<RunResult, unknown>(RUN, {}, admin)]);
    for (const r of results) expect(r.errors === undefined || r.errors[0].extensions?.code === 'CONFLICT').toBe(true);
  });

  it('only admins start a run', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    for (const token of [manager.token, agent.token, customer.token]) {
      expect((await app.exec(RUN, {}, token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
  });
});

/** Until some other session waits for a lock (the archive run's INSERT behind the test's table lock). */
async function waitForLockWaiter(client: Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    // The client is inside a transaction, where PostgreSQL keeps the first pg_stat_activity it read: without this,
    // a poll that came before the run began to wait (a cold first run) saw "nobody waits" for the rest of the loop.
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
    );
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the archive run never waited for the lock');
}
