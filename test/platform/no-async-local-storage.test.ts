import { AsyncLocalStorage } from 'node:async_hooks';
import {
  EndConversationDocument,
  HeartbeatDocument,
  OnInboxDocument,
  RequestServiceDocument,
  SendMessageDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';

/**
 * One AsyncLocalStorage in use makes Node run a hook for every promise and callback of the whole process (~5 %
 * of its CPU and ~3 KiB per connection, docs/benchmarks.md). ShiftDesk passes its request's trace id and locale explicitly,
 * runs transactions without MikroORM's TransactionContext (platform/db/transaction.ts) and flushes without its
 * `insideFlush` (platform/db/orm.ts). A library upgrade that brings one back fails here, naming the caller.
 */
describe('no AsyncLocalStorage while serving', () => {
  let app: TestApp;
  const entered: string[] = [];
  const prototype = AsyncLocalStorage.prototype as unknown as Record<'run' | 'enterWith', (...args: unknown[]) => unknown>;
  const original = { run: prototype.run, enterWith: prototype.enterWith };

  beforeAll(async () => {
    for (const method of ['run', 'enterWith'] as const) {
      prototype[method] = function (this: unknown, ...args: unknown[]) {
        entered.push(`${method}\n${new Error().stack?.split('\n').slice(2, 8).join('\n')}`);
        return original[method].apply(this, args);
      };
    }
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
  });
  afterAll(async () => {
    Object.assign(prototype, original);
    await app.stop();
  });

  it('through a whole chat: HTTP and graphql-ws, errors in two languages, transactions and flushes', async () => {
    entered.length = 0; // starting the app is not serving
    const dept = await app.createDepartment('售后服务', 'after_sales_als');
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 3 });
    const customer = await app.createUser({ role: 'CUSTOMER' });
    await app.data(HeartbeatDocument, {}, agent.token);
    const inbox = subscribe(app.ws(agent.token), OnInboxDocument, {});

    const asked = await app.data(RequestServiceDocument, { input: { topic: 'after_sales_als', message: '我想退票' } }, customer.token);
    const id = asked.requestService.conversation!.id;
    // A send over graphql-ws (its one result, then complete), a reply over HTTP.
    const sent = subscribe(app.ws(customer.token), SendMessageDocument, {
      input: { conversationId: id, content: '请问多久到账？', clientMessageId: 'als-1' },
    });
    expect((await sent.next(5000)).data?.sendMessage.seq).toBeGreaterThan(0);
    await app.data(
      SendMessageDocument,
      { input: { conversationId: id, content: '三到五个工作日。', clientMessageId: 'als-2' } },
      agent.token,
    );
    await eventually(() => inbox.received.length > 0, 5000, 'an inbox event');

    const refused = await app.exec('{ nope }', undefined, customer.token, { 'accept-language': 'zh-CN' });
    expect(refused.errors?.[0].extensions?.traceId).toEqual(expect.any(String));
    const unauthenticated = await app.exec('{ me { id } }', undefined, 'not-a-token', { 'accept-language': 'en' });
    expect(unauthenticated.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    await app.data(EndConversationDocument, { id }, agent.token);

    expect(entered).toEqual([]);
  });
});
