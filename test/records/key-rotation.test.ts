import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import {
  CreateTicketDocument,
  EncryptionStatusDocument,
  HeartbeatDocument,
  PiiSendMessageDocument,
  RequestServiceDocument,
  RevealTextDocument,
} from '../generated/graphql';
import { Client as PgClient } from 'pg';
import { createTestDatabase, eventually, startTestApp, TestApp, testEnv } from '../support/harness';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const PHONE = '13812345678';

describe('ENCRYPTION_KEYS', () => {
  it('refuses a malformed keyring or one lacking its current key, naming the variable and never echoing a key', () => {
    const bad = [
      'k1', // no key material
      'k1:c2hvcnQ=', // not 32 bytes
      `k1:${K1},k1:${K2}`, // an id twice
      `bad id:${K1}`,
      `k1:${K1};current=k3`, // the current key is not in the keyring
      `k1:${K1};rotate=now`,
    ];
    for (const value of bad) {
      let message = '';
      try {
        loadConfig(testEnv('postgres://localhost/x', { ENCRYPTION_KEYS: value }));
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/ENCRYPTION_KEYS: /);
      expect(message).not.toContain(K1);
      expect(message).not.toContain(K2);
    }
    expect(loadConfig(testEnv('postgres://localhost/x', { ENCRYPTION_KEYS: `k1:${K1},k2:${K2}` })).encryption.keyring?.currentId).toBe(
      'k2',
    );
    expect(
      loadConfig(testEnv('postgres://localhost/x', { ENCRYPTION_KEYS: `k1:${K1},k2:${K2};current=k1` })).encryption.keyring?.currentId,
    ).toBe('k1');
  });
});

