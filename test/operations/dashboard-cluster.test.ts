import { OpsDashboardUpdatedDocument } from '../generated/graphql';
import { OpsDashboardLiveDocument } from '../generated/graphql';
import { describeWithRedis, drain, eventually, startTestApp, subscribe, TestApp } from '../support/harness';

type Update = { serviceDashboardUpdated: { departmentId: string | null; computedAt: string; connectedCustomers: number } };

describeWithRedis('serviceDashboardUpdated in a cluster', () => {
  let a: TestApp;
  let b: TestApp;
  let dept: { id: string };
  let managerToken: string;

  beforeAll(async () => {
    const env = { DASHBOARD_REFRESH_SECONDS: '1' };
    a = await startTestApp({ redis: true, env });
    b = await startTestApp({ redis: true, env, databaseUrl: a.databaseUrl });
    dept = await a.createDepartment('订单问题', 'order');
    managerToken = (await a.createUser({ role: 'MANAGER', departmentId: dept.id })).token;
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('computes each watched department once per interval for every subscriber of every process', async () => {
    const admin = await a.adminToken();
    const refreshesBefore =
      (await a.services.metrics.dashboardRefreshes.get()).values[0].value +
      (await b.services.metrics.dashboardRefreshes.get()).values[0].value;
    // Three subscribers of the department on two processes, one admin watching everything on each.
    const subs = [
      subscribe(a.ws(managerToken), OpsDashboardUpdatedDocument, {}),
      subscribe(a.ws(managerToken), OpsDashboardUpdatedDocument, { departmentId: dept.id }),
      subscribe(b.ws(managerToken), OpsDashboardUpdatedDocument, {}),
      subscribe(a.ws(admin), OpsDashboardUpdatedDocument, { departmentId: null }),
      subscribe(b.ws(admin), OpsDashboardUpdatedDocument, { departmentId: null }),
    ];
    const got = (await Promise.all(subs.map((s) => drain<Update>(s as never, 5500)))).map((events) =>
      events.map((e) => e.serviceDashboardUpdated),
    );
    const refreshes =
      (await a.services.metrics.dashboardRefreshes.get()).values[0].value +
      (await b.services.metrics.dashboardRefreshes.get()).values[0].value -
      refreshesBefore;

    const times = (list: Update['serviceDashboardUpdated'][]) => list.map((u) => u.computedAt);
    const deptTimes = new Set(got.slice(0, 3).flatMap(times));
    const allTimes = new Set(got.slice(3).flatMap(times));
    for (const list of got) expect(list.length).toBeGreaterThanOrEqual(3);
    for (const list of got.slice(0, 3)) expect(list.every((u) => u.departmentId === dept.id)).toBe(true);
    for (const list of got.slice(3)) expect(list.every((u) => u.departmentId === null)).toBe(true);
    // Every subscriber of a topic saw the same computations (one per interval), whichever process it is on.
    const common = (lists: Update['serviceDashboardUpdated'][][]) =>
      times(lists[0]).filter((t) => lists.every((l) => times(l).includes(t)));
    expect(common(got.slice(0, 3)).length).toBeGreaterThanOrEqual(3);
    expect(common(got.slice(3)).length).toBeGreaterThanOrEqual(3);
    // One computation per topic and interval in the whole cluster, not one per subscriber (5) or per process (2).
    expect(refreshes).toBeLessThanOrEqual(deptTimes.size + allTimes.size + 2);
    expect(deptTimes.size).toBeLessThanOrEqual(7);
    // The customers and agents connected are counted over both processes (here: none are customers).
    expect(got[0].at(-1)!.connectedCustomers).toBe(0);
    for (const s of subs) s.unsubscribe();
  });

  it('counts connected customers over every process', async () => {
    const one = await a.createUser({ role: 'CUSTOMER' });
    const two = await a.createUser({ role: 'CUSTOMER' });
    const subs = [
      subscribe(a.ws(one.token), 'subscription { notifications { id } }'),
      subscribe(b.ws(two.token), 'subscription { notifications { id } }'),
    ];
    await eventually(
      async () => (await b.data(OpsDashboardLiveDocument, {}, managerToken)).serviceDashboard.live.connectedCustomers === 2,
      8000,
      'both customers counted on process b',
    );
    for (const s of subs) s.unsubscribe();
  });
});
