import { DateTime } from 'luxon';
import { HeartbeatDocument, RequestServiceDocument } from '../generated/graphql';
import { DEMO_ROSTER_DAYS, DEMO_SHIFTS, scheduleAroundTheClock } from '../../scripts/demo-roster';
import type { RequestScope } from '../../src/context';
import { Role } from '../../src/platform/auth/roles';
import { ADMIN_EMAIL, eventually, startTestApp, TestApp } from '../support/harness';

describe('the demo roster (npm run seed:demo)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(); // ROUTING_REQUIRE_SHIFT on: only agents on a shift get customers
  });
  afterAll(() => app.stop());

  it('puts every demo agent on shift around the clock for today and the next 7 days, once, and a customer is answered when one signs in', async () => {
    const zone = app.services.config.businessTz;
    const dept = await app.createDepartment('演示票务', 'demo_tickets');
    const agents = await Promise.all([0, 1].map(() => app.createUser({ role: 'AGENT', departmentId: dept.id })));
    const [{ id: adminId }] = await app.services.orm.em
      .fork()
      .execute<Array<{ id: string }>>(`SELECT id FROM users WHERE email = ?`, [ADMIN_EMAIL]);
    const scope = (): RequestScope =>
      ({
        viewer: { id: adminId, role: Role.ADMIN, departmentId: null },
        em: app.services.orm.em.fork(),
        traceId: 'demo-roster-test',
        logger: app.services.logger,
        ip: '127.0.0.1',
      }) as RequestScope;

    const first = await scheduleAroundTheClock(
      app.services,
      scope,
      agents.map((a) => a.id),
      zone,
    );
    expect(first).toMatchObject({
      shiftsCreated: DEMO_SHIFTS.length,
      schedulesCreated: DEMO_SHIFTS.length * DEMO_ROSTER_DAYS * agents.length,
      schedulesSkipped: 0,
    });

    // Back to back, from midnight today to midnight after the 8th day, in the business time zone.
    const today = DateTime.now().setZone(zone).startOf('day');
    for (const agent of agents) {
      const rows = await app.services.orm.em
        .fork()
        .execute<Array<{ starts: Date; ends: Date }>>(
          `SELECT lower(period) AS starts, upper(period) AS ends FROM schedules WHERE agent_id = ? AND status = 'NORMAL' ORDER BY lower(period)`,
          [agent.id],
        );
      expect(rows).toHaveLength(DEMO_SHIFTS.length * DEMO_ROSTER_DAYS);
      expect(new Date(rows[0].starts).getTime()).toBe(today.toMillis());
      expect(new Date(rows[rows.length - 1].ends).getTime()).toBe(today.plus({ days: DEMO_ROSTER_DAYS }).toMillis());
      rows.slice(1).forEach((r, i) => expect(new Date(r.starts).getTime()).toBe(new Date(rows[i].ends).getTime()));
    }

    // Run again: nothing new, nothing changed.
    const again = await scheduleAroundTheClock(
      app.services,
      scope,
      agents.map((a) => a.id),
      zone,
    );
    expect(again).toMatchObject({
      shiftsCreated: 0,
      schedulesCreated: 0,
      schedulesSkipped: DEMO_SHIFTS.length * DEMO_ROSTER_DAYS * agents.length,
    });

    // The quick start: a customer asks, an agent signs in, the customer is answered.
    const customer = await app.createUser({ role: 'CUSTOMER' });
    const asked = (await app.data(RequestServiceDocument, { input: { topic: 'demo_tickets', message: '你好，我想买票' } }, customer.token))
      .requestService;
    expect(asked).toMatchObject({ status: 'QUEUED', queueReason: 'NO_AGENT_ONLINE' });
    await app.data(HeartbeatDocument, {}, agents[0].token);
    await eventually(
      async () =>
        (await app.data(RequestServiceDocument, { input: { topic: 'demo_tickets', message: '还在吗' } }, customer.token)).requestService
          .status === 'ASSIGNED',
      5000,
      'the customer answered',
    );
  });
});
