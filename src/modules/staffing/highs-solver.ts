import { Worker } from 'node:worker_threads';

export interface MipResult {
  /** HiGHS's model status: OPTIMAL, TIME_LIMIT, … */
  status: string;
  objective: number | null;
  /** Values of the columns whose name starts with the prefix asked for (those above 0.5). */
  values: Map<string, number>;
  seconds: number;
}

/** HiGHS's model status codes, in order. */
const STATUS = [
  'NOTSET',
  'LOAD_ERROR',
  'MODEL_ERROR',
  'PRESOLVE_ERROR',
  'SOLVE_ERROR',
  'POSTSOLVE_ERROR',
  'MODEL_EMPTY',
  'OPTIMAL',
  'INFEASIBLE',
  'UNBOUNDED_OR_INFEASIBLE',
  'UNBOUNDED',
  'OBJECTIVE_BOUND',
  'OBJECTIVE_TARGET',
  'TIME_LIMIT',
  'ITERATION_LIMIT',
  'UNKNOWN',
  'SOLUTION_LIMIT',
  'INTERRUPT',
];

/**
 * HiGHS (WebAssembly) solves synchronously: run on the main thread it would stop every request for the whole
 * solve. Each solve gets its own worker thread, ended when it answers (or when it overruns its limit by 30 s).
 * A start (column name → value) is handed to HiGHS as its first incumbent, so the answer is never worse
 * than the start.
 */
const WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
require(w.path)().then((highs) => {
  const model = highs.createModel({ format: 'lp', data: w.lp });
  try {
    model.options.set(w.options);
    const names = Object.keys(w.start || {});
    if (names.length) model.setSolution({ indices: names.map((n) => model.getColByName(n)), values: names.map((n) => w.start[n]) });
    model.run();
    const status = model.getModelStatus();
    const col = model.getSolution().colValue || [];
    const values = {};
    for (let i = 0; i < col.length; i++) if (col[i] > 0.5) { const name = model.getColName(i); if (name.startsWith(w.prefix)) values[name] = col[i]; }
    parentPort.postMessage({ status, objective: col.length ? model.getObjectiveValue() : null, values });
  } finally {
    model.dispose();
  }
}).catch((err) => parentPort.postMessage({ error: String((err && err.message) || err) }));`;

export function solveMip(
  lp: string,
  opts: { timeLimitSeconds: number; prefix: string; start?: Record<string, number> },
): Promise<MipResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        path: require.resolve('highs'),
        lp,
        prefix: opts.prefix,
        start: opts.start ?? null,
        options: { output_flag: false, time_limit: opts.timeLimitSeconds, mip_rel_gap: 0.001 },
      },
    });
    const guard = setTimeout(
      () => {
        void worker.terminate();
        reject(new Error('the solver did not answer'));
      },
      (opts.timeLimitSeconds + 30) * 1000,
    );
    worker.once('message', (m: { status?: number; objective?: number | null; values?: Record<string, number>; error?: string }) => {
      clearTimeout(guard);
      void worker.terminate();
      if (m.error) reject(new Error(`HiGHS: ${m.error}`));
      else
        resolve({
          status: STATUS[m.status ?? 0] ?? 'UNKNOWN',
          objective: m.objective ?? null,
          values: new Map(Object.entries(m.values ?? {})),
          seconds: (Date.now() - started) / 1000,
        });
    });
    worker.once('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
  });
}
