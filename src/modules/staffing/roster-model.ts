/**
 * The scheduling model, pure: which agent works which shift type on which day, in two stages, and the greedy
 * baseline it is measured against.
 *
 * Options (agent, day, shift type) are those the hard rules allow up front: skills, approved leave, active
 * agent, no clash with a kept schedule or its rest time. Stage 1 (buildLp, a mixed-integer program in CPLEX
 * LP format solved by HiGHS: see highs-solver.ts) decides how many agents work each shift type each day, so
 * that understaffing (heaviest weight) and then overstaffing are least, within what the agents can work per
 * day and per week. Stage 2 (assignAgents) gives those shifts to agents under every per-agent rule (one shift
 * a day, MIN_REST_HOURS, MAX_DAYS_PER_WEEK, MAX_WEEKLY_HOURS) with fairness of nights and weekends and the
 * agents' preferences deciding between them. One MIP over every agent × day × type (20,000 binaries for a
 * month of 100 agents) found no better schedule than the greedy one (given as its start) within 40 s on this machine; the two
 * stages answer within seconds.
 */

export interface RosterOption {
  agent: number;
  day: number;
  shift: number;
  start: number;
  end: number;
  night: boolean;
  weekend: boolean;
  /** +1 preferred, −1 avoided, 0 no preference. */
  preference: number;
}

export interface KeptShift {
  agent: number;
  day: number;
  start: number;
  end: number;
}

export interface RosterWeights {
  understaffing: number;
  overstaffing: number;
  fairness: number;
  preferences: number;
}

export interface RosterProblem {
  /** Start of the first interval (ms) and the interval length (minutes). */
  firstSlot: number;
  slotMinutes: number;
  /** Agents required per interval. */
  required: number[];
  agentCount: number;
  /** Week (Monday–Sunday, any numbering) of a day index; kept schedules may lie on days before 0 or after the range. */
  weekOf: (day: number) => number;
  options: RosterOption[];
  kept: KeptShift[];
  rules: { minRestHours: number; maxDaysPerWeek: number; maxWeeklyHours: number };
  weights: RosterWeights;
}

export const DEFAULT_WEIGHTS: RosterWeights = { understaffing: 1000, overstaffing: 10, fairness: 20, preferences: 5 };

const HOUR = 3_600_000;

/** Intervals an option covers: those whose midpoint lies within its [start, end). */
export function coveredSlots(p: RosterProblem, start: number, end: number): number[] {
  const slot = p.slotMinutes * 60_000;
  const out: number[] = [];
  const first = Math.max(0, Math.ceil((start - p.firstSlot - slot / 2) / slot));
  for (let i = first; i < p.required.length; i++) {
    const mid = p.firstSlot + i * slot + slot / 2;
    if (mid >= end) break;
    if (mid >= start) out.push(i);
  }
  return out;
}

/** Options that a kept schedule rules out: same day, overlapping, or within the rest time. */
export function withoutKeptClashes(p: RosterProblem): RosterOption[] {
  const rest = p.rules.minRestHours * HOUR;
  const keptOf = new Map<number, KeptShift[]>();
  for (const k of p.kept) keptOf.set(k.agent, [...(keptOf.get(k.agent) ?? []), k]);
  return p.options.filter(
    (o) => !(keptOf.get(o.agent) ?? []).some((k) => k.day === o.day || (o.start < k.end + rest && k.start < o.end + rest)),
  );
}

export function keptCoverage(p: RosterProblem): number[] {
  const cover = new Array<number>(p.required.length).fill(0);
  for (const k of p.kept) for (const i of coveredSlots(p, k.start, k.end)) cover[i]++;
  return cover;
}

/** Stage 1's LP text (y per day and shift type, u/o per interval) and the groups its y columns stand for. */
export interface BuiltLp {
  lp: string;
  /** "day_shift" → the options of that day and shift type, and the intervals the shift covers. */
  groups: Map<string, { options: RosterOption[]; slots: number[]; day: number; hours: number }>;
}

/**
 * Stage 1, a MIP for HiGHS: how many agents work each shift type on each day. Integer y_(day, type) ≤ the
 * agents who may work it; Σ y of a day ≤ the agents free that day; Σ y and Σ hours·y of a week ≤ what the
 * agents may still work that week (MAX_DAYS_PER_WEEK, MAX_WEEKLY_HOURS, less kept schedules); coverage
 * Σ y (covering i) + kept_i + u_i − o_i = required_i. Minimises W_under·Σu + W_over·Σo.
 */
