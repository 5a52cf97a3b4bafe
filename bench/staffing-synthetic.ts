import { fitForecast, mape, predictDay } from '../src/modules/staffing/forecast-model';

/**
 * The known generator (shipped with the tests and the benchmark) behind the forecast's accuracy test and `npm run bench -- staffing`: contacts per
 * 30-minute slot with weekly seasonality (a factor per weekday), daily seasonality (a morning and an
 * afternoon peak, a quiet night), a trend (+1.5 % a week), Poisson noise, and spikes (on ~15 % of days, 1–3
 * hours at 2–3.5×). `expected` is the generator's mean without spikes (a spike is an event nobody could
 * foresee); `counts` is what was observed.
 */
export interface SyntheticHistory {
  slotsPerDay: number;
  /** Per day (oldest first): ISO weekday 1–7. */
  weekdays: number[];
  expected: number[][];
  counts: number[][];
}

/** A small seeded generator (mulberry32), so a seed always makes the same history. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Poisson by Knuth's method, in chunks of mean ≤ 30 (a sum of Poissons is Poisson) so e^−λ never underflows. */
export function poisson(mean: number, random: () => number): number {
  let total = 0;
  let left = mean;
  while (left > 0) {
    const chunk = Math.min(left, 30);
    left -= chunk;
    const limit = Math.exp(-chunk);
    let p = 1;
    let k = 0;
    do {
      k++;
      p *= random();
    } while (p > limit);
    total += k - 1;
  }
  return total;
}

const WEEKDAY_FACTOR = [1.0, 1.08, 1.0, 0.95, 1.12, 0.7, 0.6]; // Monday … Sunday

/** Shape of a day: two peaks (10:30 and 15:30) over a floor, 0.2–1. */
function dailyShape(hour: number): number {
  const peak = (h: number, width: number) => Math.exp(-((hour - h) ** 2) / (2 * width * width));
  return 0.2 + 0.8 * Math.min(1, peak(10.5, 1.8) + 0.9 * peak(15.5, 2.2));
}

export function generateHistory(opts: {
  seed: number;
  weeks: number;
  peak?: number;
  firstWeekday?: number;
  weeklyGrowth?: number;
}): SyntheticHistory {
  const random = seededRandom(opts.seed);
  const slotsPerDay = 48;
  const peak = opts.peak ?? 40;
  const growth = Math.log(1 + (opts.weeklyGrowth ?? 0.015)) / 7;
  const first = opts.firstWeekday ?? 1;
  const weekdays: number[] = [];
  const expected: number[][] = [];
  const counts: number[][] = [];
  for (let day = 0; day < opts.weeks * 7; day++) {
    const weekday = ((first - 1 + day) % 7) + 1;
    weekdays.push(weekday);
    const mean = Array.from(
      { length: slotsPerDay },
      (_, s) => peak * WEEKDAY_FACTOR[weekday - 1] * dailyShape(s / 2 + 0.25) * Math.exp(growth * day),
    );
    const spiked = [...mean];
    if (random() < 0.15) {
      const start = Math.floor(random() * (slotsPerDay - 6));
      const length = 2 + Math.floor(random() * 5);
      const factor = 2 + random() * 1.5;
      for (let s = start; s < start + length; s++) spiked[s] *= factor;
    }
    expected.push(mean);
    counts.push(spiked.map((m) => poisson(m, random)));
  }
  return { slotsPerDay, weekdays, expected, counts };
}

/**
 * The forecast on a generated history of 9 weeks: learnt from the first 8, measured on the 9th at 30-minute
 * intervals by MAPE, beside the noise floor (the generator's expected values) and two baselines (the same slot
 * last week; the mean of the same slot over the last 4 weeks).
 */
export function accuracyOf(seed: number): { noiseFloor: number; forecast: number; lastWeek: number; fourWeekMean: number } {
  const h = generateHistory({ seed, weeks: 9 });
  const historyDays = 56;
  const model = fitForecast(
    h.counts.slice(0, historyDays).map((counts, i) => ({ index: i, profile: h.weekdays[i], excluded: false, counts })),
    h.slotsPerDay,
  );
  const actual: number[] = [];
  const forecast: number[] = [];
  const truth: number[] = [];
  const lastWeek: number[] = [];
  const fourWeeks: number[] = [];
  for (let d = historyDays; d < historyDays + 7; d++) {
    actual.push(...h.counts[d]);
    truth.push(...h.expected[d]);
    forecast.push(...predictDay(model, d, h.weekdays[d]));
    lastWeek.push(...h.counts[d - 7]);
    fourWeeks.push(
      ...h.counts[d].map((_, s) => (h.counts[d - 7][s] + h.counts[d - 14][s] + h.counts[d - 21][s] + h.counts[d - 28][s]) / 4),
    );
  }
  return {
    noiseFloor: mape(actual, truth),
    forecast: mape(actual, forecast),
    lastWeek: mape(actual, lastWeek),
    fourWeekMean: mape(actual, fourWeeks),
  };
}