describe('a keyring generated into DATA_DIR', () => {
  it('is made once when ENCRYPTION_KEYS is unset and used again by the next start', async () => {
    const first = await startTestApp({ env: { ENCRYPTION_KEYS: '' } });
    const dataDir = first.services.config.dataDir;
    const kept = JSON.parse(readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as { encryptionKeys: string };
    expect(kept.encryptionKeys).toMatch(/^k1:[A-Za-z0-9+/]{43}=$/);
    const customer = await first.createUser({ role: 'CUSTOMER' });
    const ticket = (
      await first.data(
        CreateTicketDocument,
        { input: { subject: `回电 ${PHONE}`, description: '', category: '技术支持' } } as never,
        customer.token,
      )
    ).createTicket;
    await first.stop();
    const again = await startTestApp({ databaseUrl: first.databaseUrl, env: { ENCRYPTION_KEYS: '', DATA_DIR: dataDir } });
    try {
      expect(
        (
          await again.data(
            RevealTextDocument,
            { kind: 'TICKET_SUBJECT', id: ticket.id, reason: '重启后核对' } as never,
            await again.adminToken(),
          )
        ).revealText,
      ).toBe(`回电 ${PHONE}`);
    } finally {
      await again.stop();
    }
  });
});

describe('key rotation', () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.stop())));
  const start = async (databaseUrl: string, keys: string) => {
    const app = await startTestApp({ databaseUrl, env: { ENCRYPTION_KEYS: keys, TICKET_SLA_SWEEP_SECONDS: '3600' } });
    apps.push(app);
    return app;
  };
  const stop = async (app: TestApp) => {
    await app.stop();
    apps.splice(apps.indexOf(app), 1);
  };

  it('a new current key wraps new data keys; two processes re-wrap the old ones; then the old key can go, and start-up refuses a keyring lacking a key in use', async () => {
    const databaseUrl = await createTestDatabase();
    const first = await start(databaseUrl, `k1:${K1}`);
    const customer = await first.createUser({ role: 'CUSTOMER' });
    const ticket = (
      await first.data(
        CreateTicketDocument,
        { input: { subject: `回电 ${PHONE}`, description: '', category: '技术支持' } } as never,
        customer.token,
      )
    ).createTicket;
    // Enough data keys for several batches of the rotation.
    for (let i = 0; i < 450; i++) await first.services.dataKeys.forSubject(randomUUID());
    expect((await first.data(EncryptionStatusDocument, {}, await first.adminToken())).encryptionStatus).toMatchObject({
      currentKeyId: 'k1',
      masterKeys: [{ keyId: 'k1', dataKeys: 451 }],
      pendingRewrap: 0,
    });
    await stop(first);

    await expect(startTestApp({ databaseUrl, env: { ENCRYPTION_KEYS: `k2:${K2}` } })).rejects.toThrow(
      /ENCRYPTION_KEYS: lacks master key k1 \(wraps 451 data keys\)/,
    );
    // Another key under the same id (a process that generated its own keyring) is refused as well.
    await expect(startTestApp({ databaseUrl, env: { ENCRYPTION_KEYS: `k1:${K2}` } })).rejects.toThrow(
      /ENCRYPTION_KEYS: key k1 is not the key k1 this database was written with/,
    );

    const [a, b] = [await start(databaseUrl, `k1:${K1},k2:${K2}`), await start(databaseUrl, `k1:${K1},k2:${K2}`)];
    const before = (await a.data(EncryptionStatusDocument, {}, await a.adminToken())).encryptionStatus;
    expect(before).toMatchObject({ currentKeyId: 'k2', configuredKeyIds: ['k1', 'k2'], dataKeys: 451 });
    // New writes get keys wrapped by k2 at once.
    const late = await a.createUser({ role: 'CUSTOMER' });
    await a.data(
      CreateTicketDocument,
      { input: { subject: `新号码 ${PHONE}`, description: '', category: '技术支持' } } as never,
      late.token,
    );
    // Both processes re-wrap at once (their scheduled runs may join in): SKIP LOCKED shares the rows out. A run
    // passes over the batches a scheduled run holds and returns; those commit a moment later.
    await Promise.all([a.services.keyRotation.run(), b.services.keyRotation.run()]);
    const status = async () => (await b.data(EncryptionStatusDocument, {}, await b.adminToken())).encryptionStatus;
    await eventually(async () => (await status()).pendingRewrap === 0, 10_000, 'every data key re-wrapped');
    const after = await status();
    expect(after).toMatchObject({ currentKeyId: 'k2', masterKeys: [{ keyId: 'k2', dataKeys: 452 }], dataKeys: 452, pendingRewrap: 0 });
    expect(after.lastRewrappedAt).not.toBeNull();
    for (const app of [a, b]) {
      expect(
        (
          await app.data(
            RevealTextDocument,
            { kind: 'TICKET_SUBJECT', id: ticket.id, reason: '轮换后核对' } as never,
            await app.adminToken(),
          )
        ).revealText,
      ).toBe(`回电 ${PHONE}`);
    }
    await stop(a);
    await stop(b);

    // Nothing refers to k1 any more: it can be removed.
    const last = await start(databaseUrl, `k2:${K2}`);
    expect(
      (
        await last.data(
          RevealTextDocument,
          { kind: 'TICKET_SUBJECT', id: ticket.id, reason: '移除旧密钥后核对' } as never,
          await last.adminToken(),
        )
      ).revealText,
    ).toBe(`回电 ${PHONE}`);
  });
});

