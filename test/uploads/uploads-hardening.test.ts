import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Upload } from '../../src/modules/uploads/upload.entity';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestDatabase, eventually, startTestApp, TestApp } from '../support/harness';
import { dataAt, serverProcessEnv, ServerProcess, startServerProcess, stopAll } from '../support/processes';

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082',
  'hex',
);
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const BOUNDARY = '----shiftdesk-hardening-7Hq2';

type RawResponse = { status: number; headers: Record<string, string>; body: any };

/** The bodies refused for what their file is, not for their shape. */
function refusals() {
  const big = Buffer.alloc(MAX_UPLOAD_BYTES + 64 * 1024, 0x20);
  Buffer.from('%PDF-1.7\n').copy(big);
  return [
    {
      reason: 'a type that is not accepted',
      body: multipart([filePart('hello, world '.repeat(500), 'text/plain', 'a.txt')]),
      status: 415,
      message: /not accepted/,
    },
    {
      reason: 'a declared type the bytes do not match',
      body: multipart([filePart('not really a png at all '.repeat(500), 'image/png', 'fake.png')]),
      status: 415,
      message: /not really image\/png/,
    },
    {
      reason: 'a file over the size limit',
      body: multipart([filePart(big, 'application/pdf', 'big.pdf')]),
      status: 413,
      message: /at most 10 MB/,
    },
  ];
}

/** One multipart part: its headers, a blank line, the content. */
function part(headers: string[], content: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${headers.join('\r\n')}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]);
}

function filePart(content: Buffer | string, type: string, filename = 'file.bin', field = 'file'): Buffer {
  return part([`Content-Disposition: form-data; name="${field}"; filename="${filename}"`, `Content-Type: ${type}`], content);
}

/** A multipart body; `close: false` leaves out the closing boundary. */
function multipart(parts: Buffer[], opts: { close?: boolean } = {}): Buffer {
  return Buffer.concat([...parts, Buffer.from(opts.close === false ? '' : `--${BOUNDARY}--\r\n`)]);
}

/** Cuts `body` into `count` pieces, the first one ending right after the first part's headers (so the file's bytes arrive later). */
function pieces(body: Buffer, count: number): Buffer[] {
  const headersEnd = body.indexOf('\r\n\r\n') + 4;
  const out = [body.subarray(0, headersEnd)];
  const rest = body.subarray(headersEnd);
  const size = Math.ceil(rest.length / (count - 1));
  for (let i = 0; i < rest.length; i += size) out.push(rest.subarray(i, i + size));
  return out;
}

/** The first HTTP response in `raw` (status, lower-cased headers, JSON body), or null when none arrived whole. */
function parseResponse(raw: Buffer): RawResponse | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const length = Number(headers['content-length']);
  if (!Number.isInteger(length) || raw.length < end + 4 + length) return null;
  const text = raw.subarray(end + 4, end + 4 + length).toString('utf8');
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(text) };
}

/**
 * POSTs a multipart body to /uploads over a raw socket, one piece at a time with a pause between pieces, the way a
 * slow client's TCP segments arrive. `framing: 'chunked'` sends Transfer-Encoding: chunked; a number declares that
 * Content-Length whatever the body's length. `abortAfter` closes the socket after that many pieces; `afterAnswer`
 * is written once the answer has arrived (bytes past the Content-Length that come late).
 */
