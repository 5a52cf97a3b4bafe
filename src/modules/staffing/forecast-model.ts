/**
 * The contact forecast, pure: a seasonal regression with a multiplicative trend.
 *
 *   expected(day d, slot s) = P[k(d)][s] · e^(g·(d − d_last))
 *
 * - k(d) is the day's profile: its ISO weekday (weekly seasonality), and within it one value per slot of
 *   the day (daily seasonality). A holiday of the business calendar takes the profile of the calendar's
 *   first day off (Sunday by default) and a make-up working day that of Monday; holidays in the history are
 *   left out of the profiles, so a past holiday does not pull its weekday down.
 * - g is the daily growth rate: least squares of log(day total / mean total of its profile) over the day
 *   index (so a week's shape does not read as trend), capped at ±2 % a day.
 * - P[k][s] is the mean of the history's values of that profile and slot, each first brought to the level of
 *   the last history day (÷ its trend factor); values far above the slot's median (spikes: a one-off
 *   campaign, an outage) are left out of the mean, so one event does not raise the same slot for weeks.
 *   The profile is then smoothed over neighbouring slots (¼, ½, ¼): daily seasonality is a smooth curve.
 *
 * Unlike a plain average of past weeks it follows a trend, and it averages every week of the history, so its
 * error stays close to the noise of the counts themselves (see test/staffing/forecast-accuracy.test.ts).
 */

export interface HistoryDay {
  /** Position of the day on a common axis (days since some origin); consecutive days differ by 1. */
  index: number;
  /** Profile key: ISO weekday 1–7, already mapped for holidays and make-up working days. */
  profile: number;
  /** Holidays are left out of the fit. */
  excluded: boolean;
  /** Counts per slot of the day. */
  counts: number[];
}

export interface FittedForecast {
  slotsPerDay: number;
  /** Growth per day (e^g − 1 is the daily rate). */
  growthPerDay: number;
  /** Index of the last history day: the level of the profiles. */
  lastIndex: number;
  profiles: Map<number, number[]>;
  /** The mean of every profile, for a profile the history lacks. */
  fallback: number[];
}

const MAX_GROWTH_PER_DAY = Math.log(1.02);

export function fitForecast(days: HistoryDay[], slotsPerDay: number): FittedForecast {
  const usable = days.filter((d) => !d.excluded && d.counts.length === slotsPerDay);
  const lastIndex = days.length ? Math.max(...days.map((d) => d.index)) : 0;
  const growthPerDay = estimateGrowth(usable);
  const byProfile = new Map<number, number[][]>();
  for (const d of usable) {
    const scale = Math.exp(-growthPerDay * (d.index - lastIndex));
    const list = byProfile.get(d.profile) ?? [];
    list.push(d.counts.map((c) => c * scale));
    byProfile.set(d.profile, list);
  }
  const profiles = new Map<number, number[]>();
  for (const [key, rows] of byProfile) {
    profiles.set(key, smooth(Array.from({ length: slotsPerDay }, (_, s) => robustMean(rows.map((r) => r[s])))));
  }
  const all = [...profiles.values()];
  const fallback = Array.from({ length: slotsPerDay }, (_, s) => (all.length ? all.reduce((sum, p) => sum + p[s], 0) / all.length : 0));
  return { slotsPerDay, growthPerDay, lastIndex, profiles, fallback };
}

/** Expected counts per slot of a day. */
export function predictDay(model: FittedForecast, index: number, profile: number): number[] {
  const base = model.profiles.get(profile) ?? model.fallback;
  const trend = Math.exp(model.growthPerDay * (index - model.lastIndex));
  return base.map((v) => v * trend);
}

/**
 * Weights 1/4, 1/2, 1/4 over neighbouring slots of the same day: the time-of-day curve is smooth, so this
 * cuts the noise of each slot's mean by more than half at the cost of a slight flattening of sharp peaks.
 */
function smooth(values: number[]): number[] {
  return values.map((v, i) => {
    const before = values[i - 1] ?? v;
    const after = values[i + 1] ?? v;
    return before / 4 + v / 2 + after / 4;
  });
}

/** Least-squares slope of log(total / profile mean total) over the day index. */
function estimateGrowth(days: HistoryDay[]): number {
  const totals = days.map((d) => ({ d, total: d.counts.reduce((a, b) => a + b, 0) }));
  const meanOf = new Map<number, number>();
  for (const key of new Set(days.map((d) => d.profile))) {
    const same = totals.filter((t) => t.d.profile === key);
    meanOf.set(key, same.reduce((a, t) => a + t.total, 0) / same.length);
  }
  const points = totals
    .filter((t) => t.total > 0 && meanOf.get(t.d.profile)! > 0)
    .map((t) => ({ x: t.d.index, y: Math.log(t.total / meanOf.get(t.d.profile)!) }));
  if (points.length < 14) return 0; // less than two weeks: no trend worth extrapolating
  const mx = points.reduce((a, p) => a + p.x, 0) / points.length;
  const my = points.reduce((a, p) => a + p.y, 0) / points.length;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const g = sxx > 0 ? sxy / sxx : 0;
  return Math.max(-MAX_GROWTH_PER_DAY, Math.min(MAX_GROWTH_PER_DAY, g));
}

/** Mean without the values far above the median (Poisson noise is ~√median; a spike is many times that). */
function robustMean(values: number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] / 2 + sorted[Math.ceil((sorted.length - 1) / 2)] / 2;
  const limit = median * 1.5 + 3 * Math.sqrt(Math.max(median, 1));
  const kept = values.filter((v) => v <= limit);
  return kept.reduce((a, b) => a + b, 0) / kept.length;
}

/** Mean absolute percentage error over the slots whose actual count is above 0. */
export function mape(actual: number[], predicted: number[]): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] <= 0) continue;
    sum += Math.abs(actual[i] - predicted[i]) / actual[i];
    n++;
  }
  return n ? sum / n : 0;
}
