import ExcelJS from 'exceljs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, subscribe, TestApp } from '../support/harness';
import { daysAgo, seedConversation, sqlOf } from './records-helpers';

const EXPORT = `mutation ($format: ExportFormat!, $filter: ConversationSearchFilter) {
  exportConversations(format: $format, filter: $filter) { id status estimatedRows rowsDone url expiresAt } }`;
const JOB = `query ($id: ID!) { exportJob(id: $id) { id status estimatedRows rowsDone fileSize url } }`;
const ESTIMATE = `query ($filter: ConversationSearchFilter) { exportEstimate(filter: $filter) { conversations messages } }`;
const PROGRESS = `subscription ($jobId: ID!) { exportProgress(jobId: $jobId) { jobId status rowsDone rowsTotal } }`;

type Job = { id: string; status: string; estimatedRows: number; rowsDone: number; url: string | null; fileSize?: number | null };

describe('exportConversations and transcripts', () => {
  let app: TestApp;
  let admin: string;
  let otherAdmin: { token: string };
  let deptA: { id: string };
  let deptB: { id: string };
  let agentA: { id: string; token: string };
  let agentB: { id: string; token: string };
  let managerA: { id: string; token: string };
  let customer: { id: string; token: string };
  let otherCustomer: { id: string; token: string };
  let sql: ReturnType<typeof sqlOf>;
  const ids: Record<string, string> = {};
  const origin = () => app.url.replace(/\/graphql$/, '');
  const download = (url: string, token?: string) =>
    fetch(`${origin()}${url}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  const exportAs = async (token: string, variables: Record<string, unknown>) =>
    app.exec<{ exportConversations: Job }, unknown>(EXPORT, variables, token);
  const ready = async (token: string, id: string): Promise<Job> => {
    for (let i = 0; i < 300; i++) {
      const job = (await app.data<{ exportJob: Job }, unknown>(JOB, { id }, token)).exportJob;
      if (job.status === 'READY' || job.status === 'FAILED') return job;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('export did not finish');
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { JOB_POLL_SECONDS: '1' } });
    sql = sqlOf(app);
    admin = await app.adminToken();
    otherAdmin = await app.createUser({ role: 'ADMIN' });
    deptA = await app.createDepartment('售后', 'after_sales');
    deptB = await app.createDepartment('销售', 'sales');
    agentA = await app.createUser({ role: 'AGENT', departmentId: deptA.id, displayName: '客服小王' });
    agentB = await app.createUser({ role: 'AGENT', departmentId: deptB.id });
    managerA = await app.createUser({ role: 'MANAGER', departmentId: deptA.id });
    customer = await app.createUser({ role: 'CUSTOMER', displayName: '张三' });
    otherCustomer = await app.createUser({ role: 'CUSTOMER' });
    ids.a1 = await seedConversation(app, {
      customerId: customer.id,
      agentId: agentA.id,
      departmentId: deptA.id,
      createdAt: daysAgo(20),
      rating: 4,
      messages: [
        { content: '我要退款, 订单 "A,1"' },
        { content: '请留电话 138****5678', piiTypes: ['PHONE'] },
        { content: '<script>alert(1)</script> 好的', role: 'AGENT' },
      ],
    });
    ids.a2 = await seedConversation(app, {
      customerId: customer.id,
      agentId: agentA.id,
      departmentId: deptA.id,
      createdAt: daysAgo(10),
      messages: [{ content: '你好' }, { content: '您好', role: 'AGENT' }],
    });
    ids.b1 = await seedConversation(app, {
      customerId: otherCustomer.id,
      agentId: agentB.id,
      departmentId: deptB.id,
      createdAt: daysAgo(5),
      messages: [{ content: '买票' }],
    });
  });
  afterAll(() => app.stop());

  it('says how big an export will be before it runs, in the viewer’s scope', async () => {
    expect((await app.data<any, unknown>(ESTIMATE, {}, admin)).exportEstimate).toEqual({ conversations: 3, messages: 6 });
    expect((await app.data<any, unknown>(ESTIMATE, {}, agentA.token)).exportEstimate).toEqual({ conversations: 2, messages: 5 });
    // Ten years is allowed (it runs as a job), and its size is said first.
    const decade = { from: new Date(Date.UTC(2016, 11, 1)).toISOString(), to: new Date(Date.now() + 86_400_000).toISOString() };
    expect((await app.data<any, unknown>(ESTIMATE, { filter: decade }, admin)).exportEstimate).toEqual({ conversations: 3, messages: 6 });
    const res = await exportAs(admin, { format: 'JSONL', filter: decade });
    expect(res.errors).toBeUndefined();
    expect(res.data!.exportConversations).toMatchObject({ status: 'QUEUED', estimatedRows: 6, url: null });
    expect((await ready(admin, res.data!.exportConversations.id)).rowsDone).toBe(6);
  });

  it('writes a CSV in the background with progress, for its requester only, audited with its filter', async () => {
    const res = await exportAs(admin, { format: 'CSV', filter: { departmentId: deptA.id } });
    const job = res.data!.exportConversations;
    expect(job.estimatedRows).toBe(5);
    const progress = subscribe(app.ws(admin), PROGRESS, { jobId: job.id });
    const seen: Array<{ status: string; rowsDone: number; rowsTotal: number }> = [];
    for (;;) {
      const next = await progress.next();
      const p = (next.data as any).exportProgress;
      seen.push(p);
      if (p.status === 'READY' || p.status === 'FAILED') break;
    }
    expect(seen[seen.length - 1]).toEqual({ jobId: job.id, status: 'READY', rowsDone: 5, rowsTotal: 5 });
    const done = await ready(admin, job.id);
    expect(done.url).toBe(`/exports/${job.id}`);

    const file = await download(done.url!, admin);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toContain('text/csv');
    expect(file.headers.get('content-disposition')).toContain('attachment');
    const text = await file.text();
    const lines = text
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\n');
    expect(lines[0]).toBe(
      'conversationId,conversationCreatedAt,archived,customerId,agentId,departmentId,status,priority,intent,rating,seq,messageId,senderRole,kind,sentAt,content,piiTypes',
    );
    expect(lines).toHaveLength(6);
    expect(text).toContain('"我要退款, 订单 ""A,1"""');
    expect(text).toContain('138****5678');
    expect(done.fileSize).toBe(Buffer.byteLength(text.startsWith('\uFEFF') ? text : `\uFEFF${text}`));

    expect((await download(done.url!, otherAdmin.token)).status).toBe(404);
    expect((await download(done.url!, managerA.token)).status).toBe(404);
    expect((await download(done.url!)).status).toBe(401);
    expect((await app.exec(JOB, { id: job.id }, otherAdmin.token)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const foreign = subscribe(app.ws(otherAdmin.token), PROGRESS, { jobId: job.id });
    expect((await foreign.next()).errors?.[0].extensions?.code).toBe('NOT_FOUND');

    const [audit] = await sql<{ summary: string; actor_id: string }>(
      `SELECT summary, actor_id FROM audit_entries WHERE action = 'records.export' AND target_id = ?`,
      [job.id],
    );
    expect(audit.summary).toContain(`"departmentId":"${deptA.id}"`);
    expect(audit.summary).toContain('5 messages');
  });

  it('writes XLSX (exceljs streaming) and JSONL, an agent’s only their own conversations', async () => {
    const xlsx = (await exportAs(agentA.token, { format: 'XLSX' })).data!.exportConversations;
    const done = await ready(agentA.token, xlsx.id);
    expect(done).toMatchObject({ status: 'READY', rowsDone: 5 });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await (await download(done.url!, agentA.token)).arrayBuffer()) as never);
    const sheet = workbook.getWorksheet('conversations')!;
    expect(sheet.rowCount).toBe(6);
    expect(sheet.getRow(1).getCell(1).value).toBe('conversationId');
    const agents = new Set<unknown>();
    sheet.eachRow((row, n) => n > 1 && agents.add(row.getCell(5).value));
    expect([...agents]).toEqual([agentA.id]);

    const jsonl = (await exportAs(managerA.token, { format: 'JSONL' })).data!.exportConversations;
    const jdone = await ready(managerA.token, jsonl.id);
    const rows = (await (await download(jdone.url!, managerA.token)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.departmentId === deptA.id)).toBe(true);
    expect(rows.find((r) => r.piiTypes === 'PHONE').content).toBe('请留电话 138****5678');
  });

  it('refuses customers, and staff outside their scope', async () => {
    const jobs = async () =>
      (
        await sql<{ n: number }>(`SELECT count(*)::int AS n FROM export_jobs WHERE requester_id IN (?, ?, ?)`, [
          customer.id,
          agentA.id,
          managerA.id,
        ])
      )[0].n;
    const before = await jobs();
    for (const doc of [EXPORT, ESTIMATE]) {
      const res = await app.exec(doc, { format: 'CSV' }, customer.token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expect((await exportAs(agentA.token, { format: 'CSV', filter: { agentId: agentB.id } })).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await exportAs(managerA.token, { format: 'CSV', filter: { departmentId: deptB.id } })).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await exportAs(admin, { format: 'CSV', filter: { keyword: 'x' } })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await exportAs(admin, { format: 'PDF' })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(await jobs()).toBe(before); // refused: no job written
  });

  it('an expired export is deleted by the sweep and answers 410', async () => {
    const job = (await exportAs(admin, { format: 'CSV' })).data!.exportConversations;
    await ready(admin, job.id);
    const file = path.join(app.services.config.dataDir, 'exports', `${job.id}.csv`);
    expect(existsSync(file)).toBe(true);
    await sql(`UPDATE export_jobs SET expires_at = now() - interval '1 second' WHERE id = ?`, [job.id]);
    expect((await download(`/exports/${job.id}`, admin)).status).toBe(410);
    expect(await app.services.records.exports.sweep()).toBeGreaterThanOrEqual(1);
    expect(existsSync(file)).toBe(false);
    expect((await app.data<any, unknown>(JOB, { id: job.id }, admin)).exportJob).toMatchObject({ status: 'EXPIRED', url: null });
    const gone = await download(`/exports/${job.id}`, admin);
    expect(gone.status).toBe(410);
    expect((await gone.json()).errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('a transcript is printable HTML for the conversation’s parties and staff in scope, escaped and masked', async () => {
    const url = `/conversations/${ids.a1}/transcript`;
    for (const token of [customer.token, agentA.token, managerA.token, admin]) {
      const res = await download(url, token);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      const html = await res.text();
      expect(html).toContain('我要退款, 订单 &quot;A,1&quot;');
      expect(html).toContain('138****5678');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>');
      expect(html).toContain('客服小王');
      expect(html).toContain('张三');
    }
    expect((await download(url, otherCustomer.token)).status).toBe(403);
    expect((await download(url, agentB.token)).status).toBe(403);
    expect((await download(url)).status).toBe(401);
    expect((await download(`/conversations/00000000-0000-4000-8000-000000000000/transcript`, admin)).status).toBe(404);
  });
});
