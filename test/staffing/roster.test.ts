import { solveMip } from '../../src/modules/staffing/highs-solver';
import { assignAgents, buildLp, coverageOf, coverageShare, greedyRoster, RosterOption } from '../../src/modules/staffing/roster-model';
import { benchRosterProblem } from '../../bench/staffing-roster';

const HOUR = 3_600_000;

describe('schedule model (HiGHS) against the greedy baseline', () => {
  it('covers more of the requirement than greedy, and keeps every hard rule', async () => {
    const p = benchRosterProblem({ seed: 3, agents: 30, days: 14 });
    const built = buildLp(p);
    const solved = await solveMip(built.lp, { timeLimitSeconds: 20, prefix: 'y' });
    const chosen = assignAgents(p, built, new Map([...solved.values].map(([k, v]) => [k.slice(1), Math.round(v)])));
    const greedy = greedyRoster(p);
    const solver = coverageShare(p.required, coverageOf(p, chosen));
    const baseline = coverageShare(p.required, coverageOf(p, greedy));
    expect(solver).toBeGreaterThan(baseline);

    const byAgent = new Map<number, RosterOption[]>();
    for (const o of chosen) byAgent.set(o.agent, [...(byAgent.get(o.agent) ?? []), o]);
    for (const list of byAgent.values()) {
      list.sort((a, b) => a.start - b.start);
      for (let i = 1; i < list.length; i++) {
        expect(list[i].day).not.toBe(list[i - 1].day);
        expect(list[i].start - list[i - 1].end).toBeGreaterThanOrEqual(11 * HOUR);
      }
      for (let w = 0; w < 2; w++) {
        const week = list.filter((o) => p.weekOf(o.day) === w);
        expect(week.length).toBeLessThanOrEqual(6);
        expect(week.reduce((h, o) => h + (o.end - o.start) / HOUR, 0)).toBeLessThanOrEqual(44);
      }
    }
    // Only allowed options were used (skills, leave).
    const allowed = new Set(p.options);
    for (const o of chosen) expect(allowed.has(o)).toBe(true);
  });
});

describe('schedule model: fairness and preferences decide between agents', () => {
  const day = 86_400_000;
  const problem = (preferred: number) => {
    const options = [];
    for (let agent = 0; agent < 3; agent++) {
      for (let d = 0; d < 4; d++) {
        const night = d % 2 === 1;
        const start = d * day + (night ? 22 : 9) * HOUR;
        options.push({
          agent,
          day: d,
          shift: night ? 1 : 0,
          start,
          end: start + 8 * HOUR,
          night,
          weekend: false,
          preference: agent === preferred && !night ? 1 : 0,
        });
      }
    }
    const required = new Array<number>(4 * 48).fill(0);
    for (let d = 0; d < 4; d++) for (let s = 0; s < 16; s++) required[d * 48 + ((d % 2 === 1 ? 22 : 9) * 2 + s)] = 1;
    return {
      firstSlot: 0,
      slotMinutes: 30,
      required: required.slice(0, 4 * 48),
      agentCount: 3,
      weekOf: () => 0,
      options,
      kept: [],
      rules: { minRestHours: 11, maxDaysPerWeek: 6, maxWeeklyHours: 44 },
      weights: { understaffing: 1000, overstaffing: 10, fairness: 20, preferences: 5 },
    };
  };

  it('gives the day shifts to the agent who prefers them and spreads the nights', async () => {
    const p = problem(2);
    const built = buildLp(p);
    const solved = await solveMip(built.lp, { timeLimitSeconds: 10, prefix: 'y' });
    const chosen = assignAgents(p, built, new Map([...solved.values].map(([k, v]) => [k.slice(1), Math.round(v)])));
    expect(chosen).toHaveLength(4);
    expect(chosen.filter((o) => !o.night).every((o) => o.agent === 2)).toBe(true);
    const nights = chosen.filter((o) => o.night).map((o) => o.agent);
    expect(new Set(nights).size).toBe(2); // two nights, two different agents
  });
});
