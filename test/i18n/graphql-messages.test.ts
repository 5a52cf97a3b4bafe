import { chineseGraphqlMessage, graphqlMessageTable } from '../../src/platform/i18n/graphql-messages';
import { startTestApp, subscribe, TestApp } from '../support/harness';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/**
 * graphql-js's own parse, validation and variable messages reach a zh-CN reader in Chinese, the English kept
 * in `extensions.originalMessage`; English readers get them exactly as graphql-js writes them.
 */
describe('graphql-js’s own messages in zh-CN', () => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => {
    app = await startTestApp();
    token = (await app.createUser({ role: 'MANAGER', departmentId: (await app.createDepartment('Gql', 'gql')).id })).token;
  });
  afterAll(() => app.stop());

  /** What a playground user meets, each with graphql-js's English and the Chinese. */
  const cases: Array<{ what: string; query: string; variables?: Record<string, unknown>; en: string; zh: string }> = [
    {
      what: 'an unknown field',
      query: '{ me { nope } }',
      en: 'Cannot query field "nope" on type "User".',
      zh: '类型 "User" 上没有可查询的字段 "nope"。',
    },
    {
      what: 'a syntax error',
      query: '{ me { id }',
      en: 'Syntax Error: Expected Name, found <EOF>.',
      zh: '语法错误：此处应为 Name，实际为 <EOF>。',
    },
    {
      what: 'a missing required argument',
      query: '{ ticket { id } }',
      en: 'Field "ticket" argument "id" of type "ID!" is required, but it was not provided.',
      zh: '字段 "ticket" 的参数 "id"（类型 "ID!"）为必填项，但未提供。',
    },
    {
      what: 'a field without its subfields',
      query: '{ me }',
      en: 'Field "me" of type "User!" must have a selection of subfields. Did you mean "me { ... }"?',
      zh: '字段 "me"（类型 "User!"）必须选择子字段。是否应为 "me { ... }"？',
    },
    {
      what: 'a required variable not given',
      query: 'query Q($id: ID!) { ticket(id: $id) { id } }',
      en: 'Variable "$id" of required type "ID!" was not provided.',
      zh: '必填变量 "$id"（类型 "ID!"）未提供。',
    },
    {
      what: 'a variable of the wrong type',
      query: 'query Q($first: Int) { notifications(first: $first) { nodes { id } } }',
      variables: { first: 'ten' },
      en: 'Variable "$first" got invalid value "ten"; Int cannot represent non-integer value: "ten"',
      zh: '变量 "$first" 的值 "ten" 无效：Int 不能表示非整数值："ten"',
    },
    {
      what: 'an unused variable',
      query: 'query Q($x: Int) { me { id } }',
      en: 'Variable "$x" is never used in operation "Q".',
      zh: '变量 "$x" 在操作 "Q" 中未被使用。',
    },
    {
      what: 'a date that is not one (the DateTimeISO scalar)',
      query: 'mutation M($at: DateTimeISO!) { addForecastOverride(departmentId: "x", factor: 1, from: $at, to: $at, reason: "r") { id } }',
      variables: { at: 'tomorrow' },
      en: 'Variable "$at" got invalid value "tomorrow"; DateTime cannot represent an invalid date-time-string tomorrow.',
      zh: '变量 "$at" 的值 "tomorrow" 无效：DateTime 不能表示无效的日期时间字符串 tomorrow。',
    },
    {
      what: 'two fields under one response name (overlapping fields)',
      query: '{ me { x: id x: displayName } }',
      en: 'Fields "x" conflict because "id" and "displayName" are different fields. Use different aliases on the fields to fetch both if this was intentional.',
      zh: '字段 "x" 相互冲突："id" 和 "displayName" 是不同的字段。如确需同时获取，请为这些字段使用不同的别名。',
    },
    {
      what: 'one field twice with differing arguments',
      query: '{ notifications(first: 1) { nodes { id } } notifications(first: 2) { nodes { id } } }',
      en: 'Fields "notifications" conflict because they have differing arguments. Use different aliases on the fields to fetch both if this was intentional.',
      zh: '字段 "notifications" 相互冲突：它们的参数不同。如确需同时获取，请为这些字段使用不同的别名。',
    },
    {
      what: 'subfields that conflict, nested',
      query: '{ notifications { nodes { x: id } } notifications { nodes { x: kind } } }',
      en: 'Fields "notifications" conflict because subfields "nodes" conflict because subfields "x" conflict because "id" and "kind" are different fields. Use different aliases on the fields to fetch both if this was intentional.',
      zh: '字段 "notifications" 相互冲突：子字段 "nodes" 相互冲突：子字段 "x" 相互冲突："id" 和 "kind" 是不同的字段。如确需同时获取，请为这些字段使用不同的别名。',
    },
  ];

  it.each(cases)('over HTTP: $what', async ({ query, variables, en, zh }) => {
    const english = await app.exec(query, variables, token);
    expect(english.errors?.[0].message).toBe(en);
    expect(english.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(english.errors?.[0].extensions).not.toHaveProperty('originalMessage');

    const chinese = await app.exec(query, variables, token, { 'accept-language': 'zh-CN' });
    expect(chinese.errors?.[0].message).toBe(zh);
    expect(chinese.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', originalMessage: en });
  });

  it('a customer reads them in Chinese without asking (their default); suggestions are left out in both languages', async () => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const res = await app.exec('{ me { displayNam } }', undefined, customer.token);
    expect(res.errors?.[0]).toMatchObject({
      message: '类型 "User" 上没有可查询的字段 "displayNam"。',
      extensions: {
        code: 'BAD_USER_INPUT',
        reason: 'GRAPHQL_VALIDATION_FAILED',
        originalMessage: 'Cannot query field "displayNam" on type "User".',
      },
    });
  });

  it('over graphql-ws, in the language of connection_init', async () => {
    /** The errors graphql-ws sends for an operation refused before it runs (parse, validation, variables). */
    const refused = async (locale: string | null, query: string, variables?: Record<string, unknown>) => {
      const params = { authorization: `Bearer ${token}`, ...(locale ? { locale } : {}) };
      const sub = subscribe(app.ws(token, { connectionParams: params }), query, variables);
      await sub.done;
      return (sub.error as Array<{ message: string; extensions?: Record<string, unknown> }>)[0];
    };
    expect(await refused('zh-CN', '{ me { nope } }')).toMatchObject({
      message: '类型 "User" 上没有可查询的字段 "nope"。',
      extensions: { code: 'BAD_USER_INPUT', originalMessage: 'Cannot query field "nope" on type "User".' },
    });
    const required = 'query Q($id: ID!) { ticket(id: $id) { id } }';
    expect((await refused(null, required, {})).message).toBe('Variable "$id" of required type "ID!" was not provided.');
    expect((await refused('zh-CN', required, {})).message).toBe('必填变量 "$id"（类型 "ID!"）未提供。');
  });

  it('a message with a part the table does not know stays English whole', () => {
    expect(chineseGraphqlMessage('Syntax Error: Something new.')).toBeNull();
    expect(chineseGraphqlMessage('Variable "$x" got invalid value 1; Something new.')).toBeNull();
    expect(
      chineseGraphqlMessage(
        'Fields "x" conflict because something new. Use different aliases on the fields to fetch both if this was intentional.',
      ),
    ).toBeNull();
    // graphql-js cuts a long reason short with "...": a part cut in the middle stays English, the message whole.
    expect(
      chineseGraphqlMessage(
        'Fields "x" conflict because "a" and "b" are differ.... Use different aliases on the fields to fetch both if this was intentional.',
      ),
    ).toBeNull();
  });

  it('every format has the same placeholders in Chinese, and an example of it is translated', () => {
    for (const [en, zh] of graphqlMessageTable()) {
      expect({ en, params: placeholders(zh) }).toEqual({ en, params: placeholders(en) });
      const example = en.replace(/\{inner\}/g, 'Unterminated string.').replace(/\{\w+\}/g, 'X');
      expect({ example, translated: chineseGraphqlMessage(example) !== null }).toEqual({ example, translated: true });
    }
  });
});
