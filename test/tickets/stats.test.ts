import { randomUUID } from 'node:crypto';
import { addBusinessMinutes, isWithinWorkingHours, parseCalendar } from '../../src/modules/tickets/sla';
import { CreateTicketDocument, TicketByIdDocument, TicketStatsDocument } from '../generated/graphql';
import { GqlResult, startTestApp, TestApp } from '../support/harness';

const code = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.code;
const HOURS = { weekdays: [1, 2, 3, 4, 5], hours: ['09:00-12:00', '13:00-18:00'], holidays: ['2026-12-25'] };

describe('ticket statistics over known data, and business-hours SLAs', () => {
  let app: TestApp;
  let admin: string;
  let x: { id: string };
  let y: { id: string };
  let managerX: { id: string; token: string };
  let managerY: { id: string; token: string };
  let agentX: { id: string; token: string };
  let customer: { id: string; token: string };
  const ids: Record<string, string> = {};

  /** One ticket row as it would be after its history; times are Shanghai wall times on 2026-03-xx. */
  async function insert(
    name: string,
    t: {
      department: string;
      created: string;
      priority: string;
      category: string;
      status: string;
      fr?: string | null;
      frDue: string;
      resolved?: string | null;
      resDue: string;
      rating?: number | null;
    },
  ) {
    const ts = (s: string | null | undefined) => (s ? `${s}+08:00` : null);
    const id = randomUUID();
    ids[name] = id;
    const assigned = ['ASSIGNED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED'].includes(t.status);
    await app.services.orm.em.fork().execute(
      `INSERT INTO tickets (id, customer_id, created_by_id, subject, category, department_id, priority, priority_rank, status, assignee_id, assigned_at,
                            created_at, first_response_at, first_response_due_at, first_response_warn_at, resolution_started_at, resolution_due_at,
                            resolution_warn_at, next_due_at, resolved_at, closed_at, rating)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        customer.id,
        customer.id,
        name,
        t.category,
        t.department,
        t.priority,
        { URGENT: 0, HIGH: 1, NORMAL: 2, LOW: 3 }[t.priority],
        t.status,
        assigned ? agentX.id : null,
        assigned ? ts(t.created) : null,
        ts(t.created),
        ts(t.fr),
        ts(t.frDue),
        ts(t.frDue),
        ts(t.created),
        ts(t.resDue),
        ts(t.resDue),
        ts(t.frDue),
        ts(t.resolved),
        t.status === 'CLOSED' ? ts(t.resolved) : null,
        t.rating ?? null,
      ],
    );
  }

  beforeAll(async () => {
    app = await startTestApp({ env: { TICKET_BUSINESS_HOURS: JSON.stringify(HOURS), TICKET_SLA_SWEEP_SECONDS: '3600' } });
    admin = await app.adminToken();
    x = await app.createDepartment('技术支持', 'technical');
    y = await app.createDepartment('订单问题', 'order');
    managerX = await app.createUser({ role: 'MANAGER', departmentId: x.id });
    managerY = await app.createUser({ role: 'MANAGER', departmentId: y.id });
    agentX = await app.createUser({ role: 'AGENT', departmentId: x.id });
    customer = await app.createUser({ role: 'CUSTOMER' });

    // Department X, created 2026-03-10 and 03-11 (Shanghai):
    await insert('t1', {
      department: x.id,
      created: '2026-03-10T10:00',
      priority: 'NORMAL',
      category: '技术支持',
      status: 'CLOSED',
      fr: '2026-03-10T10:10',
      frDue: '2026-03-10T11:00',
      resolved: '2026-03-10T12:00',
      resDue: '2026-03-11T10:00',
      rating: 5,
    });
    await insert('t2', {
      department: x.id,
      created: '2026-03-10T10:00',
      priority: 'URGENT',
      category: '技术支持',
      status: 'RESOLVED',
      fr: '2026-03-10T10:20',
      frDue: '2026-03-10T10:05',
      resolved: '2026-03-10T11:30',
      resDue: '2026-03-10T11:00',
      rating: 3,
    });
    await insert('t3', {
      department: x.id,
      created: '2026-03-10T10:00',
      priority: 'HIGH',
      category: '订单问题',
      status: 'IN_PROGRESS',
      fr: '2026-03-10T10:30',
      frDue: '2026-03-10T10:30',
      resDue: '2026-03-10T14:00',
    });
    await insert('t4', {
      department: x.id,
      created: '2026-03-11T09:00',
      priority: 'LOW',
      category: '订单问题',
      status: 'NEW',
      frDue: '2026-03-11T11:00',
      resDue: '2026-03-13T09:00',
    });
    await insert('t5', {
      department: x.id,
      created: '2026-03-11T23:59',
      priority: 'NORMAL',
      category: '其他',
      status: 'ASSIGNED',
      frDue: '2099-01-01T00:00',
      resDue: '2099-01-02T00:00',
    });
    // Outside: another department, and just before / after the two dates.
    await insert('t6', {
      department: y.id,
      created: '2026-03-10T12:00',
      priority: 'NORMAL',
      category: '技术支持',
      status: 'CLOSED',
      fr: '2026-03-10T12:30',
      frDue: '2026-03-10T13:00',
      resolved: '2026-03-10T13:00',
      resDue: '2026-03-11T12:00',
      rating: 4,
    });
    await insert('t0', {
      department: x.id,
      created: '2026-03-09T23:59',
      priority: 'NORMAL',
      category: '技术支持',
      status: 'NEW',
      frDue: '2026-03-10T10:00',
      resDue: '2026-03-11T10:00',
    });
    await insert('t7', {
      department: x.id,
      created: '2026-03-12T00:00',
      priority: 'NORMAL',
      category: '技术支持',
      status: 'NEW',
      frDue: '2026-03-12T10:00',
      resDue: '2026-03-13T10:00',
    });
  });
  afterAll(() => app.stop());

  it('count by status, priority and category; time first responses and resolutions; judge SLAs; average ratings', async () => {
    const stats = (await app.data(TicketStatsDocument, { from: '2026-03-10', to: '2026-03-11', departmentId: x.id }, admin)).ticketStats;
    expect(stats).toEqual({
      from: '2026-03-10',
      to: '2026-03-11',
      departmentId: x.id,
      total: 5,
      byStatus: [
        { status: 'NEW', count: 1 },
        { status: 'ASSIGNED', count: 1 },
        { status: 'IN_PROGRESS', count: 1 },
        { status: 'RESOLVED', count: 1 },
        { status: 'CLOSED', count: 1 },
        { status: 'REOPENED', count: 0 },
      ],
      byPriority: [
        { priority: 'URGENT', count: 1 },
        { priority: 'HIGH', count: 1 },
        { priority: 'NORMAL', count: 2 },
        { priority: 'LOW', count: 1 },
      ],
      byCategory: [
        { category: '产品咨询', count: 0 },
        { category: '技术支持', count: 2 },
        { category: '订单问题', count: 2 },
        { category: '售后服务', count: 0 },
        { category: '投诉建议', count: 0 },
        { category: '账户问题', count: 0 },
        { category: '其他', count: 1 },
      ],
      // 600, 1200, 1800 s: p90 = 1200 + 0.8 × 600
      firstResponseTime: { count: 3, averageSeconds: 1200, p90Seconds: 1680 },
      // 7200, 5400 s: p90 = 5400 + 0.9 × 1800
      resolutionTime: { count: 2, averageSeconds: 6300, p90Seconds: 7020 },
      // met t1, t3 (on the dot); breached t2 (late), t4 (still waiting, past due); pending t5
      firstResponseSla: { met: 2, breached: 2, pending: 1, rate: 0.5 },
      // met t1; breached t2 (late), t3 and t4 (open past due); pending t5
      resolutionSla: { met: 1, breached: 3, pending: 1, rate: 0.25 },
      averageSatisfaction: 4,
      ratedCount: 2,
    });
  });

  it('are all departments for admins, one department for its manager, refused otherwise', async () => {
    const all = (await app.data(TicketStatsDocument, { from: '2026-03-10', to: '2026-03-11' }, admin)).ticketStats;
    expect(all).toMatchObject({ departmentId: null, total: 6, ratedCount: 3, averageSatisfaction: 4 });
    const mine = (await app.data(TicketStatsDocument, { from: '2026-03-10', to: '2026-03-11' }, managerX.token)).ticketStats;
    expect(mine).toMatchObject({ departmentId: x.id, total: 5 });
    expect((await app.data(TicketStatsDocument, { from: '2026-03-01', to: '2026-03-31' }, managerY.token)).ticketStats.total).toBe(1);
    expect(code(await app.exec(TicketStatsDocument, { from: '2026-03-10', to: '2026-03-11', departmentId: x.id }, managerY.token))).toBe(
      'FORBIDDEN',
    );
    expect(code(await app.exec(TicketStatsDocument, { from: '2026-03-10', to: '2026-03-11' }, agentX.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketStatsDocument, { from: '2026-03-10', to: '2026-03-11' }, customer.token))).toBe('FORBIDDEN');
    expect(code(await app.exec(TicketStatsDocument, { from: '2026-02-30', to: '2026-03-11' }, admin))).toBe('BAD_USER_INPUT');
    expect(code(await app.exec(TicketStatsDocument, { from: '2026-03-11', to: '2026-03-10' }, admin))).toBe('BAD_USER_INPUT');
    const empty = (await app.data(TicketStatsDocument, { from: '2020-01-01', to: '2020-01-01' }, admin)).ticketStats;
    expect(empty).toMatchObject({
      total: 0,
      firstResponseTime: { count: 0, averageSeconds: null, p90Seconds: null },
      firstResponseSla: { met: 0, breached: 0, pending: 0, rate: null },
      averageSatisfaction: null,
    });
  });

  it('show each deadline’s state on the ticket', async () => {
    const t4 = (await app.data(TicketByIdDocument, { id: ids.t4 }, admin)).ticket;
    expect(t4).toMatchObject({ firstResponseSla: 'BREACHED', resolutionSla: 'BREACHED' });
    expect(t4.firstResponseSecondsLeft).toBeLessThan(0);
    const t5 = (await app.data(TicketByIdDocument, { id: ids.t5 }, admin)).ticket;
    expect(t5).toMatchObject({ firstResponseSla: 'PENDING', resolutionSla: 'PENDING' });
    expect(t5.resolutionSecondsLeft).toBeGreaterThan(0);
    const t2 = (await app.data(TicketByIdDocument, { id: ids.t2 }, admin)).ticket;
    expect(t2).toMatchObject({
      firstResponseSla: 'BREACHED',
      resolutionSla: 'BREACHED',
      firstResponseSecondsLeft: null,
      resolutionSecondsLeft: null,
    });
    const t1 = (await app.data(TicketByIdDocument, { id: ids.t1 }, admin)).ticket;
    expect(t1).toMatchObject({ firstResponseSla: 'MET', resolutionSla: 'MET' });
  });

  it('measure SLAs in business hours when TICKET_BUSINESS_HOURS is set', async () => {
    const calendar = parseCalendar(HOURS, 'Asia/Shanghai');
    const t = (
      await app.data(CreateTicketDocument, { input: { subject: '工作时间', category: '技术支持', priority: 'NORMAL' } }, customer.token)
    ).createTicket;
    const created = new Date(t.createdAt);
    expect(t.firstResponseDueAt).toBe(addBusinessMinutes(created, 60, calendar).toISOString());
    expect(t.resolutionDueAt).toBe(addBusinessMinutes(created, 24 * 60, calendar).toISOString());
    expect(isWithinWorkingHours(new Date(t.resolutionDueAt), calendar)).toBe(true);
    // 24 business hours are three working days of 8 hours: never sooner than 3 × 24 h minus a working day.
    expect(Date.parse(t.resolutionDueAt) - created.getTime()).toBeGreaterThan(2 * 24 * 3_600_000);
  });
});