export function buildLp(p: RosterProblem): BuiltLp {
  const options = withoutKeptClashes(p);
  const kept = keptCoverage(p);
  const groups: BuiltLp['groups'] = new Map();
  for (const o of options) {
    const key = `${o.day}_${o.shift}`;
    const g = groups.get(key) ?? { options: [], slots: coveredSlots(p, o.start, o.end), day: o.day, hours: (o.end - o.start) / HOUR };
    g.options.push(o);
    groups.set(key, g);
  }
  const coverRows: string[][] = p.required.map(() => []);
  for (const [key, g] of groups) for (const i of g.slots) coverRows[i].push(`y${key}`);
  const w = p.weights;
  const objective: string[] = [];
  p.required.forEach((_, i) => objective.push(`${w.understaffing} u${i}`, `${w.overstaffing} o${i}`));
  const rows: string[] = [];
  coverRows.forEach((terms, i) => rows.push(` c${i}: ${[...terms, `u${i}`].join(' + ')} - o${i} = ${p.required[i] - kept[i]}`));

  const byDay = new Map<number, string[]>();
  for (const [key, g] of groups) byDay.set(g.day, [...(byDay.get(g.day) ?? []), key]);
  for (const [day, keys] of byDay) {
    const free = new Set(keys.flatMap((key) => groups.get(key)!.options.map((o) => o.agent))).size;
    rows.push(` d${day}: ${keys.map((key) => `y${key}`).join(' + ')} <= ${free}`);
  }
  const keptLoad = new Map<string, { days: number; hours: number }>();
  for (const k of p.kept) addLoad(keptLoad, `${k.agent}_${p.weekOf(k.day)}`, (k.end - k.start) / HOUR);
  const weeks = new Map<number, { keys: string[]; agents: Map<number, Set<number>> }>();
  for (const [key, g] of groups) {
    const wk = weeks.get(p.weekOf(g.day)) ?? { keys: [] as string[], agents: new Map<number, Set<number>>() };
    wk.keys.push(key);
    for (const o of g.options) wk.agents.set(o.agent, (wk.agents.get(o.agent) ?? new Set()).add(o.day));
    weeks.set(p.weekOf(g.day), wk);
  }
  for (const [week, wk] of weeks) {
    let days = 0;
    let hours = 0;
    for (const [agent, freeDays] of wk.agents) {
      const load = keptLoad.get(`${agent}_${week}`) ?? { days: 0, hours: 0 };
      days += Math.max(0, Math.min(freeDays.size, p.rules.maxDaysPerWeek - load.days));
      hours += Math.max(0, p.rules.maxWeeklyHours - load.hours);
    }
    rows.push(` wd${week}: ${wk.keys.map((key) => `y${key}`).join(' + ')} <= ${days}`);
    rows.push(` wh${week}: ${wk.keys.map((key) => `${round(groups.get(key)!.hours)} y${key}`).join(' + ')} <= ${round(hours)}`);
  }
  const lp = [
    'Minimize',
    ` obj: ${objective.join(' + ')}`,
    'Subject To',
    ...rows,
    'Bounds',
    ...[...groups].map(([key, g]) => ` 0 <= y${key} <= ${new Set(g.options.map((o) => o.agent)).size}`),
    ...p.required.map((_, i) => ` u${i} >= 0\n o${i} >= 0`),
    'Generals',
    ...chunk(
      [...groups.keys()].map((key) => `y${key}`),
      50,
    ).map((c) => ` ${c.join(' ')}`),
    'End',
  ].join('\n');
  return { lp, groups };
}

/**
 * Stage 2: agents for stage 1's counts, day by day, each shift type in order of its start. Among the agents
 * the hard rules allow (no shift that day, the rest time after their last shift and kept schedules, the
 * week's days and hours), the one who has the fewest nights (for a night) or weekend shifts (on a weekend),
 * then prefers the shift, then has worked the fewest hours this week, gets it. Counts no agent can take stay
 * open; a last greedy pass then fills what it still can.
 */
export function assignAgents(p: RosterProblem, built: BuiltLp, counts: Map<string, number>): RosterOption[] {
  const state = new RosterState(p);
  const chosen: RosterOption[] = [];
  const keys = [...built.groups.keys()].sort((a, b) => {
    const ga = built.groups.get(a)!;
    const gb = built.groups.get(b)!;
    return ga.day - gb.day || ga.options[0].start - gb.options[0].start;
  });
  for (const key of keys) {
    const g = built.groups.get(key)!;
    for (let n = counts.get(key) ?? 0; n > 0; n--) {
      let best: RosterOption | null = null;
      for (const o of g.options) if (state.fits(o) && (!best || state.better(o, best))) best = o;
      if (!best) break;
      state.take(best);
      chosen.push(best);
    }
  }
  return [...chosen, ...greedyFill(p, state, withoutKeptClashes(p), coverageOf(p, chosen))];
}

/**
 * The baseline a manager would follow by hand: day by day, the shift type whose intervals still miss the most
 * agents goes to an agent the rules allow (fewest shifts so far), until no shift type helps any more.
 */
