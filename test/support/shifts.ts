import { AssignSchedulesDocument, CreateShiftDocument } from '../generated/graphql';
import type { TestApp } from './harness';

/** The test servers' business time zone (BUSINESS_TZ's default). */
const BUSINESS_TZ = 'Asia/Shanghai';

/** A shift from an hour ago to three hours from now (business time zone) and the date it starts on. */
export async function shiftCoveringNow(app: TestApp, code: string): Promise<{ shiftId: string; date: string }> {
  const now = Date.now();
  const hhmm = (ms: number) =>
    new Date(ms).toLocaleTimeString('en-GB', { timeZone: BUSINESS_TZ, hour: '2-digit', minute: '2-digit', hour12: false });
  const input = { name: 'now', code, startTime: hhmm(now - 3600_000), endTime: hhmm(now + 3 * 3600_000) };
  const { createShift } = await app.data(CreateShiftDocument, { input }, await app.adminToken());
  return { shiftId: createShift.id, date: new Date(now - 3600_000).toLocaleDateString('sv-SE', { timeZone: BUSINESS_TZ }) };
}

/** Schedules the agents on that shift: they are on duty now (routing's ROUTING_REQUIRE_SHIFT rule). */
export async function scheduleNow(app: TestApp, shift: { shiftId: string; date: string }, agentIds: string[]): Promise<void> {
  await app.data(AssignSchedulesDocument, { input: { shiftId: shift.shiftId, agentIds, dates: [shift.date] } }, await app.adminToken());
}
