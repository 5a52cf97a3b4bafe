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
