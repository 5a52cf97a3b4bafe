import { averageWaitSeconds, erlangC, serviceLevel } from '../src/modules/staffing/erlang';
import { solveMip } from '../src/modules/staffing/highs-solver';
import { assignAgents, buildLp, coverageOf, coverageShare, greedyRoster, RosterProblem } from '../src/modules/staffing/roster-model';
import { accuracyOf } from './staffing-synthetic';
import { benchRosterProblem } from './staffing-roster';
import { describeMachine, envInt, machine, round, table } from './support';

/**
 * `npm run bench -- staffing` (issue 14, items 2, 3 and 6), all in-process:
 * 1. Forecast accuracy on the synthetic generator shipped with the tests (bench/staffing-synthetic.ts):
 *    MAPE on the held-out 9th week at 30-minute intervals of the forecast, the noise floor and the two
 *    baselines, per seed (BENCH_SEEDS, default 6) and their medians.
 * 2. Erlang C beside the factorial formula at A = 10 erlangs (100 chats per 30 minutes × 180 s), T = 20 s.
 * 3. A proposal for BENCH_AGENTS (100) agents × 8 shift types × BENCH_DAYS (28) days (bench/staffing-roster.ts):
 *    the time of the proposal (model, HiGHS, assignment), the coverage of the required agent-intervals, beside
 *    the greedy baseline on the same problem; BENCH_RUNS (3) problems of different seeds, medians.
 */
export async function run(): Promise<void> {
  const m = machine();
  const seeds = envInt('BENCH_SEEDS', 6);
  const agents = envInt('BENCH_AGENTS', 100);
  const days = envInt('BENCH_DAYS', 28);
  const runs = envInt('BENCH_RUNS', 3);
  const timeLimit = envInt('BENCH_TIME_LIMIT', 10);
  console.log(describeMachine(m));

  const accuracy = Array.from({ length: seeds }, (_, i) => ({ seed: i + 1, ...accuracyOf(i + 1) }));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pct = (x: number) => round(x * 100, 2);
  console.log('\nforecast accuracy, held-out week, 30-minute intervals (MAPE %)');
  console.log(
    table(
      ['seed', 'noise floor', 'forecast', 'forecast ÷ floor', 'same slot last week', 'mean of last 4 weeks'],
      [
        ...accuracy.map((a) => [
          a.seed,
          pct(a.noiseFloor),
          pct(a.forecast),
          round(a.forecast / a.noiseFloor, 3),
          pct(a.lastWeek),
          pct(a.fourWeekMean),
        ]),
        [
          'median',
          pct(med(accuracy.map((a) => a.noiseFloor))),
          pct(med(accuracy.map((a) => a.forecast))),
          round(med(accuracy.map((a) => a.forecast / a.noiseFloor)), 3),
          pct(med(accuracy.map((a) => a.lastWeek))),
          pct(med(accuracy.map((a) => a.fourWeekMean))),
        ],
      ],
    ),
  );
  console.log('aim: forecast ≤ 1.2 × noise floor and below both baselines');

  const factorialC = (n: number, a: number) => {
    let term = 1;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += term;
      term *= a / (k + 1);
    }
    const top = (term * n) / (n - a);
    return top / (sum + top);
  };
  console.log('\nErlang C check: A = 10 erlangs (100 chats / 30 min × 180 s), T = 20 s');
  console.log(
    table(
      ['seats N', 'C (recursion)', 'C (factorials)', 'service level', 'ASA s'],
      [11, 12, 13, 14].map((n) => [
        n,
        round(erlangC(n, 10), 6),
        round(factorialC(n, 10), 6),
        round(serviceLevel(n, 10, 180, 20), 4),
        round(averageWaitSeconds(n, 10, 180), 2),
      ]),
    ),
  );

  const proposals = [];
  for (let r = 0; r < runs; r++) {
    const p: RosterProblem = benchRosterProblem({ seed: 7 + r, agents, days });
    const t0 = process.hrtime.bigint();
    const greedy = greedyRoster(p);
    const greedyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const t1 = process.hrtime.bigint();
    const built = buildLp(p);
    const solved = await solveMip(built.lp, { timeLimitSeconds: timeLimit, prefix: 'y' });
    const chosen = assignAgents(p, built, new Map([...solved.values].map(([k, v]) => [k.slice(1), Math.round(v)])));
    const proposalMs = Number(process.hrtime.bigint() - t1) / 1e6;
    const required = p.required.reduce((a, b) => a + b, 0);
    const over = (cover: number[]) => cover.reduce((s, c, i) => s + Math.max(0, c - p.required[i]), 0);
    const solverCover = coverageOf(p, chosen);
    const greedyCover = coverageOf(p, greedy);
    proposals.push({
      seed: 7 + r,
      required,
      solverStatus: solved.status,
      proposalSeconds: round(proposalMs / 1000, 2),
      solverCoverage: round(coverageShare(p.required, solverCover), 4),
      solverShifts: chosen.length,
      solverOverstaffed: over(solverCover),
      greedySeconds: round(greedyMs / 1000, 2),
      greedyCoverage: round(coverageShare(p.required, greedyCover), 4),
      greedyShifts: greedy.length,
      greedyOverstaffed: over(greedyCover),
    });
  }
  console.log(`\nproposal: ${agents} agents × 8 shift types × ${days} days, 30-minute intervals (HiGHS time limit ${timeLimit} s)`);
  console.log(
    table(
      [
        'seed',
        'required agent-intervals',
        'solver',
        'proposal s',
        'solver coverage',
        'shifts',
        'overstaffed',
        'greedy s',
        'greedy coverage',
        'shifts',
        'overstaffed',
      ],
      proposals.map((x) => [
        x.seed,
        x.required,
        x.solverStatus,
        x.proposalSeconds,
        x.solverCoverage,
        x.solverShifts,
        x.solverOverstaffed,
        x.greedySeconds,
        x.greedyCoverage,
        x.greedyShifts,
        x.greedyOverstaffed,
      ]),
    ),
  );
  console.log('aim: proposal ≤ 10 s; solver coverage above greedy');
  const summary = {
    benchmark: 'staffing',
    machine: m,
    forecast: {
      seeds,
      medianMapeNoiseFloor: round(med(accuracy.map((a) => a.noiseFloor)), 4),
      medianMapeForecast: round(med(accuracy.map((a) => a.forecast)), 4),
      medianMapeLastWeek: round(med(accuracy.map((a) => a.lastWeek)), 4),
      medianMapeFourWeekMean: round(med(accuracy.map((a) => a.fourWeekMean)), 4),
      worstRatioToFloor: round(Math.max(...accuracy.map((a) => a.forecast / a.noiseFloor)), 4),
    },
    proposal: {
      agents,
      shiftTypes: 8,
      days,
      medianProposalSeconds: med(proposals.map((x) => x.proposalSeconds)),
      medianSolverCoverage: med(proposals.map((x) => x.solverCoverage)),
      medianGreedyCoverage: med(proposals.map((x) => x.greedyCoverage)),
      runs: proposals,
    },
  };
  console.log(JSON.stringify(summary));
}