async function rawUpload(
  port: number,
  opts: {
    token?: string | null;
    body: Buffer[];
    pauseMs?: number;
    framing?: 'length' | 'chunked' | number;
    abortAfter?: number;
    afterAnswer?: Buffer;
  },
): Promise<RawResponse | null> {
  const total = opts.body.reduce((n, b) => n + b.length, 0);
  const framing = opts.framing ?? 'length';
  const head = [
    'POST /uploads HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}`,
    framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${framing === 'length' ? total : framing}`,
    'Connection: close',
    ...(opts.token ? [`Authorization: Bearer ${opts.token}`] : []),
  ];
  const socket = net.connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  let closed = false;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => undefined); // a server that stops reading may reset; what it answered is still read below
    socket.on('close', () => {
      closed = true;
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  for (let i = 0; i < opts.body.length && !closed; i++) {
    if (opts.abortAfter !== undefined && i === opts.abortAfter) {
      socket.destroy();
      await done;
      return null;
    }
    const piece = opts.body[i];
    socket.write(
      framing === 'chunked' ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece,
    );
    // The pause is the point, not a wait: the body arrives in pieces, as from a slow client.
    await new Promise((r) => setTimeout(r, opts.pauseMs ?? 40));
  }
  if (framing === 'chunked' && !closed) socket.write('0\r\n\r\n');
  // Every answer here is small and carries a Content-Length: stop at the first whole response.
  await eventually(() => closed || parseResponse(Buffer.concat(received)) !== null, 20000, 'an HTTP response');
  if (opts.afterAnswer && !closed) await new Promise((r) => socket.write(opts.afterAnswer!, r));
  socket.destroy();
  return parseResponse(Buffer.concat(received));
}

describe('uploads: refusals, aborts and malformed bodies never crash the server and store nothing', () => {
  let app: TestApp;
  let agent: { id: string; token: string };
  let uploadsDir: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  const files = () => readdirSync(uploadsDir).sort();
  const rows = () => app.services.orm.em.fork().count(Upload, {});
  /** What was stored before the test began (a test that stores a good file may have run first). */
  let before: { files: string[]; rows: number };
  beforeEach(async () => {
    before = { files: files(), rows: await rows() };
  });

  /** The answer is one JSON error in the GraphQL shape, with a code and the trace id; the server still serves GraphQL; nothing was kept. */
  async function expectRefused(res: RawResponse | null, status: number, code: string, message?: RegExp) {
    expect(res).not.toBeNull();
    expect(res!.status).toBe(status);
    expect(res!.headers['content-type']).toMatch(/^application\/json/);
    expect(res!.body.errors).toHaveLength(1);
    expect(res!.body.errors[0].extensions).toMatchObject({ code, traceId: res!.headers['x-trace-id'] });
    if (message) expect(res!.body.errors[0].message).toMatch(message);
    await expectNothingStoredAndAlive();
  }

  async function expectNothingStoredAndAlive() {
    expect((await app.data<{ me: { id: string } }, unknown>('{ me { id } }', undefined, agent.token)).me.id).toBe(agent.id);
    await eventually(() => files().join() === before.files.join(), 5000, 'the uploads directory to hold nothing new');
    expect(await rows()).toBe(before.rows);
    expect(unhandled).toEqual([]);
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    app = await startTestApp();
    uploadsDir = path.join(app.services.config.dataDir, 'uploads');
    const dept = await app.createDepartment('售后服务', 'after_sales');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id });
  });
  afterAll(async () => {
    await app.stop();
    process.off('unhandledRejection', onUnhandled);
  });

  for (const framing of ['length', 'chunked'] as const) {
    for (const { reason, body, status, message } of refusals()) {
      it(`answers ${status} to ${reason} arriving in pieces with pauses (${framing === 'length' ? 'Content-Length' : 'chunked'}) and lives on`, async () => {
        const res = await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 6), framing });
        await expectRefused(res, status, 'BAD_USER_INPUT', message);
      });
    }
  }

  it('keeps nothing of an upload the client abandons midway, before or after the type check', async () => {
    const body = multipart([filePart(Buffer.concat([PNG, Buffer.alloc(256 * 1024, 1)]), 'image/png', 'half.png')]);
    for (const abortAfter of [1, 2, 4]) {
      expect(await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 8), abortAfter })).toBeNull();
      await expectNothingStoredAndAlive();
    }
  });

  it('refuses a body with two files, keeping neither', async () => {
    const body = multipart([filePart(PNG, 'image/png', 'one.png'), filePart(PNG, 'image/png', 'two.png')]);
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 4) }),
      400,
      'BAD_USER_INPUT',
      /one file/,
    );
    const otherField = multipart([filePart(PNG, 'image/png', 'one.png', 'attachment')]);
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(otherField, 3) }),
      400,
      'BAD_USER_INPUT',
      /field named "file"/,
    );
  });

  it('refuses a file field with no file name', async () => {
    const bare = multipart([part(['Content-Disposition: form-data; name="file"', 'Content-Type: image/png'], PNG)]);
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(bare, 3) }),
      400,
      'BAD_USER_INPUT',
      /file name/,
    );
    const empty = multipart([part(['Content-Disposition: form-data; name="file"; filename=""', 'Content-Type: image/png'], PNG)]);
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(empty, 3) }),
      400,
      'BAD_USER_INPUT',
      /file name/,
    );
    const octets = multipart([part(['Content-Disposition: form-data; name="file"', 'Content-Type: application/octet-stream'], PNG)]);
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(octets, 3) }),
      400,
      'BAD_USER_INPUT',
      /file name/,
    );
  });

  it('refuses a body whose boundary never closes', async () => {
    const body = multipart([filePart(PNG, 'image/png', 'open.png')], { close: false });
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 3) }),
      400,
      'BAD_USER_INPUT',
      /malformed/,
    );
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 3), framing: 'chunked' }),
      400,
      'BAD_USER_INPUT',
      /malformed/,
    );
  });

  it('refuses a body longer than its Content-Length', async () => {
    const body = multipart([filePart(Buffer.concat([PNG, Buffer.alloc(4096, 7)]), 'image/png', 'long.png')]);
    // The first body is cut short (refused as truncated); what follows is no HTTP request and closes the connection.
    const res = await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 4), framing: body.length - 1000 });
    await expectRefused(res, 400, 'BAD_USER_INPUT', /malformed/);
    // When the bytes past the Content-Length come late, the truncated upload itself is what gets refused.
    const parts = pieces(body, 4);
    const slow = await rawUpload(app.shiftdesk.port, {
      token: agent.token,
      body: parts.slice(0, -1),
      afterAnswer: parts[parts.length - 1],
    });
    await expectRefused(slow, 400, 'BAD_USER_INPUT', /malformed: Unexpected end of form/);
  });

  it('refuses an upload without a token or with a garbage one, storing none of it', async () => {
    const body = multipart([filePart(PNG, 'image/png', 'anon.png')]);
    await expectRefused(await rawUpload(app.shiftdesk.port, { body: pieces(body, 3) }), 401, 'UNAUTHENTICATED');
    await expectRefused(await rawUpload(app.shiftdesk.port, { token: 'not-a-token', body: pieces(body, 3) }), 401, 'UNAUTHENTICATED');
  });

  it('refuses a body without a file', async () => {
    const body = multipart([part(['Content-Disposition: form-data; name="note"'], 'hello')]);
    await expectRefused(
      await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 2) }),
      400,
      'BAD_USER_INPUT',
      /field named "file"/,
    );
  });

  it('still stores a good file sent slowly in pieces, once', async () => {
    const body = multipart([part(['Content-Disposition: form-data; name="note"'], 'x'), filePart(PNG, 'image/png', '病假单.png')]);
    const res = await rawUpload(app.shiftdesk.port, { token: agent.token, body: pieces(body, 5), framing: 'chunked' });
    expect(res?.status).toBe(201);
    expect(res!.body).toMatchObject({ name: '病假单.png', size: PNG.length, contentType: 'image/png' });
    expect(files()).toEqual([...before.files, res!.body.id].sort());
    expect(await rows()).toBe(before.rows + 1);
  });
});

describe('uploads: downloads', () => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => {
    app = await startTestApp();
    const dept = await app.createDepartment('账户问题', 'account');
    token = (await app.createUser({ role: 'AGENT', departmentId: dept.id })).token;
  });
  afterAll(() => app.stop());

  const send = async (content: Buffer, type: string, name: string) => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(content)], { type }), name);
    const res = await fetch(app.url.replace('/graphql', '/uploads'), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    expect(res.status).toBe(201);
    const { url } = (await res.json()) as { url: string };
    return fetch(app.url.replace('/graphql', url), { headers: { authorization: `Bearer ${token}` } });
  };

  it('serves a PDF as an attachment under a sandboxing CSP, so its scripts never run in ShiftDesk’s origin', async () => {
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n');
    const res = await send(pdf, 'application/pdf', "报告 (it's).pdf");
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%28it%27s%29.pdf`);
    expect(res.headers.get('content-security-policy')).toMatch(/\bsandbox\b/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await res.arrayBuffer()).equals(pdf)).toBe(true);
  });

  it('shows an image inline, still under the sandboxing CSP', async () => {
    const res = await send(PNG, 'image/png', 'a.png');
    expect(res.headers.get('content-disposition')).toBe(`inline; filename*=UTF-8''a.png`);
    expect(res.headers.get('content-security-policy')).toMatch(/\bsandbox\b/);
    await res.arrayBuffer();
  });
});

