import { Client as PgClient } from 'pg';
import { DateTime } from 'luxon';
import {
  EndConversationDocument,
  HeartbeatDocument,
  QualityChecklistDocument,
  QualityReviewsDocument,
  RequestServiceDocument,
  ReviewConversationDocument,
} from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };

const FULL = [
  { item: 'greeting', score: 5 },
  { item: 'understanding', score: 4 },
  { item: 'solution', score: 8 },
  { item: 'courtesy', score: 5 },
  { item: 'compliance', score: 3 },
];

describe('quality reviews', () => {
  let app: TestApp;
  let db: PgClient;
  let admin: string;
  let dept: { id: string };
  let other: { id: string };
  let agent: Person;
  let agent2: Person;
  let manager: Person;
  let otherManager: Person;

  /** A conversation of `withAgent` (the only one routable at the time), ended by the customer. */
  const endedConversation = async (topic = 'order') => {
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const res = (await app.data(RequestServiceDocument, { input: { topic, message: '你好' } }, customer.token)).requestService;
    const id = res.conversation!.id;
    await app.data(EndConversationDocument, { id }, customer.token);
    return id;
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { ROUTING_REQUIRE_SHIFT: 'false' } });
    db = new PgClient({ connectionString: app.databaseUrl });
    await db.connect();
    admin = await app.adminToken();
    dept = await app.createDepartment('订单问题', 'order');
    other = await app.createDepartment('售前咨询', 'sales');
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 50 });
    agent2 = await app.createUser({ role: 'AGENT', departmentId: other.id, maxConcurrentChats: 50 });
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    await app.data(HeartbeatDocument, {}, agent.token);
    await app.data(HeartbeatDocument, {}, agent2.token);
  });
  afterAll(async () => {
    await db.end();
    await app.stop();
  });

  it('serves the configured checklist to supervisors only', async () => {
    const list = (await app.data(QualityChecklistDocument, {}, manager.token)).qualityChecklist;
    expect(list.map((i) => i.key)).toEqual(['greeting', 'understanding', 'solution', 'courtesy', 'compliance']);
    expect(list.find((i) => i.key === 'solution')).toMatchObject({ label: '解决方案正确完整', maxScore: 10 });
    expect((await app.exec(QualityChecklistDocument, {}, agent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('records a manager’s review with scores by item and a comment, once, audited', async () => {
    const id = await endedConversation();
    const review = (await app.data(ReviewConversationDocument, { id, scores: FULL, comment: '解决及时，合规项需改进' }, manager.token))
      .reviewConversation;
    expect(review).toMatchObject({
      conversationId: id,
      agentId: agent.id,
      departmentId: dept.id,
      status: 'DONE',
      reviewerId: manager.id,
      totalScore: 25,
      maxScore: 30,
      comment: '解决及时，合规项需改进',
      sampledWeek: null,
    });
    expect(review.scores).toEqual(FULL.map((s) => ({ ...s, maxScore: s.item === 'solution' ? 10 : 5 })));
    const again = await app.exec(ReviewConversationDocument, { id, scores: FULL }, admin);
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'ALREADY_REVIEWED' });
    const audit = await db.query(`SELECT actor_id, summary FROM audit_entries WHERE action = 'quality.review' AND target_id = $1`, [id]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].actor_id).toBe(manager.id);
    const listed = (await app.data(QualityReviewsDocument, { filter: { agentId: agent.id } }, manager.token)).qualityReviews.nodes;
    expect(listed.map((r) => r.id)).toContain(review.id);
  });

  it('lets exactly one of many concurrent reviews of a conversation through', async () => {
    const id = await endedConversation();
    const results = await Promise.all(Array.from({ length: 8 }, () => app.exec(ReviewConversationDocument, { id, scores: FULL }, admin)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors?.[0].extensions?.code === 'CONFLICT')).toHaveLength(7);
    expect((await db.query('SELECT count(*)::int AS n FROM quality_reviews WHERE conversation_id = $1', [id])).rows[0].n).toBe(1);
  });

  it.each([
    [[...FULL.slice(0, 4)], 'scores', /missing: compliance/],
    [[...FULL, { item: 'speed', score: 1 }], 'scores[5].item', /not a checklist item/],
    [[...FULL.slice(0, 4), { item: 'greeting', score: 5 }], 'scores[4].item', /twice/],
    [[...FULL.slice(0, 4), { item: 'compliance', score: 6 }], 'scores[4].score', /0 to 5/],
  ])('refuses bad scores (%#) with BAD_USER_INPUT naming %s and stores nothing', async (scores, field, message) => {
    const id = await endedConversation();
    const res = await app.exec(ReviewConversationDocument, { id, scores }, manager.token);
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const problem = res.errors![0].extensions!.fields.find((f: { field: string }) => f.field === field);
    expect(problem.message).toMatch(message);
    expect((await db.query('SELECT count(*)::int AS n FROM quality_reviews WHERE conversation_id = $1', [id])).rows[0].n).toBe(0);
  });

  it('refuses a negative score and an over-long comment', async () => {
    const id = await endedConversation();
    const negative = await app.exec(
      ReviewConversationDocument,
      { id, scores: [...FULL.slice(0, 4), { item: 'compliance', score: -1 }] },
      manager.token,
    );
    expect(negative.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const long = await app.exec(ReviewConversationDocument, { id, scores: FULL, comment: '长'.repeat(2001) }, manager.token);
    expect(long.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses reviews by agents and customers (FORBIDDEN), by another department’s manager, and of unknown conversations', async () => {
    const id = await endedConversation();
    expect((await app.exec(ReviewConversationDocument, { id, scores: FULL }, agent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const customer = await app.createUser({ role: 'CUSTOMER' });
    expect((await app.exec(ReviewConversationDocument, { id, scores: FULL }, customer.token)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await app.exec(ReviewConversationDocument, { id, scores: FULL }, otherManager.token)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await app.exec(ReviewConversationDocument, { id: 'x', scores: FULL }, admin)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await app.exec(QualityReviewsDocument, {}, agent.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(
      (await app.exec(QualityReviewsDocument, { filter: { departmentId: dept.id } }, otherManager.token)).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect((await db.query('SELECT count(*)::int AS n FROM quality_reviews WHERE conversation_id = $1', [id])).rows[0].n).toBe(0);
  });

  it('queues a weekly sample per agent, once per week however many processes try, and a review completes it', async () => {
    const week = DateTime.now().setZone('Asia/Shanghai').startOf('week').minus({ weeks: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await endedConversation('order'));
    const salesIds: string[] = [];
    for (let i = 0; i < 2; i++) salesIds.push(await endedConversation('sales'));
    // They ended last week (Tuesday, business time).
    await db.query(`UPDATE conversations SET ended_at = $2 WHERE id = ANY($1)`, [
      [...ids, ...salesIds],
      week.plus({ days: 1, hours: 10 }).toJSDate(),
    ]);

    const runs = await Promise.all(Array.from({ length: 5 }, () => app.services.quality.reviews.sampleWeek(week.toISODate()!)));
    expect(runs.filter((n) => n > 0)).toEqual([3 + 2]);
    expect(await app.services.quality.reviews.sampleWeek(week.toISODate()!)).toBe(0);
    expect(app.services.quality.reviews.lastWeek()).toBe(week.toISODate());

    const pending = (await app.data(QualityReviewsDocument, { filter: { status: 'PENDING' }, first: 100 }, admin)).qualityReviews.nodes;
    expect(pending.filter((r) => r.agentId === agent.id)).toHaveLength(3);
    expect(pending.filter((r) => r.agentId === agent2.id)).toHaveLength(2);
    expect(pending.every((r) => r.sampledWeek === week.toISODate() && ids.concat(salesIds).includes(r.conversationId))).toBe(true);
    // Managers see their own department's queue only.
    const mine = (await app.data(QualityReviewsDocument, { filter: { status: 'PENDING' } }, otherManager.token)).qualityReviews.nodes;
    expect(mine.map((r) => r.agentId)).toEqual([agent2.id, agent2.id]);

    const target = pending.find((r) => r.agentId === agent.id)!;
    const done = (await app.data(ReviewConversationDocument, { id: target.conversationId, scores: FULL }, manager.token))
      .reviewConversation;
    expect(done).toMatchObject({ id: target.id, status: 'DONE', sampledWeek: week.toISODate(), reviewerId: manager.id });
  });

  it('refuses to sample a day that is not a Monday', async () => {
    await expect(app.services.quality.reviews.sampleWeek('2026-11-03')).rejects.toThrow(/Monday/);
  });
});
