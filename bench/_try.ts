import { assignAgents, buildLp, coverageOf, coverageShare, greedyRoster } from '../src/modules/staffing/roster-model';
import { solveMip } from '../src/modules/staffing/highs-solver';
import { benchRosterProblem } from './staffing-roster';
async function main() {
  const agents = Number(process.argv[2] ?? 100),
    days = Number(process.argv[3] ?? 28);
  const p = benchRosterProblem({ seed: 7, agents, days });
  const t0 = Date.now();
  const g = greedyRoster(p);
  console.log(
    'greedy',
    g.length,
    coverageShare(p.required, coverageOf(p, g)),
    'ms',
    Date.now() - t0,
    'required sum',
    p.required.reduce((a, b) => a + b, 0),
  );
  const t1 = Date.now();
  const built = buildLp(p);
  const r = await solveMip(built.lp, { timeLimitSeconds: Number(process.argv[4] ?? 8), prefix: 'y' });
  const counts = new Map([...r.values].map(([k, v]) => [k.slice(1), Math.round(v)]));
  const chosen = assignAgents(p, built, counts);
  console.log(
    'mip',
    r.status,
    r.objective,
    r.seconds,
    'total s',
    (Date.now() - t1) / 1000,
    chosen.length,
    coverageShare(p.required, coverageOf(p, chosen)),
  );
}
main();
