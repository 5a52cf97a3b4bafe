import fc from 'fast-check';
import { Client as PgClient } from 'pg';
import { addDays } from '../../src/platform/clock';
import { MAX_AGENT_LOCKS } from '../../src/platform/db/agent-locks';
import {
  ApproveLeaveDocument,
  ApproveSwapDocument,
  AssignSchedulesDocument,
  CancelLeaveDocument,
  CreateShiftDocument,
  RejectLeaveDocument,
  RemoveSchedulesDocument,
  RequestLeaveDocument,
  RequestSwapDocument,
} from '../generated/graphql';
import { GqlResult, startTestApp, TestApp } from '../support/harness';

type Person = { id: string; token: string };

/**
 * Leave approval, swap approval and assignSchedules / removeSchedules on the same agent and day, fired at
 * the same moment against the real server: whatever the interleaving, the database must end as some serial
 * order of the same operations would leave it.
 */
describe('races between leave, swaps and scheduling', () => {
  let app: TestApp;
  let pg: PgClient;
  let admin: string;
  let department: { id: string };
  let manager: Person;
  let agents: Person[];
  let shiftId: string;
  // Every scenario works on dates nobody else uses, so scenarios never see each other's rows.
  let nextDay = 0;
  const freshDates = (n: number) => {
    const first = addDays('2028-01-03', nextDay);
    nextDay += n;
    return Array.from({ length: n }, (_, i) => addDays(first, i));
  };

  const requestLeave = async (agent: Person, date: string) =>
    (await app.data(RequestLeaveDocument, { input: { type: 'PERSONAL', startDate: date, endDate: date } }, agent.token)).requestLeave.id;
  const assign = async (agentIds: string[], date: string) =>
    (await app.data(AssignSchedulesDocument, { input: { shiftId, agentIds, dates: [date] } }, manager.token)).assignSchedules.created;

  /** NORMAL schedules of these agents (on these dates, or any) that lie inside approved leave: must stay empty. */
  const normalInsideLeave = async (agentIds: string[], dates: string[] | null = null) =>
    (
      await pg.query(
        `SELECT s.id FROM schedules s JOIN leave_requests l ON l.requester_id = s.agent_id
          WHERE s.agent_id = ANY($1::uuid[]) AND ($2::date[] IS NULL OR s.date = ANY($2::date[]))
            AND s.status = 'NORMAL' AND l.status = 'APPROVED' AND l.period && s.period`,
        [agentIds, dates],
      )
    ).rows;

  beforeAll(async () => {
    // The serial model below knows overlaps and leave, not weekly hours (swaps refuse WEEKLY_HOURS): off here.
    app = await startTestApp({ env: { MAX_WEEKLY_HOURS: '168' } });
    admin = await app.adminToken();
    department = await app.createDepartment('值班', 'duty');
    manager = await app.createUser({ role: 'MANAGER', departmentId: department.id });
    agents = await Promise.all([0, 1, 2].map(() => app.createUser({ role: 'AGENT', departmentId: department.id })));
    shiftId = (
      await app.data(CreateShiftDocument, { input: { name: 'Early', code: 'RACE-E', startTime: '09:00', endTime: '17:00' } }, admin)
    ).createShift.id;
    pg = new PgClient({ connectionString: app.databaseUrl });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await app?.stop();
  });

  it('approving a leave while the same day is being scheduled never leaves a NORMAL schedule inside the leave', async () => {
    const [agent] = agents;
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      const [date] = freshDates(1);
      const leaveId = await requestLeave(agent, date);
      const [approved, assigned] = await Promise.all([
        app.exec(ApproveLeaveDocument, { id: leaveId }, manager.token),
        app.exec(AssignSchedulesDocument, { input: { shiftId, agentIds: [agent.id], dates: [date] } }, manager.token),
      ]);
      expect(approved.errors).toBeUndefined();
      expect(assigned.errors).toBeUndefined();
      // Either order is fine: approval first refuses the schedule (ON_LEAVE), scheduling first gets it marked.
      const { rows } = await pg.query(`SELECT status FROM schedules WHERE agent_id = $1 AND date = $2`, [agent.id, date]);
      if (assigned.data!.assignSchedules.createdCount === 0) {
        expect(assigned.data!.assignSchedules.conflicts).toEqual([expect.objectContaining({ reason: 'ON_LEAVE' })]);
        expect(rows).toEqual([]);
      } else {
        expect(rows).toEqual([{ status: 'ON_LEAVE' }]);
      }
    }
    expect(await normalInsideLeave([agent.id])).toEqual([]);
  });

  it('approving a hand-over to an agent whose leave is being approved never gives them a NORMAL schedule inside it', async () => {
    const [giver, receiver] = agents;
    for (let i = 0; i < 20; i++) {
      const [date] = freshDates(1);
      const [schedule] = await assign([giver.id], date);
      const leaveId = await requestLeave(receiver, date);
      const swapId = (
        await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId: schedule.id, toAgentId: receiver.id }] } }, giver.token)
      ).requestSwap.id;
      const [leave, swap] = await Promise.all([
        app.exec(ApproveLeaveDocument, { id: leaveId }, manager.token),
        app.exec(ApproveSwapDocument, { id: swapId }, manager.token),
      ]);
      expect(leave.errors).toBeUndefined();
      // The swap lands first (and the leave marks the received schedule) or meets the leave and changes nothing.
      if (swap.errors) expect(swap.errors[0].extensions?.code).toBe('CONFLICT');
    }
    expect(await normalInsideLeave([giver.id, receiver.id])).toEqual([]);
  });

  it('a call on more agents than MAX_AGENT_LOCKS (one lock for all) still waits for a leave approval of one of them', async () => {
    // Created without signing in: only the first needs a token (to ask for leave).
    const crowd = await Promise.all(
      Array.from({ length: MAX_AGENT_LOCKS + 1 }, async (_, i) =>
        i === 0
          ? agents[2].id
          : (
              await app.data<{ createUser: { id: string } }, unknown>(
                'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
                {
                  input: {
                    email: `crowd-${i}@test.local`,
                    password: 'password-123',
                    displayName: `crowd ${i}`,
                    role: 'AGENT',
                    departmentId: department.id,
                  },
                },
                admin,
              )
            ).createUser.id,
      ),
    );
    for (let i = 0; i < 10; i++) {
      const [date] = freshDates(1);
      const leaveId = await requestLeave(agents[2], date);
      const [approved, assigned] = await Promise.all([
        app.exec(ApproveLeaveDocument, { id: leaveId }, manager.token),
        app.exec(AssignSchedulesDocument, { input: { shiftId, agentIds: crowd, dates: [date], mode: 'SKIP_CONFLICTS' } }, manager.token),
      ]);
      expect(approved.errors).toBeUndefined();
      expect(assigned.data?.assignSchedules.createdCount).toBeGreaterThanOrEqual(MAX_AGENT_LOCKS);
    }
    expect(await normalInsideLeave([agents[2].id])).toEqual([]);
  });

  it('removing a schedule named in a swap request is a CONFLICT, not an internal error', async () => {
    const [giver, receiver] = agents;
    const [date] = freshDates(1);
    const [schedule] = await assign([giver.id], date);
    await app.data(RequestSwapDocument, { input: { steps: [{ scheduleId: schedule.id, toAgentId: receiver.id }] } }, giver.token);
    const removed = await app.exec(RemoveSchedulesDocument, { ids: [schedule.id] }, manager.token);
    expect(removed.errors?.[0].extensions?.code).toBe('CONFLICT');
    const { rows } = await pg.query(`SELECT status FROM schedules WHERE id = $1`, [schedule.id]);
    expect(rows).toEqual([{ status: 'NORMAL' }]);
  });

  it('every random interleaving of approvals and scheduling ends as some serial order would', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        // Several copies at once (on their own dates): more interleavings of the same scenario per run.
        runs += COPIES;
        await Promise.all(Array.from({ length: COPIES }, () => checkScenario(scenario)));
      }),
      { numRuns: 20, endOnFailure: true },
    );

    console.log(`workforce races: ${runs} random interleavings checked against every serial order`);
  }, 180_000); // a minute or less on an idle machine; the margin is for a loaded one

  // ---- the property test: scenario, model of the serial semantics, and the check ----

  async function checkScenario(scenario: Scenario): Promise<void> {
    const dates = freshDates(scenario.days);
    const people = agents.slice(0, scenario.agents);

    // The starting state: schedules and pending leave, then pending swaps of those schedules (none of them race).
    const [initial, leaveIds] = await Promise.all([
      Promise.all(
        scenario.scheduled.map(async (slot, i): Promise<ModelSchedule & { id: string }> => {
          const [created] = await assign([people[slot.agent].id], dates[slot.day]);
          return {
            key: `s${i}`,
            id: created.id,
            agent: slot.agent,
            day: slot.day,
            status: 'NORMAL',
            swapped: false,
            named: false,
            origin: `s${i}`,
          };
        }),
      ),
      Promise.all(scenario.leave.map((l) => requestLeave(people[l.agent], dates[l.day]))),
    ]);
    const swapIds = await Promise.all(
      scenario.swaps.map(async (swap) => {
        const steps = swap.steps.map((s) => ({ scheduleId: initial[s.schedule].id, toAgentId: people[s.to].id }));
        const requester = people[initial[swap.steps[0].schedule].agent]; // the manager approves, so a participant asks
        return (await app.data(RequestSwapDocument, { input: { steps } }, requester.token)).requestSwap.id;
      }),
    );
    for (const swap of scenario.swaps) for (const s of swap.steps) initial[s.schedule].named = true;

    // All operations at once.
    const results = await Promise.all(
      scenario.ops.map((op): Promise<GqlResult<any>> => {
        switch (op.kind) {
          case 'approveLeave':
            return app.exec(ApproveLeaveDocument, { id: leaveIds[op.leave] }, manager.token);
          case 'rejectLeave':
            return app.exec(RejectLeaveDocument, { id: leaveIds[op.leave] }, manager.token);
          case 'cancelLeave':
            return app.exec(CancelLeaveDocument, { id: leaveIds[op.leave] }, admin);
          case 'approveSwap':
            return app.exec(ApproveSwapDocument, { id: swapIds[op.swap] }, manager.token);
          case 'assign':
            return app.exec(
              AssignSchedulesDocument,
              { input: { shiftId, agentIds: op.agents.map((a) => people[a].id), dates: [dates[op.day]], mode: op.mode } },
              manager.token,
            );
          case 'remove':
            return app.exec(RemoveSchedulesDocument, { ids: [initial[op.schedule].id] }, manager.token);
        }
      }),
    );
    for (const r of results) {
      expect(r.errors?.[0]?.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    }
    const observedOutcomes = results.map((r, i) => outcomeOf(scenario.ops[i], r));

    // What the database holds now.
    const agentIds = people.map((p) => p.id);
    const agentIndex = new Map(agentIds.map((id, i) => [id, i]));
    const dayIndex = new Map(dates.map((d, i) => [d, i]));
    const initialKey = new Map(initial.map((s) => [s.id, s.key]));
    const schedules = (
      await pg.query(
        `SELECT id, agent_id, to_char(date, 'YYYY-MM-DD') AS date, status, replacing_id, replaced_by_id FROM schedules
          WHERE agent_id = ANY($1::uuid[]) AND date = ANY($2::date[])`,
        [agentIds, dates],
      )
    ).rows as Array<{
      id: string;
      agent_id: string;
      date: string;
      status: Status;
      replacing_id: string | null;
      replaced_by_id: string | null;
    }>;
    const leaveStatus = (await pg.query(`SELECT id, status FROM leave_requests WHERE id = ANY($1::uuid[])`, [leaveIds])).rows as Array<{
      id: string;
      status: string;
    }>;
    const swapStatus = (await pg.query(`SELECT id, status FROM swap_requests WHERE id = ANY($1::uuid[])`, [swapIds])).rows as Array<{
      id: string;
      status: string;
    }>;
    const observed: FinalState = {
      schedules: schedules
        .map((s) =>
          describeSchedule(
            agentIndex.get(s.agent_id)!,
            dayIndex.get(s.date)!,
            s.status,
            initialKey.get(s.id) ?? (s.replacing_id ? 'swap' : 'assign'),
          ),
        )
        .sort(),
      leave: leaveIds.map((id) => leaveStatus.find((l) => l.id === id)!.status),
      swaps: swapIds.map((id) => swapStatus.find((s) => s.id === id)!.status),
    };

    // The invariants, checked directly on the rows.
    expect(await normalInsideLeave(agentIds, dates)).toEqual([]);
    const doubleBooked = await pg.query(
      `SELECT a.id FROM schedules a JOIN schedules b ON a.agent_id = b.agent_id AND a.id < b.id AND a.period && b.period
        WHERE a.agent_id = ANY($1::uuid[]) AND a.date = ANY($2::date[]) AND a.status <> 'SWAPPED_OUT' AND b.status <> 'SWAPPED_OUT'`,
      [agentIds, dates],
    );
    expect(doubleBooked.rows).toEqual([]);
    for (const [i, swap] of scenario.swaps.entries()) {
      const originals = swap.steps.map((s) => schedules.find((row) => row.id === initial[s.schedule].id));
      if (observed.swaps[i] === 'APPROVED') {
        for (const o of originals) expect(o).toMatchObject({ status: 'SWAPPED_OUT', replaced_by_id: expect.any(String) });
      } else {
        for (const o of originals) expect(o?.replaced_by_id ?? null).toBeNull();
      }
    }

    // Some serial order of the same operations gives the same answers and the same state.
    const orders = permutations(scenario.ops.map((_, i) => i));
    const serial = orders.find((order) => {
      const run = runSerially(scenario, initial, order);
      return sameOutcomes(run.outcomes, observedOutcomes) && JSON.stringify(run.state) === JSON.stringify(observed);
    });
    if (!serial) {
      throw new Error(
        `No serial order explains the result.\nscenario: ${JSON.stringify(scenario)}\noutcomes: ${JSON.stringify(observedOutcomes)}\nerrors: ${JSON.stringify(results.map((r) => r.errors?.[0]?.message ?? null))}\nstate: ${JSON.stringify(observed, null, 1)}`,
      );
    }
  }
});