export function greedyRoster(p: RosterProblem): RosterOption[] {
  return greedyFill(p, new RosterState(p), withoutKeptClashes(p), keptCoverage(p));
}

function greedyFill(p: RosterProblem, state: RosterState, options: RosterOption[], cover: number[]): RosterOption[] {
  const chosen: RosterOption[] = [];
  const slotsOf = new Map<RosterOption, number[]>(options.map((o) => [o, coveredSlots(p, o.start, o.end)]));
  const days = [...new Set(options.map((o) => o.day))].sort((a, b) => a - b);
  for (const day of days) {
    const today = options.filter((o) => o.day === day);
    for (;;) {
      let best: RosterOption | null = null;
      let bestGain = 0;
      for (const o of today) {
        const gain = slotsOf.get(o)!.reduce((sum, i) => sum + (cover[i] < p.required[i] ? 1 : 0), 0);
        if (gain === 0 || gain < bestGain) continue;
        if (gain === bestGain && best && state.shifts(o.agent) >= state.shifts(best.agent)) continue;
        if (state.fits(o)) {
          best = o;
          bestGain = gain;
        }
      }
      if (!best) break;
      chosen.push(best);
      state.take(best);
      for (const i of slotsOf.get(best)!) cover[i]++;
    }
  }
  return chosen;
}

/** What each agent already works (kept and chosen shifts), to check the hard rules for one more. */
class RosterState {
  private readonly busy = new Map<number, Array<{ day: number; start: number; end: number }>>();
  private readonly load = new Map<string, { days: number; hours: number }>();
  private readonly counts = new Map<number, { shifts: number; nights: number; weekends: number; hours: number }>();
  private readonly rest: number;

  constructor(private readonly p: RosterProblem) {
    this.rest = p.rules.minRestHours * HOUR;
    for (const k of p.kept) this.record(k, false, false);
  }

  fits(o: RosterOption): boolean {
    const wl = this.load.get(`${o.agent}_${this.p.weekOf(o.day)}`) ?? { days: 0, hours: 0 };
    if (wl.days + 1 > this.p.rules.maxDaysPerWeek || wl.hours + (o.end - o.start) / HOUR > this.p.rules.maxWeeklyHours + 1e-9) return false;
    return !(this.busy.get(o.agent) ?? []).some((b) => b.day === o.day || (o.start < b.end + this.rest && b.start < o.end + this.rest));
  }

  /** Fairness first (nights, weekends), then preference, then the lighter week. */
  better(o: RosterOption, than: RosterOption): boolean {
    const a = this.of(o.agent);
    const b = this.of(than.agent);
    if (o.night && a.nights !== b.nights) return a.nights < b.nights;
    if (o.weekend && a.weekends !== b.weekends) return a.weekends < b.weekends;
    if (o.preference !== than.preference) return o.preference > than.preference;
    const wa = this.load.get(`${o.agent}_${this.p.weekOf(o.day)}`)?.hours ?? 0;
    const wb = this.load.get(`${than.agent}_${this.p.weekOf(than.day)}`)?.hours ?? 0;
    return wa !== wb ? wa < wb : a.hours < b.hours;
  }

  shifts(agent: number): number {
    return this.of(agent).shifts;
  }

  take(o: RosterOption): void {
    this.record(o, o.night, o.weekend);
  }

  private record(s: { agent: number; day: number; start: number; end: number }, night: boolean, weekend: boolean): void {
    this.busy.set(s.agent, [...(this.busy.get(s.agent) ?? []), s]);
    addLoad(this.load, `${s.agent}_${this.p.weekOf(s.day)}`, (s.end - s.start) / HOUR);
    const c = this.of(s.agent);
    c.shifts++;
    c.hours += (s.end - s.start) / HOUR;
    if (night) c.nights++;
    if (weekend) c.weekends++;
    this.counts.set(s.agent, c);
  }

  private of(agent: number) {
    return this.counts.get(agent) ?? { shifts: 0, nights: 0, weekends: 0, hours: 0 };
  }
}

/** Coverage per interval of kept schedules plus `chosen`. */
export function coverageOf(p: RosterProblem, chosen: RosterOption[]): number[] {
  const cover = keptCoverage(p);
  for (const o of chosen) for (const i of coveredSlots(p, o.start, o.end)) cover[i]++;
  return cover;
}

/** Share of required agent-intervals met: Σ min(required, covered) / Σ required (1 when nothing is required). */
export function coverageShare(required: number[], cover: number[]): number {
  const total = required.reduce((a, b) => a + b, 0);
  if (!total) return 1;
  return required.reduce((a, r, i) => a + Math.min(r, cover[i]), 0) / total;
}

function addLoad(load: Map<string, { days: number; hours: number }>, key: string, hours: number): void {
  const wl = load.get(key) ?? { days: 0, hours: 0 };
  wl.days++;
  wl.hours += hours;
  load.set(key, wl);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
