import { requiredServers } from '../src/modules/staffing/erlang';
import { RosterOption, RosterProblem, DEFAULT_WEIGHTS } from '../src/modules/staffing/roster-model';
import { generateHistory, seededRandom } from './staffing-synthetic';

/** Eight shift types of a 24-hour desk (one overnight), as "HH:mm" business times. */
export const BENCH_SHIFTS = [
  { code: 'E7', start: 7, hours: 8 },
  { code: 'E8', start: 8, hours: 8 },
  { code: 'D9', start: 9, hours: 9 },
  { code: 'M10', start: 10, hours: 9 },
  { code: 'L12', start: 12, hours: 8 },
  { code: 'L14', start: 14, hours: 8 },
  { code: 'S16', start: 16, hours: 8 },
  { code: 'N22', start: 22, hours: 9, night: true },
];

/**
 * A staffing problem like a real month: agents × 8 shift types × days at 30-minute intervals, the agents
 * required per interval from the synthetic forecast through Erlang C (AHT 300 s, 3 chats per agent, 80/20,
 * 30 % shrinkage), ~10 % of agents on leave for 1–5 days, the night shift needing a skill a third of the agents
 * have, and a few preferences. Scaled so that the agents can almost, not quite, cover the requirement.
 */
export function benchRosterProblem(opts: { seed: number; agents: number; days: number }): RosterProblem {
  const random = seededRandom(opts.seed);
  const history = generateHistory({ seed: opts.seed, weeks: Math.ceil(opts.days / 7), peak: opts.agents * 4.5, weeklyGrowth: 0 });
  const slotsPerDay = 48;
  const firstSlot = Date.UTC(2027, 0, 4); // a Monday
  const required: number[] = [];
  for (let d = 0; d < opts.days; d++) {
    for (let s = 0; s < slotsPerDay; s++) {
      const load = (history.expected[d][s] / 1800) * 300; // erlangs: arrivals per second × handling seconds
      const seats = requiredServers(load, 300, { level: 0.8, seconds: 20, maxOccupancy: 0.85 });
      required.push(Math.ceil(seats / 3 / 0.7));
    }
  }
  const nightSkilled = new Set(Array.from({ length: opts.agents }, (_, a) => a).filter(() => random() < 0.35));
  const leave = new Map<number, Set<number>>();
  for (let a = 0; a < opts.agents; a++) {
    if (random() < 0.1) {
      const start = Math.floor(random() * opts.days);
      const length = 1 + Math.floor(random() * 5);
      leave.set(a, new Set(Array.from({ length }, (_, i) => start + i)));
    }
  }
  const options: RosterOption[] = [];
  for (let a = 0; a < opts.agents; a++) {
    const preferred = random() < 0.2 ? Math.floor(random() * BENCH_SHIFTS.length) : -1;
    for (let d = 0; d < opts.days; d++) {
      if (leave.get(a)?.has(d)) continue;
      BENCH_SHIFTS.forEach((s, si) => {
        if (s.night && !nightSkilled.has(a)) return;
        const start = firstSlot + (d * 24 + s.start) * 3_600_000;
        options.push({
          agent: a,
          day: d,
          shift: si,
          start,
          end: start + s.hours * 3_600_000,
          night: Boolean(s.night),
          weekend: d % 7 >= 5,
          preference: si === preferred ? 1 : 0,
        });
      });
    }
  }
  return {
    firstSlot,
    slotMinutes: 30,
    required,
    agentCount: opts.agents,
    weekOf: (d) => Math.floor(d / 7),
    options,
    kept: [],
    rules: { minRestHours: 11, maxDaysPerWeek: 6, maxWeeklyHours: 44 },
    weights: DEFAULT_WEIGHTS,
  };
}