/** Copies of each random scenario fired at once. */
const COPIES = 3;

type Status = 'NORMAL' | 'ON_LEAVE' | 'SWAPPED_OUT';
type Op =
  | { kind: 'approveLeave'; leave: number }
  | { kind: 'rejectLeave'; leave: number }
  /** By an admin: a pending request is withdrawn, an approved one gives the agent's schedules back. */
  | { kind: 'cancelLeave'; leave: number }
  | { kind: 'approveSwap'; swap: number }
  | { kind: 'assign'; agents: number[]; day: number; mode: 'ALL_OR_NOTHING' | 'SKIP_CONFLICTS' }
  | { kind: 'remove'; schedule: number };

interface Scenario {
  agents: number;
  days: number;
  /** Schedules that exist before the operations run (at most one per agent and day). */
  scheduled: Array<{ agent: number; day: number }>;
  /** Pending full-day leave (at most one per agent and day). */
  leave: Array<{ agent: number; day: number }>;
  /** Pending swaps; each step hands one of `scheduled` to another agent; a schedule is in at most one swap. */
  swaps: Array<{ steps: Array<{ schedule: number; to: number }> }>;
  ops: Op[];
}

interface ModelSchedule {
  key: string;
  id?: string;
  agent: number;
  day: number;
  status: Status;
  /** Took part in an approved swap (replaced or replacing). */
  swapped: boolean;
  /** Named in a swap request (any status). */
  named: boolean;
  origin: string;
}

