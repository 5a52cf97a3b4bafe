import {
  EndConversationDocument,
  HeartbeatDocument,
  OpsDashboardDocument,
  OpsDashboardLiveDocument,
  OpsDashboardUpdatedDocument,
  RateConversationDocument,
  RequestServiceDocument,
  SendMessageDocument,
} from '../generated/graphql';
import { eventually, startTestApp, subscribe, TestApp } from '../support/harness';
import { insertTicket, putOnShift } from './support';

type Person = { id: string; token: string };

/** A fixed-offset zone where it is now between 12:00 and 13:00, so "today" holds the last 12 hours whenever the test runs. */
function middayZone(): string {
  const offset = ((12 - new Date().getUTCHours() + 36) % 24) - 12; // -12..11
  return offset >= 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

describe('serviceDashboard', () => {
  let app: TestApp;
  let dept: { id: string };
  let other: { id: string };
  let manager: Person;
  let otherManager: Person;
  let agent: Person;
  let absent: Person;
  let customer: Person;
  const customers: Person[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: { DASHBOARD_REFRESH_SECONDS: '1', RATE_SEND_MESSAGE_PER_MINUTE: '1000', BUSINESS_TZ: middayZone() } });
    dept = await app.createDepartment('订单问题', 'order');
    other = await app.createDepartment('售前咨询', 'sales');
    manager = await app.createUser({ role: 'MANAGER', departmentId: dept.id });
    otherManager = await app.createUser({ role: 'MANAGER', departmentId: other.id });
    agent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 2 });
    absent = await app.createUser({ role: 'AGENT', departmentId: dept.id, maxConcurrentChats: 3 });
    await app.createUser({ role: 'AGENT', departmentId: dept.id }); // not on shift
    await putOnShift(app, agent.id, 5);
    await putOnShift(app, absent.id, 20); // on shift 20 minutes, never online
    await app.data(HeartbeatDocument, {}, agent.token);

    // Two chats reach the agent (capacity 2), the third waits; the agent answers the first; one more ends rated.
    for (let i = 0; i < 4; i++) customers.push(await app.createUser({ role: 'CUSTOMER' }));
    const first = (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '订单到哪了' } }, customers[0].token))
      .requestService;
    expect(first.status).toBe('ASSIGNED');
    await app.data(
      SendMessageDocument,
      { input: { conversationId: first.conversation!.id, content: '您好，我来查', clientMessageId: 'a1' } },
      agent.token,
    );
    await app.data(EndConversationDocument, { id: first.conversation!.id }, customers[0].token);
    await app.data(RateConversationDocument, { id: first.conversation!.id, score: 4 }, customers[0].token);
    for (const c of customers.slice(1, 3)) {
      expect((await app.data(RequestServiceDocument, { input: { topic: 'order', message: '在吗' } }, c.token)).requestService.status).toBe(
        'ASSIGNED',
      );
    }
    expect(
      (await app.data(RequestServiceDocument, { input: { topic: 'order', message: '在吗' } }, customers[3].token)).requestService.status,
    ).toBe('QUEUED');
    customer = customers[3];

    await insertTicket(app, {
      departmentId: dept.id,
      customerId: customer.id,
      ageMinutes: 90,
      warnInMinutes: -30,
      dueInMinutes: -10,
      breachNotifiedMinutesAgo: 5,
    });
    await insertTicket(app, { departmentId: dept.id, customerId: customer.id, ageMinutes: 30, warnInMinutes: -1, dueInMinutes: 30 });
    await insertTicket(app, { departmentId: dept.id, customerId: customer.id, ageMinutes: 5, warnInMinutes: 60, dueInMinutes: 120 });
    await insertTicket(app, { departmentId: other.id, customerId: customer.id, ageMinutes: 90, warnInMinutes: -30, dueInMinutes: -10 });
  });
  afterAll(() => app.stop());

  it('shows a manager the live figures of their department', async () => {
    // A customer's WebSocket counts among the connected customers.
    const ws = app.ws(customer.token);
    const sub = subscribe(ws, 'subscription { notifications { id } }');
    await eventually(async () => (await app.services.connectedClients.local()).CUSTOMER === 1, 5000, 'customer socket');
    const live = (await app.data(OpsDashboardLiveDocument, {}, manager.token)).serviceDashboard.live;
    expect(live).toMatchObject({
      departmentId: dept.id,
      connectedCustomers: 1,
      connectedAgents: 1,
      agentsOnShift: 2,
      agentsOnline: 1,
      agentsAvailable: 1,
      agentsBusy: 0,
      queueLength: 1,
      openChats: 2,
      availableSeats: 2,
      utilisation: 1,
      satisfaction: 4,
      ratings24h: 1,
      ticketsAtRisk: 1,
      ticketsBreached: 1,
      slaBreachesLastHour: 1,
    });
    expect(live.longestWaitSeconds).toBeGreaterThanOrEqual(0);
    expect(live.messagesPerMinute).toBeGreaterThan(0);
    expect(live.avgFirstResponseSeconds).toBeGreaterThanOrEqual(0);
    expect(live.p90FirstResponseSeconds).toBeGreaterThanOrEqual(0);
    // On shift for 20 minutes without ever coming online.
    expect(live.longestOnShiftOfflineSeconds).toBeGreaterThanOrEqual(20 * 60 - 5);
    sub.unsubscribe();
  });

  it('reports today and the week: totals, every hour, peaks, satisfaction and each agent', async () => {
    const { today, week } = (await app.data(OpsDashboardDocument, { departmentId: dept.id }, manager.token)).serviceDashboard;
    for (const p of [today, week]) {
      expect(p).toMatchObject({
        conversations: 4,
        conversationsHandled: 1,
        conversationsAbandoned: 0,
        ticketsCreated: 3,
        satisfaction: 4,
        resolutionRate: 1,
      });
      expect(p.hourly.reduce((n, h) => n + h.conversations, 0)).toBe(4);
      expect(p.hourly.reduce((n, h) => n + h.tickets, 0)).toBe(3);
      expect(p.peakHours.length).toBeGreaterThan(0);
      expect(p.satisfactionTrend).toEqual([expect.objectContaining({ average: 4, ratings: 1 })]);
      expect(p.agents).toEqual([expect.objectContaining({ agentId: agent.id, handled: 1, satisfaction: 4, ticketsResolved: 0 })]);
      // One breached of the first-response clocks that fell due: attainment 0 of 1.
      expect(p.slaAttainment).toBe(0);
    }
    expect(week.hourly.length).toBeGreaterThan(today.hourly.length);
    expect(new Date(week.from).getTime()).toBeLessThan(new Date(today.from).getTime());
  });

  it('lets admins see any department or all of them', async () => {
    const admin = await app.adminToken();
    const all = (await app.data(OpsDashboardLiveDocument, { departmentId: null }, admin)).serviceDashboard;
    expect(all.departmentId).toBeNull();
    expect(all.live.ticketsBreached).toBe(2);
    const sales = (await app.data(OpsDashboardLiveDocument, { departmentId: other.id }, admin)).serviceDashboard;
    expect(sales.live).toMatchObject({ departmentId: other.id, queueLength: 0, ticketsBreached: 1, agentsOnShift: 0, utilisation: null });
  });

  it('refuses agents, customers, the signed-out, and managers of another department', async () => {
    const cases: Array<[string | null, string | null, string]> = [
      [agent.token, null, 'FORBIDDEN'],
      [customer.token, null, 'FORBIDDEN'],
      [null, null, 'UNAUTHENTICATED'],
      [otherManager.token, dept.id, 'FORBIDDEN'],
      [manager.token, other.id, 'FORBIDDEN'],
      [await app.adminToken(), '00000000-0000-4000-8000-000000000000', 'NOT_FOUND'],
      [await app.adminToken(), 'not-an-id', 'BAD_USER_INPUT'],
    ];
    for (const [token, departmentId, code] of cases) {
      const res = await app.exec(OpsDashboardLiveDocument, { departmentId }, token);
      expect(res.data?.serviceDashboard ?? null).toBeNull();
      expect(res.errors?.[0]?.extensions?.code).toBe(code);
    }
    // A manager without departmentId gets their own department.
    expect((await app.data(OpsDashboardLiveDocument, {}, otherManager.token)).serviceDashboard.departmentId).toBe(other.id);
  });

  it('pushes the live part to subscribers every interval', async () => {
    const sub = subscribe(app.ws(manager.token), OpsDashboardUpdatedDocument, {});
    const a = (await sub.next(5000)).data!.serviceDashboardUpdated;
    const b = (await sub.next(5000)).data!.serviceDashboardUpdated;
    expect(a).toMatchObject({ departmentId: dept.id, queueLength: 1, openChats: 2 });
    expect(new Date(b.computedAt).getTime()).toBeGreaterThan(new Date(a.computedAt).getTime());
    sub.unsubscribe();
  });

  it('refuses subscriptions out of scope', async () => {
    for (const [token, departmentId] of [
      [agent.token, null],
      [customer.token, null],
      [manager.token, other.id],
    ] as const) {
      const sub = subscribe(app.ws(token), OpsDashboardUpdatedDocument, { departmentId });
      const first = await sub.next(5000).catch(() => null);
      const errors = first?.errors ?? (sub.error as readonly { extensions?: { code?: string } }[] | null);
      expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });
});
