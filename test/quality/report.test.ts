import { Client as PgClient } from 'pg';
import { DateTime } from 'luxon';
import {
  EndConversationDocument,
  HeartbeatDocument,
  QualityReportCsvDocument,
  QualityReportDocument,
  RateConversationDocument,
  RequestServiceDocument,
  ReviewConversationDocument,
  SendMessageDocument,
  SetPresenceStatusDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };
const TZ = 'Asia/Shanghai';
const FULL = [
  { item: 'greeting', score: 5 },
  { item: 'understanding', score: 4 },
  { item: 'solution', score: 8 },
  { item: 'courtesy', score: 5 },
  { item: 'compliance', score: 3 },
];
const TOP = [
  { item: 'greeting', score: 5 },
  { item: 'understanding', score: 5 },
  { item: 'solution', score: 10 },
  { item: 'courtesy', score: 5 },
  { item: 'compliance', score: 5 },
];

describe('qualityReport', () => {
  let app: TestApp;
  let db: PgClient;
  let admin: string;
  let dept: { id: string };
  let other: { id: string };
  let a: Person;
  let b: Person;
  let stranger: Person;
  let manager: Person;
  let otherManager: Person;
  const base = DateTime.now().minus({ hours: 2 });
  const from = DateTime.now().setZone(TZ).minus({ days: 1 }).toISODate()!;
  const to = DateTime.now().setZone(TZ).plus({ days: 1 }).toISODate()!;

  /**
   * A conversation handled by `agent` (the only AVAILABLE one) whose agent writes `replies`, then ended with
   * `reason`; its times are then set: assigned at `assigned`, the agent's messages at +firstReply s, ended at +handle s.
   */
  const conversation = async (
    agent: Person,
    replies: string[],
    end: 'CUSTOMER' | 'IDLE' | 'AGENT',
    times: { assigned: DateTime; firstReply: number; handle: number },
    rating?: number,
  ) => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const id = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '你好' } }, customer.token)).requestService
      .conversation!.id;
    for (const [i, content] of replies.entries())
      await app.data(SendMessageDocument, { input: { conversationId: id, content, clientMessageId: `r${i}` } }, agent.token);
    await app.data(EndConversationDocument, { id }, end === 'AGENT' ? agent.token : customer.token);
    if (rating) await app.data(RateConversationDocument, { id, score: rating }, customer.token);
    await db.query(`UPDATE conversations SET agent_id = $2, assigned_at = $3, ended_at = $4, end_reason = $5 WHERE id = $1`, [
      id,
      agent.id,
      times.assigned.toJSDate(),
      times.assigned.plus({ seconds: times.handle }).toJSDate(),
      end,
    ]);
    await db.query(`UPDATE messages SET created_at = $3 WHERE conversation_id = $1 AND sender_id = $2`, [
      id,
      agent.id,
      times.assigned.plus({ seconds: times.firstReply }).toJSDate(),
    ]);
    return id;
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '1000' } });
    db = new PgClient({ connectionString: app.databaseUrl });
    await db.connect();
    admin = await app.adminToken();
    dept = await app.createDepartment('订单问题', 'order');
    other = await app.createDepartment('售前咨询', 'sales');
    a = await app.createUser({ role: 'AGENT', departmentId: dept.id, employeeCode: 'KF001', displayName: '张三', maxConcurrentChats: 10 });
    b = await app.createUser({ role: 'AGENT', departmentId: dept.id, employeeCode: 'KF002', displayName: '李四', maxConcurrentChats: 10 });
    stranger = await app.createUser({ role: 'AGENT', departmentId: other.id });
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    await app.data(HeartbeatDocument, {}, a.token);
    await app.data(HeartbeatDocument, {}, b.token);
    await app.data(SetPresenceStatusDocument, { status: 'AWAY' }, b.token);
    const c1 = await conversation(a, ['您好', '放心，保证退款'], 'CUSTOMER', { assigned: base, firstReply: 30, handle: 600 }, 5);
    await conversation(a, ['烦不烦，自己看公告'], 'IDLE', { assigned: base.plus({ hours: 1 }), firstReply: 90, handle: 1200 }, 3);
    await app.data(SetPresenceStatusDocument, { status: 'AWAY' }, a.token);
    await app.data(SetPresenceStatusDocument, { status: 'AVAILABLE' }, b.token);
    const c3 = await conversation(b, ['您好，已为您处理'], 'AGENT', { assigned: base, firstReply: 60, handle: 300 });
    await app.services.quality.inspection.idle();
    await app.data(ReviewConversationDocument, { id: c1, scores: FULL }, manager.token);
    await app.data(ReviewConversationDocument, { id: c3, scores: TOP }, manager.token);
  });
  afterAll(async () => {
    await db.end();
    await app.stop();
  });

  it('gives per agent first response, handle time, resolution, satisfaction, violations by rule and review scores, with department averages', async () => {
    const r = (await app.data(QualityReportDocument, { from, to, departmentId: dept.id }, manager.token)).qualityReport;
    expect(r).toMatchObject({ from, to, departmentId: dept.id });
    const rowA = r.agents.find((x) => x.agentId === a.id)!;
    const rowB = r.agents.find((x) => x.agentId === b.id)!;
    expect(r.agents).toHaveLength(2);
    expect(rowA).toMatchObject({
      agent: { displayName: '张三' },
      conversations: 2,
      firstResponseSeconds: 60,
      handleSeconds: 900,
      resolutionRate: 0.5,
      satisfaction: 4,
      ratings: 2,
      violations: 2,
      reviews: 1,
      reviewScorePercent: 83.3,
    });
    expect(rowA.violationsByRule).toEqual([
      { rule: 'FORBIDDEN_PROMISE', label: '违规承诺', count: 1 },
      { rule: 'RUDENESS', label: '不文明用语', count: 1 },
    ]);
    expect(rowA.reviewScoresByItem.find((i) => i.item === 'solution')).toEqual({
      item: 'solution',
      label: '解决方案正确完整',
      average: 8,
      maxScore: 10,
    });
    expect(rowB).toMatchObject({
      conversations: 1,
      firstResponseSeconds: 60,
      handleSeconds: 300,
      resolutionRate: 1,
      satisfaction: null,
      ratings: 0,
      violations: 0,
      violationsByRule: [],
      reviews: 1,
      reviewScorePercent: 100,
    });
    expect(r.departmentAverage).toMatchObject({
      conversations: 1.5,
      firstResponseSeconds: 60,
      handleSeconds: 700,
      resolutionRate: 0.667,
      satisfaction: 4,
      ratings: 1,
      violations: 1,
      reviews: 1,
      reviewScorePercent: 91.7,
    });
    expect(r.departmentAverage.violationsByRule).toEqual([
      { rule: 'FORBIDDEN_PROMISE', label: '违规承诺', count: 0.5 },
      { rule: 'RUDENESS', label: '不文明用语', count: 0.5 },
    ]);
    expect(r.departmentAverage.reviewScoresByItem.find((i) => i.item === 'solution')!.average).toBe(9);
  });

  it('reports one agent with the whole department’s averages beside them', async () => {
    const r = (await app.data(QualityReportDocument, { from, to, agentId: b.id }, admin)).qualityReport;
    expect(r.agents.map((x) => x.agentId)).toEqual([b.id]);
    expect(r.departmentId).toBe(dept.id);
    expect(r.departmentAverage.handleSeconds).toBe(700);
  });

  it('counts nothing outside the period', async () => {
    const r = (await app.data(QualityReportDocument, { from: '2026-01-01', to: '2026-01-31', departmentId: dept.id }, admin)).qualityReport;
    expect(r.agents.map((x) => x.conversations)).toEqual([0, 0]);
    expect(r.departmentAverage).toMatchObject({
      conversations: 0,
      firstResponseSeconds: null,
      violations: 0,
      reviews: 0,
      reviewScorePercent: null,
    });
  });

  it('exports the same report as CSV: a header, a row per agent, then the department averages', async () => {
    const csv = (await app.data(QualityReportCsvDocument, { from, to }, manager.token)).qualityReportCsv;
    const lines = csv
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    const header = lines[0];
    expect(header.slice(0, 10)).toEqual([
      'agent_id',
      'employee_code',
      'agent',
      'conversations',
      'first_response_seconds',
      'handle_seconds',
      'resolution_rate',
      'satisfaction',
      'ratings',
      'violations',
    ]);
    expect(header).toEqual(expect.arrayContaining(['violations_FORBIDDEN_PROMISE', 'review_score_percent', 'review_solution']));
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    const rowA = lines.find((l) => l[0] === a.id)!;
    expect([
      col(rowA, 'employee_code'),
      col(rowA, 'agent'),
      col(rowA, 'handle_seconds'),
      col(rowA, 'violations_RUDENESS'),
      col(rowA, 'review_solution'),
    ]).toEqual(['KF001', '张三', '900', '1', '8']);
    const avg = lines[lines.length - 1];
    expect([col(avg, 'agent'), col(avg, 'handle_seconds'), col(avg, 'review_score_percent')]).toEqual([
      'DEPARTMENT_AVERAGE',
      '700',
      '91.7',
    ]);
    expect(lines).toHaveLength(4);
  });

  it('shows agents nothing (FORBIDDEN), not even their own figures', async () => {
    for (const doc of [QualityReportDocument, QualityReportCsvDocument]) {
      expect((await app.exec(doc as typeof QualityReportDocument, { from, to }, a.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect((await app.exec(doc as typeof QualityReportDocument, { from, to, agentId: a.id }, a.token)).errors?.[0].extensions?.code).toBe(
        'FORBIDDEN',
      );
    }
  });

  it('keeps managers to their department', async () => {
    expect(
      (await app.exec(QualityReportDocument, { from, to, departmentId: dept.id }, otherManager.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect((await app.exec(QualityReportDocument, { from, to, agentId: a.id }, otherManager.token)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    const own = (await app.data(QualityReportDocument, { from, to }, otherManager.token)).qualityReport;
    expect(own.agents.map((x) => x.agentId)).toEqual([stranger.id]);
  });

  it.each([
    [{ from: '2026-02-30', to: '2026-03-01' }, 'from'],
    [{ from: '2026-03-02', to: '2026-03-01' }, 'to'],
    [{ from: '2026-01-01', to: '2026-06-01' }, 'to'],
  ])('refuses a bad period %j (BAD_USER_INPUT on %s)', async (vars, field) => {
    const res = await app.exec(QualityReportDocument, { ...vars, departmentId: dept.id }, admin);
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].extensions?.fields[0].field).toBe(field);
  });
});