describe('data keys under concurrency', () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.stop())));
  /** A server on a database of the test's own (or on `databaseUrl`), stopped after the file. */
  const start = async (env: Record<string, string>, databaseUrl?: string) => {
    const app = await startTestApp({ env, databaseUrl });
    apps.push(app);
    return app;
  };

  it('two processes asked at once for a new subject’s key agree on one key; reveals racing an erasure answer original or masked, never an error', async () => {
    const env = { RATE_REVEAL_TEXT_PER_HOUR: '1000', ENCRYPTION_KEYS: `k1:${K1}` };
    const app = await start(env);
    const other = await start(env, app.databaseUrl);
    const subject = randomUUID();
    const keys = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? app : other).services.dataKeys.forSubject(subject)));
    expect(new Set(keys.map((k) => k!.id)).size).toBe(1);
    expect(new Set(keys.map((k) => k!.key.toString('hex'))).size).toBe(1);
    const [{ n }] = await app.services.orm.em
      .fork()
      .execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM data_keys WHERE subject_id = ?`, [subject]);
    expect(n).toBe(1);

    const customer = await app.createUser({ role: 'CUSTOMER' });
    const ticket = (
      await app.data(
        CreateTicketDocument,
        { input: { subject: `回电 ${PHONE}`, description: '', category: '技术支持' } } as never,
        customer.token,
      )
    ).createTicket;
    const admin = await app.adminToken();
    const reveal = () => app.exec(RevealTextDocument, { kind: 'TICKET_SUBJECT' as never, id: ticket.id, reason: '并发核对' }, admin);
    const [forgot, ...reveals] = await Promise.all([
      other.exec(`mutation ($id: ID!) { forgetCustomer(userId: $id, reason: "并发删除") }`, { id: customer.id }, await other.adminToken()),
      ...Array.from({ length: 10 }, reveal),
    ]);
    expect(forgot.errors).toBeUndefined();
    for (const r of reveals) {
      expect(r.errors).toBeUndefined();
      expect([`回电 ${PHONE}`, '回电 138****5678']).toContain(r.data!.revealText);
    }
    expect((await reveal()).data!.revealText).toBe('回电 138****5678');
  });

  it('rotation skips the data keys a crashed process held, and a later run re-wraps them', async () => {
    const app = await start({ ENCRYPTION_KEYS: `k1:${K1}` });
    for (let i = 0; i < 30; i++) await app.services.dataKeys.forSubject(randomUUID());
    const rotating = await start({ ENCRYPTION_KEYS: `k1:${K1},k2:${K2};current=k2` }, app.databaseUrl);
    const crashed = new PgClient({ connectionString: app.databaseUrl });
    await crashed.connect();
    try {
      // A process mid-batch: five rows locked by its uncommitted transaction.
      await crashed.query('BEGIN');
      const held = await crashed.query(`SELECT id FROM data_keys WHERE master_key_id = 'k1' ORDER BY id LIMIT 5 FOR UPDATE`);
      expect(held.rowCount).toBe(5);
      await rotating.services.keyRotation.run();
      const status = async () => (await rotating.data(EncryptionStatusDocument, {}, await rotating.adminToken())).encryptionStatus;
      expect((await status()).pendingRewrap).toBe(5);
      await crashed.query('ROLLBACK'); // the crash: its batch is lost, its rows free again
      await rotating.services.keyRotation.run();
      expect(await status()).toMatchObject({ pendingRewrap: 0, masterKeys: [{ keyId: 'k2' }] });
    } finally {
      await crashed.end();
    }
  });
});

describe('revealText by agents, when configured', () => {
  let app: TestApp;
  afterAll(() => app.stop());

  it('agents of an allowed department reveal their own conversations only', async () => {
    app = await startTestApp({
      env: { ROUTING_REQUIRE_SHIFT: 'false', REVEAL_ROLES: 'CUSTOMER,AGENT,MANAGER,ADMIN', REVEAL_AGENT_DEPARTMENTS: 'technical' },
    });
    const dept = await app.createDepartment('技术支持', 'technical');
    const other = await app.createDepartment('账务', 'billing');
    const agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 10 });
    await app.data(HeartbeatDocument, {}, agent.token);
    const colleague = await app.createUser({ role: 'AGENT', departmentId: dept.id });
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const conversation = (await app.data(RequestServiceDocument, { input: { topic: 'technical', message: '你好' } }, customer.token))
      .requestService.conversation!;
    expect(conversation.agent?.id).toBe(agent.id);
    const m = (
      await app.data(
        PiiSendMessageDocument,
        { input: { conversationId: conversation.id, content: `电话 ${PHONE}`, clientMessageId: 'a-1' } },
        customer.token,
      )
    ).sendMessage;
    const reveal = (token: string) => app.exec(RevealTextDocument, { kind: 'MESSAGE' as never, id: m.id, reason: '回访客户' }, token);
    expect((await reveal(agent.token)).data?.revealText).toBe(`电话 ${PHONE}`);
    expect((await reveal(colleague.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    await app.services.orm.em.fork().execute(`UPDATE conversations SET department_id = ? WHERE id = ?`, [other.id, conversation.id]);
    expect((await reveal(agent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