describe('uploads: the sweep of files without a row', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { UPLOAD_SWEEP_SECONDS: '1', UPLOAD_ORPHAN_GRACE_SECONDS: '3600' } });
  });
  afterAll(() => app.stop());

  it('removes, on its schedule, files older than the grace period that no row names, and keeps the rest', async () => {
    const dept = await app.createDepartment('账户问题', 'account');
    const token = (await app.createUser({ role: 'AGENT', departmentId: dept.id })).token;
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'kept.png');
    const res = await fetch(app.url.replace('/graphql', '/uploads'), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    const { id } = (await res.json()) as { id: string };

    const dir = path.join(app.services.config.dataDir, 'uploads');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    const oldOrphan = randomUUID();
    const freshOrphan = randomUUID();
    writeFileSync(path.join(dir, oldOrphan), PNG);
    writeFileSync(path.join(dir, freshOrphan), PNG);
    writeFileSync(path.join(dir, 'README'), 'not ours to judge');
    for (const name of [oldOrphan, id, 'README']) utimesSync(path.join(dir, name), twoHoursAgo, twoHoursAgo);

    await eventually(() => !readdirSync(dir).includes(oldOrphan), 10000, 'the sweep to remove the old orphan');
    expect(readdirSync(dir).sort()).toEqual([freshOrphan, id, 'README'].sort());
  });
});