interface FinalState {
  schedules: string[];
  leave: string[];
  swaps: string[];
}

/** What an operation answered: an error, or (assign) how many schedules it created, or (others) ok. */
type Outcome = 'error' | 'ok' | number;

const describeSchedule = (agent: number, day: number, status: string, origin: string) => `${agent}/${day}/${status}/${origin}`;

function outcomeOf(op: Op, r: GqlResult<any>): Outcome {
  if (r.errors?.length) return 'error';
  return op.kind === 'assign' ? r.data.assignSchedules.createdCount : 'ok';
}

function sameOutcomes(a: Outcome[], b: Outcome[]): boolean {
  return a.every((x, i) => x === b[i]);
}

/**
 * The operations' rules, applied one after the other in `order`: the serial semantics the concurrent run
 * must match.
 */
function runSerially(scenario: Scenario, initial: ModelSchedule[], order: number[]): { outcomes: Outcome[]; state: FinalState } {
  const schedules: ModelSchedule[] = initial.map((s) => ({ ...s }));
  const leave = scenario.leave.map((l) => ({ ...l, status: 'PENDING' }));
  const swaps = scenario.swaps.map((s) => ({ ...s, status: 'PENDING' }));
  const outcomes: Outcome[] = new Array(scenario.ops.length);
  const active = (agent: number, day: number) => schedules.filter((s) => s.agent === agent && s.day === day && s.status !== 'SWAPPED_OUT');
  const onLeave = (agent: number, day: number) => leave.some((l) => l.agent === agent && l.day === day && l.status === 'APPROVED');

  for (const i of order) {
    const op = scenario.ops[i];
    switch (op.kind) {
      case 'approveLeave':
      case 'rejectLeave': {
        const l = leave[op.leave];
        if (l.status !== 'PENDING') {
          outcomes[i] = 'error';
          break;
        }
        l.status = op.kind === 'approveLeave' ? 'APPROVED' : 'REJECTED';
        if (l.status === 'APPROVED') for (const s of active(l.agent, l.day)) if (s.status === 'NORMAL') s.status = 'ON_LEAVE';
        outcomes[i] = 'ok';
        break;
      }
      case 'cancelLeave': {
        const l = leave[op.leave];
        if (l.status !== 'PENDING' && l.status !== 'APPROVED') {
          outcomes[i] = 'error';
          break;
        }
        // One leave per agent and day here, so no other approved leave keeps the schedules ON_LEAVE.
        if (l.status === 'APPROVED') for (const s of active(l.agent, l.day)) if (s.status === 'ON_LEAVE') s.status = 'NORMAL';
        l.status = 'CANCELLED';
        outcomes[i] = 'ok';
        break;
      }
      case 'approveSwap': {
        const swap = swaps[op.swap];
        const steps = swap.steps.map((st) => ({ schedule: schedules.find((s) => s.key === initial[st.schedule].key), to: st.to }));
        const handedOn = new Set(steps.map((st) => st.schedule?.key));
        const fits =
          swap.status === 'PENDING' &&
          steps.every(
            (st) =>
              st.schedule &&
              st.schedule.status === 'NORMAL' &&
              !onLeave(st.to, st.schedule.day) &&
              active(st.to, st.schedule.day).every((s) => handedOn.has(s.key)),
          );
        if (!fits) {
          outcomes[i] = 'error';
          break;
        }
        for (const st of steps) {
          st.schedule!.status = 'SWAPPED_OUT';
          st.schedule!.swapped = true;
        }
        for (const st of steps) {
          schedules.push({
            key: `swap${op.swap}:${st.schedule!.key}`,
            agent: st.to,
            day: st.schedule!.day,
            status: 'NORMAL',
            swapped: true,
            named: false,
            origin: 'swap',
          });
        }
        swap.status = 'APPROVED';
        outcomes[i] = 'ok';
        break;
      }
      case 'assign': {
        const clear = op.agents.filter((a) => !onLeave(a, op.day) && active(a, op.day).length === 0);
        const conflicted = clear.length < op.agents.length;
        const created = op.mode === 'ALL_OR_NOTHING' && conflicted ? [] : clear;
        for (const a of created)
          schedules.push({
            key: `assign${i}:${a}`,
            agent: a,
            day: op.day,
            status: 'NORMAL',
            swapped: false,
            named: false,
            origin: 'assign',
          });
        outcomes[i] = created.length;
        break;
      }
      case 'remove': {
        const at = schedules.findIndex((s) => s.key === initial[op.schedule].key);
        if (at < 0 || schedules[at].swapped || schedules[at].named) {
          outcomes[i] = 'error';
          break;
        }
        schedules.splice(at, 1);
        outcomes[i] = 'ok';
        break;
      }
    }
  }
  return {
    outcomes,
    state: {
      schedules: schedules.map((s) => describeSchedule(s.agent, s.day, s.status, s.origin)).sort(),
      leave: leave.map((l) => l.status),
      swaps: swaps.map((s) => s.status),
    },
  };
}

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/**
 * Small worlds: 2–3 agents, 1–2 days, some schedules, some pending leave, some pending hand-overs or
 * two-way swaps among them, then 2–5 operations touching them.
 */
