import pino from 'pino';
import { Client as PgClient } from 'pg';
import type { Client as WsClient } from 'graphql-ws';
import {
  AuditLogDocument,
  CommentOnTicketDocument,
  CreateTicketDocument,
  HeartbeatDocument,
  LoginDocument,
  RegisterCustomerDocument,
  RequestServiceDocument,
  SearchFaqsDocument,
  SendMessageDocument,
  UsersDocument,
} from '../generated/graphql';
import { createLogger } from '../../src/platform/logger';
import { GqlResult, startTestApp, subscribe, TestApp } from '../support/harness';

type Person = { id: string; token: string };
type Errors = GqlResult<unknown>['errors'];

/** The one error of a response: BAD_USER_INPUT, naming exactly `fields`. */
function expectBadInput(res: { data?: unknown; errors?: Errors }, fields: string[]): void {
  expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  expect(res.data ?? null).toBeNull();
  expect((res.errors![0].extensions?.fields ?? []).map((f: { field: string }) => f.field)).toEqual(fields);
}

/** An operation over graphql-ws: its first result, or the errors it ended with. */
async function overWebSocket(
  client: WsClient,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ data?: unknown; errors?: Errors }> {
  const sub = subscribe(client, query, variables);
  const ended = sub.done.then(() => ({ errors: sub.error as Errors }));
  return Promise.race([sub.next() as Promise<{ data?: unknown; errors?: Errors }>, ended]);
}