describe('uploads: the server process itself', () => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await startServerProcess({ name: 'uploads', env: serverProcessEnv(await createTestDatabase()) });
  });
  afterAll(() => stopAll([proc]));

  // Jest would report an unhandled rejection in the suites above; here Node's own handling decides, as in production.
  it('does not exit on any refusal, abort or malformed body arriving in pieces, and keeps serving', async () => {
    const login = await dataAt<{ login: { token: string } }, unknown>(
      proc,
      'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }',
      { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    );
    const token = login.login.token;
    for (const framing of ['length', 'chunked'] as const) {
      for (const { body, status } of refusals()) {
        const res = await rawUpload(proc.port, { token, body: pieces(body, 6), framing });
        expect(res?.status).toBe(status);
      }
    }
    const png = multipart([filePart(Buffer.concat([PNG, Buffer.alloc(64 * 1024, 1)]), 'image/png', 'a.png')]);
    expect(await rawUpload(proc.port, { token, body: pieces(png, 6), abortAfter: 3 })).toBeNull();
    const malformed = [
      multipart([filePart(PNG, 'image/png', 'one.png'), filePart(PNG, 'image/png', 'two.png')]),
      multipart([part(['Content-Disposition: form-data; name="file"', 'Content-Type: application/octet-stream'], PNG)]),
      multipart([filePart(PNG, 'image/png', 'open.png')], { close: false }),
    ];
    for (const body of malformed) expect((await rawUpload(proc.port, { token, body: pieces(body, 3) }))?.status).toBe(400);
    expect(proc.exitInfo()).toBeNull();
    expect((await dataAt<{ me: { email: string } }, unknown>(proc, '{ me { email } }', undefined, token)).me.email).toBe(ADMIN_EMAIL);
  });
});
