import { DateTime } from 'luxon';
import { ForecastContactsDocument } from '../generated/graphql';
import { startTestApp, TestApp } from '../support/harness';

const ZONE = 'Asia/Shanghai';
const day = (offset: number) => DateTime.now().setZone(ZONE).startOf('day').plus({ days: offset }).toISODate()!;

/**
 * Holidays come from the business calendar (TICKET_BUSINESS_HOURS): a weekday that is a holiday is forecast with
 * the profile of the first day off (Sunday), and a holiday in the history does not pull its weekday down.
 */
describe('forecast: holidays from the business calendar', () => {
  let app: TestApp;
  let admin: string;
  let dept: { id: string };
  const weekdays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(day).filter((d) => DateTime.fromISO(d).weekday <= 5);
  const holiday = weekdays[0];
  const ordinary = weekdays.find((d) => DateTime.fromISO(d).weekday === DateTime.fromISO(holiday).weekday && d !== holiday) ?? weekdays[5];
  const pastHoliday = DateTime.fromISO(holiday).minus({ weeks: 1 }).toISODate()!;

  beforeAll(async () => {
    const calendar = { weekdays: [1, 2, 3, 4, 5], hours: ['09:00-18:00'], holidays: [holiday, pastHoliday], zone: ZONE };
    app = await startTestApp({ env: { TICKET_BUSINESS_HOURS: JSON.stringify(calendar) } });
    admin = await app.adminToken();
    dept = await app.createDepartment('在线客服', 'online');
    const customer = await app.createUser({ role: 'CUSTOMER' });
    // 4 weeks: 6 chats per half hour 08:00–20:00 on weekdays, 2 at weekends; the past holiday had none.
    await app.services.orm.em.fork().execute(
      `INSERT INTO conversations (id, customer_id, department_id, topic, status, priority, priority_rank, created_at, queued_at, assigned_at, ended_at, end_reason)
       SELECT gen_random_uuid(), ?, ?, 'history', 'ENDED', 'NORMAL', 2, t, t, t + interval '10 seconds', t + interval '610 seconds', 'AGENT'
         FROM generate_series((?::date - 28)::timestamp, (?::date - 1)::timestamp + interval '23 hours 30 minutes', interval '30 minutes') AS slot,
              LATERAL (SELECT (slot AT TIME ZONE '${ZONE}') + (n * interval '1 minute') AS t
                         FROM generate_series(1, CASE WHEN extract(isodow FROM slot) >= 6 THEN 2 ELSE 6 END) AS n) AS chats
        WHERE slot::time >= '08:00' AND slot::time < '20:00' AND slot::date <> ?::date`,
      [customer.id, dept.id, day(0), day(0), pastHoliday],
    );
  });
  afterAll(() => app.stop());

  const noon = async (date: string) => {
    const f = (await app.data(ForecastContactsDocument, { departmentId: dept.id, from: date, to: date }, admin)).forecastContacts;
    return f.intervals.find(
      (iv) => DateTime.fromISO(iv.startsAt, { zone: ZONE }).hour === 12 && DateTime.fromISO(iv.startsAt, { zone: ZONE }).minute === 0,
    )!.conversations;
  };

  it('forecasts a holiday like a day off, and the same weekday otherwise as usual', async () => {
    expect(Math.abs((await noon(holiday)) - 2)).toBeLessThanOrEqual(0.5);
    // The empty past holiday was left out: the ordinary same weekday still expects 6, not 6 × 3/4.
    expect(Math.abs((await noon(ordinary)) - 6)).toBeLessThanOrEqual(0.5);
  });
});