describe('control characters in string arguments are BAD_USER_INPUT, over HTTP and WebSocket, and write nothing', () => {
  const lines: string[] = [];
  let app: TestApp;
  let db: PgClient;
  let admin: string;
  let agent: Person;
  let customer: Person;
  let conversationId: string;
  let ticketId: string;

  /** What the requests below could have written. */
  const counts = async () =>
    (
      await db.query(`SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM messages) AS messages,
        (SELECT count(*) FROM tickets) AS tickets, (SELECT count(*) FROM ticket_comments) AS comments,
        (SELECT count(*) FROM audit_entries) AS audit`)
    ).rows[0];

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    app = await startTestApp({ logger, env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    db = new PgClient({ connectionString: app.databaseUrl });
    await db.connect();
    admin = await app.adminToken();
    const dept = await app.createDepartment('订单问题', 'order');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 10 });
    await app.data(HeartbeatDocument, {}, agent.token);
    customer = await app.createUser({ role: 'CUSTOMER' });
    conversationId = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, customer.token)).requestService
      .conversation!.id;
    ticketId = (
      await app.data(
        CreateTicketDocument,
        { input: { subject: '无法登录', description: '提示密码错误', category: '技术支持' } },
        customer.token,
      )
    ).createTicket.id;
  });
  afterAll(async () => {
    await db?.end();
    await app?.stop();
  });

  const NUL = '\u0000';

  /** Each operation of the issue, as [name, query, variables, caller, fields named]. */
  const cases = (): Array<[string, string, Record<string, unknown>, string | null, string[]]> => [
    [
      'login (email)',
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: `a${NUL}@test.local`, p: 'password-123' },
      null,
      ['email'],
    ],
    [
      'login (password)',
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: 'a@test.local', p: `pass${NUL}word` },
      null,
      ['password'],
    ],
    [
      'registerCustomer',
      'mutation ($input: RegisterCustomerInput!) { registerCustomer(input: $input) { token } }',
      { input: { email: 'nul@test.local', password: 'password-123', displayName: `Nu${NUL}l` } },
      null,
      ['input.displayName'],
    ],
    [
      'sendMessage',
      'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { conversationId: '', content: `hello${NUL}world`, clientMessageId: 'nul-1' } },
      'customer',
      ['input.content'],
    ],
    [
      'createTicket (a list item too)',
      'mutation ($input: CreateTicketInput!) { createTicket(input: $input) { id } }',
      { input: { subject: `sub${NUL}ject`, description: 'x', category: '技术支持', tags: ['ok', `b\u0001d`] } },
      'customer',
      ['input.subject', 'input.tags[1]'],
    ],
    [
      'users(filter.search)',
      'query ($f: UserFilter) { users(filter: $f) { nodes { id } } }',
      { f: { search: `ad${NUL}min` } },
      'admin',
      ['filter.search'],
    ],
    ['searchFaqs', 'query ($q: String!) { searchFaqs(query: $q) { score } }', { q: `退${NUL}款` }, 'customer', ['query']],
    [
      'commentOnTicket',
      'mutation ($id: ID!, $body: String!) { commentOnTicket(id: $id, body: $body) { id } }',
      { id: '', body: `please${NUL}` },
      'customer',
      ['body'],
    ],
    [
      'an ID',
      'mutation ($id: ID!, $body: String!) { commentOnTicket(id: $id, body: $body) { id } }',
      { id: `${NUL}`, body: 'fine' },
      'customer',
      ['id'],
    ],
  ];

  /** Fills in what beforeAll made (ids, tokens). */
  const prepare = (variables: Record<string, unknown>, who: string | null) => {
    const json = JSON.stringify(variables);
    const filled = JSON.parse(json) as Record<string, any>;
    if (filled.input?.conversationId === '') filled.input.conversationId = conversationId;
    if (filled.id === '') filled.id = ticketId;
    const token = who === 'admin' ? admin : who === 'customer' ? customer.token : null;
    return { variables: filled, token };
  };

  it.each(cases().map((c) => [c[0], c] as const))('over HTTP: %s', async (_name, [, query, vars, who, fields]) => {
    const before = await counts();
    const { variables, token } = prepare(vars, who);
    const res = await app.exec(query, variables, token);
    expectBadInput(res, fields);
    // the message says what is wrong without echoing the value
    expect(res.errors![0].message).toMatch(/control character|控制字符/); // customers read Chinese by default
    expect(JSON.stringify(res.errors)).not.toContain(NUL);
    expect(await counts()).toEqual(before);
  });

  it.each(cases().map((c) => [c[0], c] as const))('over graphql-ws: %s', async (_name, [, query, vars, who, fields]) => {
    const before = await counts();
    const { variables, token } = prepare(vars, who);
    // a socket needs a signed-in user; login and registerCustomer run for anyone
    const res = await overWebSocket(app.ws(token ?? customer.token), query, variables);
    expectBadInput(res, fields);
    expect(await counts()).toEqual(before);
  });

  it('in a literal of the document too', async () => {
    const before = await counts();
    const res = await app.exec(
      'mutation { registerCustomer(input: { email: "lit@test.local", password: "password-123", displayName: "a\\u0007b" }) { token } }',
    );
    expectBadInput(res, ['input.displayName']);
    const search = await app.exec(`{ searchFaqs(query: "\\u001b[31m") { score } }`, undefined, customer.token);
    expectBadInput(search, ['query']);
    expect(await counts()).toEqual(before);
  });

  it('in a custom scalar (a date-time): refused when the value is parsed', async () => {
    const res = await app.exec(AuditLogDocument, { filter: { from: `2024-01-01T00:00:00Z${NUL}` } }, admin);
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('in a subscription’s arguments', async () => {
    const res = await overWebSocket(
      app.ws(customer.token),
      'subscription ($id: ID!) { conversationEvents(conversationId: $id) { __typename } }',
      {
        id: `${conversationId}${NUL}`,
      },
    );
    const errors = res.errors;
    expect(errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect((errors![0].extensions?.fields ?? []).map((f: { field: string }) => f.field)).toEqual(['conversationId']);
  });

  it('tab, line feed and carriage return are kept in text', async () => {
    const content = 'line one\r\nline two\tcolumn';
    const sent = await app.data(SendMessageDocument, { input: { conversationId, content, clientMessageId: 'tabs-1' } }, customer.token);
    expect(sent.sendMessage.content).toBe(content);
    const comment = await app.data(CommentOnTicketDocument, { id: ticketId, body: 'a\n\tb' }, customer.token);
    expect(comment.commentOnTicket.body).toBe('a\n\tb');
  });

  it('the refused values are not in the logs, and nothing is logged as an error', async () => {
    const secret = `secret-${Date.now()}`;
    lines.length = 0;
    await app.exec(LoginDocument, { email: `${secret}${NUL}@test.local`, password: 'password-123' });
    await app.exec(RegisterCustomerDocument, { input: { email: 'x@test.local', password: `${secret}${NUL}`, displayName: 'X' } });
    await app.exec(SearchFaqsDocument, { query: `${secret}${NUL}` }, customer.token);
    await app.exec(UsersDocument, { filter: { search: `${secret}${NUL}` } }, admin);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50)).toEqual([]);
  });
});

