import {
  ApiKeysDocument,
  CreateApiKeyDocument,
  CreateTicketDocument,
  MeDocument,
  RevokeApiKeyDocument,
  RotateApiKeyDocument,
  TicketsDocument,
  UsersDocument,
} from '../generated/graphql';
import type { ApiKeyScope } from '../generated/graphql';
import { createHash, randomUUID } from 'node:crypto';
import { AuditEntry } from '../../src/modules/audit/audit-entry.entity';
import { ApiKeyScope as Scope, REQUIRED_SCOPE } from '../../src/modules/integrations/api-key-scope';
import { createSchema } from '../../src/schema';
import { startTestApp, TestApp } from '../support/harness';
import { rawConnect, closeRaw, wsExec } from '../support/ws';

/** A small per-key budget, so the rate limit is reached in a few calls. */
const USES_PER_MINUTE = 25;

describe('API keys', () => {
  let app: TestApp;
  let admin: string;
  let departmentId: string;
  let otherDepartmentId: string;
  let manager: { id: string; token: string };
  let customerId: string;

  beforeAll(async () => {
    // Sockets re-read their principal every second: the backstop for a revocation event that never arrived.
    app = await startTestApp({ env: { API_KEY_USES_PER_MINUTE: String(USES_PER_MINUTE), WS_SESSION_RECHECK_SECONDS: '1' } });
    admin = await app.adminToken();
    departmentId = (await app.createDepartment('Keys', 'keys')).id;
    otherDepartmentId = (await app.createDepartment('Elsewhere', 'elsewhere')).id;
    manager = await app.createUser({ role: 'MANAGER', departmentId });
    customerId = (await app.createUser({ role: 'CUSTOMER' })).id;
  });
  afterAll(() => app.stop());

  const em = () => app.services.orm.em.fork();
  const keyCount = async () => Number((await em().execute('SELECT count(*) AS n FROM api_keys'))[0].n);
  const auditOf = (keyId: string, action: string) => em().count(AuditEntry, { targetType: 'api_key', targetId: keyId, action });

  async function createKey(scopes: ApiKeyScope[], opts: { departmentId?: string | null; token?: string; expiresAt?: string } = {}) {
    const { createApiKey } = await app.data(
      CreateApiKeyDocument,
      { input: { name: 'Bridge', scopes, departmentId: opts.departmentId ?? null, expiresAt: opts.expiresAt ?? null } },
      opts.token ?? admin,
    );
    return { id: createApiKey.apiKey.id, secret: createApiKey.secret, key: createApiKey.apiKey };
  }

  describe('createApiKey', () => {
    it('returns the secret once and stores only its SHA-256', async () => {
      const { id, secret, key } = await createKey(['TICKETS_READ', 'CONVERSATIONS_READ']);
      expect(secret).toMatch(/^sdk_live_[A-Za-z0-9_-]{43}$/);
      expect(secret.startsWith(key.prefix)).toBe(true);
      expect(key.scopes).toEqual(['TICKETS_READ', 'CONVERSATIONS_READ']);
      const [row] = await em().execute('SELECT * FROM api_keys WHERE id = ?', [id]);
      expect(row.secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(secret);
      const listed = (await app.data(ApiKeysDocument, {}, admin)).apiKeys;
      expect(listed.find((k) => k.id === id)).toMatchObject({ id, name: 'Bridge', revokedAt: null });
      expect(JSON.stringify(listed)).not.toContain(secret);
      expect(await auditOf(id, 'api_key.create')).toBe(1);
    });

    it('lets a manager create keys for their own department only, and list only those', async () => {
      const own = await createKey(['TICKETS_READ'], { token: manager.token });
      expect(own.key.departmentId).toBe(departmentId);
      const before = await keyCount();
      const res = await app.exec(
        CreateApiKeyDocument,
        { input: { name: 'Not mine', scopes: ['TICKETS_READ'], departmentId: otherDepartmentId } },
        manager.token,
      );
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(await keyCount()).toBe(before);
      const adminsKey = await createKey(['TICKETS_READ']);
      const listed = (await app.data(ApiKeysDocument, {}, manager.token)).apiKeys.map((k) => k.id);
      expect(listed).toContain(own.id);
      expect(listed).not.toContain(adminsKey.id);
    });

    it.each([
      ['a blank name', { name: '   ', scopes: ['TICKETS_READ'] }, 'name'],
      ['no scope', { name: 'x', scopes: [] }, 'scopes'],
      ['an expiry in the past', { name: 'x', scopes: ['TICKETS_READ'], expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
      [
        'a department that does not exist',
        { name: 'x', scopes: ['TICKETS_READ'], departmentId: '00000000-0000-4000-8000-000000000000' },
        'departmentId',
      ],
    ])('refuses %s with BAD_USER_INPUT and stores nothing', async (_what, input, field) => {
      const before = await keyCount();
      const res = await app.exec(CreateApiKeyDocument, { input: input as never }, admin);
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(res.errors?.[0].extensions?.fields ?? res.errors?.[0].message)).toContain(field);
      expect(await keyCount()).toBe(before);
    });

    it('refuses a scope that does not exist', async () => {
      const before = await keyCount();
      const res = await app.exec(CreateApiKeyDocument, { input: { name: 'x', scopes: ['TICKETS_DELETE' as ApiKeyScope] } }, admin);
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(await keyCount()).toBe(before);
    });
  });

  describe('authentication', () => {
    it('signs in over HTTP with the scopes listed only; everything else is FORBIDDEN and audited', async () => {
      const { id, secret } = await createKey(['TICKETS_READ']);
      expect((await app.exec(TicketsDocument, {}, secret)).errors).toBeUndefined();
      for (const [doc, vars, operation] of [
        [MeDocument, {}, 'me'],
        [UsersDocument, {}, 'users'],
        [CreateApiKeyDocument, { input: { name: 'escalate', scopes: ['TICKETS_WRITE'] } }, 'createApiKey'],
        [CreateTicketDocument, { input: { subject: 's', category: '其他', customerId } }, 'createTicket'],
      ] as const) {
        const res = await app.exec(doc as never, vars as never, secret);
        expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
        expect(res.errors?.[0].path).toEqual([operation]);
      }
      expect(await auditOf(id, 'api_key.refused')).toBe(4);
      expect(await em().count(AuditEntry, { action: 'api_key.create', summary: { $like: '%escalate%' } })).toBe(0);
    });

    it('refuses a key every query, mutation and subscription the scope table does not list, before its resolver runs', async () => {
      const schema = await createSchema(app.services.pubsub);
      const adminId = (await app.data(MeDocument, {}, admin)).me.id;
      const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
        Object.values(type!.getFields()).map((field) => ({ field, subscription: type === schema.getSubscriptionType() })),
      );
      const unlisted = fields.filter(({ field }) => !Object.hasOwn(REQUIRED_SCOPE, field.name));
      expect(unlisted.length).toBeGreaterThan(100);
      for (const { field, subscription } of unlisted) {
        // A key with every scope, acting as an admin; each field its own key id, so the rate limit stays out of it.
        const context = {
          services: app.services,
          viewer: {
            id: adminId,
            role: 'ADMIN',
            departmentId: null,
            integration: { keyId: randomUUID(), scopes: Object.values(Scope) },
          },
          ip: '127.0.0.1',
          traceId: 'unlisted',
          get em(): never {
            throw new Error(`${field.name} reached its resolver`);
          },
        };
        const resolve = subscription ? field.subscribe! : field.resolve!;
        await expect(Promise.resolve().then(() => resolve(undefined, {}, context, {} as never))).rejects.toMatchObject({
          message: `${field.name} is not open to API keys`,
          extensions: { code: 'FORBIDDEN' },
        });
      }
    });

    it('keeps a department key in its department: another one is FORBIDDEN and audited', async () => {
      const { id, secret } = await createKey(['TICKETS_READ'], { departmentId });
      expect((await app.exec(TicketsDocument, { filter: { departmentId } }, secret)).errors).toBeUndefined();
      const res = await app.exec(TicketsDocument, { filter: { departmentId: otherDepartmentId } }, secret);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(await auditOf(id, 'api_key.refused')).toBe(1);
    });

    it('tells an unknown, an expired and a revoked key apart: UNAUTHENTICATED with a clear message', async () => {
      const unknown = await app.exec(TicketsDocument, {}, 'sdk_live_' + 'x'.repeat(43));
      expect(unknown.status).toBe(401);
      expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'KEY_INVALID' });

      const expiring = await createKey(['TICKETS_READ']);
      await em().execute(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = ?`, [expiring.id]);
      const expired = await app.exec(TicketsDocument, {}, expiring.secret);
      expect(expired.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'KEY_EXPIRED' });
      expect(expired.errors?.[0].message).toMatch(/API key has expired/);

      const revoking = await createKey(['TICKETS_READ']);
      expect((await app.exec(TicketsDocument, {}, revoking.secret)).errors).toBeUndefined(); // now cached
      await app.data(RevokeApiKeyDocument, { id: revoking.id }, admin);
      const revoked = await app.exec(TicketsDocument, {}, revoking.secret);
      expect(revoked.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'KEY_REVOKED' });
      expect(revoked.errors?.[0].message).toBe('The API key has been revoked');
      expect(await auditOf(revoking.id, 'api_key.revoke')).toBe(1);
    });

    it('signs in over graphql-ws from connection_init, and revokeApiKey closes the socket at once', async () => {
      const { id, secret } = await createKey(['TICKETS_READ']);
      const client = app.ws(secret);
      expect((await wsExec(client, TicketsDocument, {})).errors).toBeUndefined();
      const me = await wsExec(client, MeDocument, {});
      expect(me.errors?.[0].extensions?.code).toBe('FORBIDDEN');

      const raw = await rawConnect(app.wsUrl, { authorization: `Bearer ${secret}` });
      if (!raw.acked) throw new Error(`refused: ${raw.code} ${raw.reason}`);
      const closed = new Promise<number>((resolve) => raw.socket.once('close', (code) => resolve(code)));
      await app.data(RevokeApiKeyDocument, { id }, admin);
      // The mutation answers once every process has dropped the key; the close frame is then on its way.
      expect(await closed).toBe(4403);
      const again = await rawConnect(app.wsUrl, { authorization: `Bearer ${secret}` });
      expect(again).toMatchObject({ acked: false, code: 4403, reason: 'The API key has been revoked' });
      await closeRaw(raw.socket);
    });

    it('closes the socket of a key revoked while its event was lost, on the periodic re-check', async () => {
      const { id, secret } = await createKey(['TICKETS_READ']);
      const raw = await rawConnect(app.wsUrl, { authorization: `Bearer ${secret}` });
      if (!raw.acked) throw new Error(`refused: ${raw.code} ${raw.reason}`);
      const closed = new Promise<number>((resolve) => raw.socket.once('close', (code) => resolve(code)));
      // Revoked in the database only: no event reaches this process.
      await em().execute('UPDATE api_keys SET revoked_at = now() WHERE id = ?', [id]);
      expect(await closed).toBe(4403);
    });

    it('counts every use against the key’s rate limit', async () => {
      const { secret } = await createKey(['TICKETS_READ']);
      const other = await createKey(['TICKETS_READ']);
      for (let i = 0; i < USES_PER_MINUTE; i++) expect((await app.exec(TicketsDocument, { first: 1 }, secret)).errors).toBeUndefined();
      const limited = await app.exec(TicketsDocument, { first: 1 }, secret);
      expect(limited.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
      expect(limited.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThan(0);
      // Another key has a budget of its own.
      expect((await app.exec(TicketsDocument, { first: 1 }, other.secret)).errors).toBeUndefined();
    });

    it('notes the last use and its address, at most once a minute', async () => {
      const { id, secret } = await createKey(['TICKETS_READ']);
      await app.data(TicketsDocument, {}, secret);
      const lastUse = async () => (await app.data(ApiKeysDocument, {}, admin)).apiKeys.find((k) => k.id === id)!;
      // Written without holding up the request: wait for it to land.
      await app.services.apiKeys.auth.lastUseWritten();
      const first = await lastUse();
      expect(first.lastUsedAt).not.toBeNull();
      expect(first.lastUsedAddress).toMatch(/127\.0\.0\.1/);
      await app.data(TicketsDocument, {}, secret);
      await app.data(TicketsDocument, {}, secret);
      await app.services.apiKeys.auth.lastUseWritten();
      expect((await lastUse()).lastUsedAt).toBe(first.lastUsedAt);
    });
  });

  describe('rotateApiKey', () => {
    it('gives a new secret; the old one works until the overlap ends, then is refused', async () => {
      const { id, secret: old } = await createKey(['TICKETS_READ']);
      expect((await app.exec(TicketsDocument, {}, old)).errors).toBeUndefined();
      const started = Date.now();
      const { rotateApiKey } = await app.data(RotateApiKeyDocument, { id }, admin);
      expect(rotateApiKey.secret).not.toBe(old);
      expect(new Date(rotateApiKey.apiKey.previousValidUntil!).getTime()).toBeGreaterThanOrEqual(started + 86_400_000 - 5_000);
      expect((await app.exec(TicketsDocument, {}, rotateApiKey.secret)).errors).toBeUndefined();
      expect((await app.exec(TicketsDocument, {}, old)).errors).toBeUndefined();
      expect(await auditOf(id, 'api_key.rotate')).toBe(1);

      // The overlap is over (as if a day had passed): a second rotation drops cached lookups of the old secret.
      await em().execute(`UPDATE api_keys SET previous_valid_until = now() - interval '1 second' WHERE id = ?`, [id]);
      app.services.sessions.revoke(`api-key-rotated:${id}`);
      const late = await app.exec(TicketsDocument, {}, old);
      expect(late.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'KEY_EXPIRED' });
      expect((await app.exec(TicketsDocument, {}, rotateApiKey.secret)).errors).toBeUndefined();
    });

    it('refuses a revoked key, and of concurrent revocations exactly one succeeds', async () => {
      const { id } = await createKey(['TICKETS_READ']);
      const results = await Promise.all(Array.from({ length: 6 }, () => app.exec(RevokeApiKeyDocument, { id }, admin)));
      expect(results.filter((r) => !r.errors)).toHaveLength(1);
      for (const r of results.filter((x) => x.errors))
        expect(r.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'INVALID_STATE' });
      expect(await auditOf(id, 'api_key.revoke')).toBe(1);
      const rotate = await app.exec(RotateApiKeyDocument, { id }, admin);
      expect(rotate.errors?.[0].extensions?.code).toBe('CONFLICT');
    });

    it('lets a manager manage only their department’s keys', async () => {
      const adminsKey = await createKey(['TICKETS_READ']);
      for (const doc of [RotateApiKeyDocument, RevokeApiKeyDocument]) {
        const res = await app.exec(doc as never, { id: adminsKey.id } as never, manager.token);
        expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
      const own = await createKey(['TICKETS_READ'], { token: manager.token });
      expect((await app.exec(RotateApiKeyDocument, { id: own.id }, manager.token)).errors).toBeUndefined();
      expect((await app.exec(RevokeApiKeyDocument, { id: own.id }, manager.token)).errors).toBeUndefined();
      const unknown = await app.exec(RevokeApiKeyDocument, { id: 'nope' }, admin);
      expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });
  });
});