const scenarioArbitrary: fc.Arbitrary<Scenario> = fc
  .record({ agents: fc.integer({ min: 2, max: 3 }), days: fc.integer({ min: 1, max: 2 }) })
  .chain(({ agents, days }) => {
    const slots = Array.from({ length: agents * days }, (_, i) => ({ agent: i % agents, day: Math.floor(i / agents) }));
    return fc
      .record({
        scheduled: fc.subarray(slots, { minLength: 1, maxLength: Math.max(1, slots.length - 1) }),
        leave: fc.subarray(slots, { minLength: 1 }),
      })
      .chain(({ scheduled, leave }) => {
        // Candidate swaps: a schedule handed to an agent who is free that day, or two schedules of a day traded.
        const handOvers = scheduled.flatMap((s, i) =>
          Array.from({ length: agents }, (_, to) => to)
            .filter((to) => to !== s.agent && !scheduled.some((o) => o.agent === to && o.day === s.day))
            .map((to) => ({ steps: [{ schedule: i, to }] })),
        );
        const trades = scheduled.flatMap((s, i) =>
          scheduled
            .map((o, j) => ({ o, j }))
            .filter(({ o, j }) => j > i && o.day === s.day)
            .map(({ o, j }) => ({
              steps: [
                { schedule: i, to: o.agent },
                { schedule: j, to: s.agent },
              ],
            })),
        );
        const choices = [...handOvers, ...trades];
        const swapChoices = fc.shuffledSubarray(choices, { maxLength: Math.min(2, choices.length) }).filter((swaps) => {
          const used = swaps.flatMap((s) => s.steps.map((st) => st.schedule));
          return new Set(used).size === used.length;
        });
        return swapChoices.chain((swaps) => {
          const leaveIndex = fc.integer({ min: 0, max: leave.length - 1 });
          // Weighted towards the operations that race: approving leave, scheduling, approving swaps.
          const ops: Array<fc.WeightedArbitrary<Op>> = [
            { weight: 3, arbitrary: leaveIndex.map((l): Op => ({ kind: 'approveLeave', leave: l })) },
            { weight: 1, arbitrary: leaveIndex.map((l): Op => ({ kind: 'rejectLeave', leave: l })) },
            { weight: 1, arbitrary: leaveIndex.map((l): Op => ({ kind: 'cancelLeave', leave: l })) },
            {
              weight: 3,
              arbitrary: fc
                .record({
                  agents: fc.subarray(
                    Array.from({ length: agents }, (_, a) => a),
                    { minLength: 1 },
                  ),
                  day: fc.integer({ min: 0, max: days - 1 }),
                  mode: fc.constantFrom('ALL_OR_NOTHING' as const, 'SKIP_CONFLICTS' as const),
                })
                .map((a): Op => ({ kind: 'assign', ...a })),
            },
            { weight: 1, arbitrary: fc.integer({ min: 0, max: scheduled.length - 1 }).map((s): Op => ({ kind: 'remove', schedule: s })) },
          ];
          if (swaps.length)
            ops.push({
              weight: 2,
              arbitrary: fc.integer({ min: 0, max: swaps.length - 1 }).map((s): Op => ({ kind: 'approveSwap', swap: s })),
            });
          return fc
            .array(fc.oneof(...ops), { minLength: 2, maxLength: 5 })
            .map((opList) => ({ agents, days, scheduled, leave, swaps, ops: opList }));
        });
      });
  });