describe('forged cursors are BAD_USER_INPUT on every connection', () => {
  let app: TestApp;
  let admin: string;
  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    for (let i = 0; i < 3; i++) await app.createUser({ role: 'CUSTOMER' });
  });
  afterAll(() => app.stop());

  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const uuid = '00000000-0000-4000-8000-000000000000';
  const forged: Array<[string, string]> = [
    ['a number where a date belongs', cursor([1e308, uuid])],
    ['a small number where a date belongs', cursor([42, uuid])],
    ['a date past the end of time', cursor(['+275760-09-13T00:00:00Z', uuid])],
    ['the largest date JavaScript knows', cursor(['+275760-09-13T00:00:00.000Z', uuid])],
    ['an impossible date in the right shape', cursor(['2024-13-45T99:99:99.999Z', uuid])],
    ['a date without a time', cursor(['2024-01-01', uuid])],
    ['a string where the id belongs', cursor([new Date().toISOString(), 'not-a-uuid'])],
    ['a number where the id belongs', cursor([new Date().toISOString(), 1e308])],
    ['nulls', cursor([null, null])],
    ['objects', cursor([{ $gt: 1 }, uuid])],
    ['a NUL in a string', cursor([`2024-01-01T00:00:00.000Z\u0000`, uuid])],
    ['one value too many', cursor([new Date().toISOString(), uuid, 1])],
    ['not JSON', 'bm90IGpzb24'],
    ['not base64', '!!!'],
  ];

  it.each(forged)('users: %s', async (_what, after) => {
    const res = await app.exec(UsersDocument, { first: 1, after }, admin);
    expectBadInput(res, ['after']);
  });

  it.each(forged)('auditLog: %s', async (_what, after) => {
    const res = await app.exec(AuditLogDocument, { first: 1, after }, admin);
    expectBadInput(res, ['after']);
  });

  it('a real cursor still pages', async () => {
    const first = (await app.data(UsersDocument, { first: 2 }, admin)).users;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = (await app.data(UsersDocument, { first: 2, after: first.pageInfo.endCursor }, admin)).users;
    expect(next.nodes.map((n) => n.id)).not.toContain(first.nodes[0].id);
    expect(next.nodes).toHaveLength(2);
  });
});

describe('logs keep no message content, passwords or tokens, also when the database refuses a statement', () => {
  const lines: string[] = [];
  let app: TestApp;
  let db: PgClient;
  let customer: Person;
  let conversationId: string;

  /** The log lines of a response's trace id. */
  const logsOf = (res: GqlResult<unknown>) => lines.map((l) => JSON.parse(l)).filter((l) => l.traceId === res.headers.get('x-trace-id'));

  beforeAll(async () => {
    // the production logger (its serializers are under test), writing into memory, SQL statements included
    const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
    app = await startTestApp({ logger, env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    db = new PgClient({ connectionString: app.databaseUrl });
    await db.connect();
    // A database that refuses some rows, as a constraint or a trigger of a real deployment might, and whose
    // error repeats the row's values (as PostgreSQL's own "Failing row contains (…)" details do).
    await db.query(`
      CREATE FUNCTION refuse_marked_rows() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF to_jsonb(NEW)::text LIKE '%REFUSE-ME%' THEN
          RAISE EXCEPTION 'refused by the test trigger'
            USING DETAIL = format('Failing row contains (%s).', (SELECT string_agg(value, ', ') FROM jsonb_each_text(to_jsonb(NEW))));
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_marked_users BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_marked_rows();
      CREATE TRIGGER refuse_marked_messages BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_marked_rows();`);
    const dept = await app.createDepartment('订单问题', 'order');
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    await app.data(HeartbeatDocument, {}, agent.token);
    customer = await app.createUser({ role: 'CUSTOMER' });
    conversationId = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, customer.token)).requestService
      .conversation!.id;
  });
  afterAll(async () => {
    await db?.end();
    await app?.stop();
  });

  it('a refused registration is logged as an error without the e-mail, name or password', async () => {
    const secret = { email: 'refuse-me-4711@test.local', displayName: 'REFUSE-ME Ada 4711', password: 'hunter2-REFUSE-ME-4711' };
    const res = await app.exec(RegisterCustomerDocument, { input: secret });
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    const logged = logsOf(res);
    // the operator still learns what failed and where
    const errors = logged.filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0].err).toMatchObject({
      code: 'P0001',
      message: expect.stringMatching(/^insert into "users" .* - refused by the test trigger/s),
    });
    const text = JSON.stringify(logged);
    for (const value of Object.values(secret)) expect(text).not.toContain(value);
  });

  it('a refused chat message is logged without its content', async () => {
    const content = 'my card number is 4111-REFUSE-ME-1111';
    const res = await app.exec(SendMessageDocument, { input: { conversationId, content, clientMessageId: 'refused-1' } }, customer.token);
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    const logged = logsOf(res);
    expect(logged.filter((l) => l.level >= 50).length).toBeGreaterThanOrEqual(1);
    const text = JSON.stringify(logged);
    expect(text).toContain('refused by the test trigger');
    expect(text).not.toContain('4111');
  });

  it('statements logged at trace level carry no values, and tokens are never logged', async () => {
    const content = 'a private note 90210';
    const res = await app.exec(SendMessageDocument, { input: { conversationId, content, clientMessageId: 'traced-1' } }, customer.token);
    expect(res.errors).toBeUndefined();
    const login = await app.exec(LoginDocument, { email: 'nobody-90210@test.local', password: 'pw-90210-secret' });
    expect(login.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(lines.some((l) => JSON.parse(l).sql)).toBe(true);
    const text = lines.join('\n');
    expect(text).not.toContain('90210');
    expect(text).not.toContain(customer.token);
  });
});
