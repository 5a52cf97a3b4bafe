import { CreateApiKeyDocument, RevokeApiKeyDocument, RotateApiKeyDocument, TicketsDocument } from '../generated/graphql';
import { createTestDatabase, describeWithRedis, startTestApp, TestApp } from '../support/harness';
import { rawConnect, wsExec } from '../support/ws';

describeWithRedis('API keys across two servers over Redis', () => {
  let node1: TestApp;
  let node2: TestApp;
  let admin: string;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    // No overlap: a rotated-out secret stops at once, so the other server must drop it at once too.
    const env = { API_KEY_ROTATION_OVERLAP_SECONDS: '0' };
    node1 = await startTestApp({ redis: true, databaseUrl, env });
    node2 = await startTestApp({ redis: true, databaseUrl, env });
    admin = await node1.adminToken();
  }, 90_000);
  afterAll(async () => {
    await node2?.stop();
    await node1?.stop();
  });

  async function createKey() {
    const { createApiKey } = await node1.data(CreateApiKeyDocument, { input: { name: 'Cluster', scopes: ['TICKETS_READ'] } }, admin);
    return { id: createApiKey.apiKey.id, secret: createApiKey.secret };
  }

  it('a key revoked through one server is refused by the other, and its socket there closed, when the mutation returns', async () => {
    const { id, secret } = await createKey();
    expect((await node2.exec(TicketsDocument, {}, secret)).errors).toBeUndefined(); // cached on node 2
    const raw = await rawConnect(node2.wsUrl, { authorization: `Bearer ${secret}` });
    if (!raw.acked) throw new Error(`refused: ${raw.code} ${raw.reason}`);
    const closed = new Promise<number>((resolve) => raw.socket.once('close', (code) => resolve(code)));

    await node1.data(RevokeApiKeyDocument, { id }, admin);
    const res = await node2.exec(TicketsDocument, {}, secret);
    expect(res.status).toBe(401);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'KEY_REVOKED' });
    expect(await closed).toBe(4403);
  });

  it('a secret rotated out through one server is refused by the other at once, its open sockets too', async () => {
    const { id, secret } = await createKey();
    expect((await node2.exec(TicketsDocument, {}, secret)).errors).toBeUndefined(); // cached on node 2
    const client = node2.ws(secret);
    expect((await wsExec(client, TicketsDocument, {})).errors).toBeUndefined();

    const { rotateApiKey } = await node1.data(RotateApiKeyDocument, { id }, admin);
    expect((await node2.exec(TicketsDocument, {}, secret)).errors?.[0].extensions).toMatchObject({ reason: 'KEY_EXPIRED' });
    expect((await node2.exec(TicketsDocument, {}, rotateApiKey.secret)).errors).toBeUndefined();
    // The socket signed in with the old secret: its session ended with the (zero) overlap.
    const late = await wsExec(client, TicketsDocument, {});
    expect(late.data ?? null).toBeNull();
    expect(late.closeCode === 4403 || late.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED').toBe(true);
  });
});
