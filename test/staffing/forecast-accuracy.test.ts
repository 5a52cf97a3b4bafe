import { fitForecast, predictDay } from '../../src/modules/staffing/forecast-model';
import { accuracyOf, generateHistory } from '../../bench/staffing-synthetic';

/**
 * The accuracy test: 8 weeks of synthetic history (weekly and daily seasonality, +1.5 %/week trend,
 * Poisson noise, spikes), the 9th week held out, 30-minute intervals. The forecast's MAPE must be at most
 * 1.2 × the noise floor (the generator's own expected values against the same noisy week) and below both
 * baselines: the same slot last week, and the mean of the same slot over the last 4 weeks.
 */

describe('forecast accuracy on synthetic history', () => {
  it.each([1, 2, 3, 4, 5, 42])('seed %i: within 1.2 × the noise floor and below both baselines', (seed) => {
    const a = accuracyOf(seed);
    expect(a.forecast).toBeLessThanOrEqual(1.2 * a.noiseFloor);
    expect(a.forecast).toBeLessThan(a.lastWeek);
    expect(a.forecast).toBeLessThan(a.fourWeekMean);
  });

  it('follows the trend and leaves holidays out of the profile', () => {
    const h = generateHistory({ seed: 9, weeks: 8, weeklyGrowth: 0.05 });
    const days = h.counts.map((counts, i) => ({ index: i, profile: h.weekdays[i], excluded: false, counts }));
    const model = fitForecast(days, h.slotsPerDay);
    expect(Math.exp(model.growthPerDay * 7) - 1).toBeGreaterThan(0.03);
    expect(Math.exp(model.growthPerDay * 7) - 1).toBeLessThan(0.07);
    // A quiet holiday on a Monday (all zeros) that is excluded does not pull Monday's profile down.
    const withHoliday = days.map((d, i) => (i === 49 ? { ...d, counts: d.counts.map(() => 0), excluded: true } : d));
    const a = predictDay(fitForecast(withHoliday, h.slotsPerDay), 56, 1).reduce((x, y) => x + y, 0);
    const b = predictDay(model, 56, 1).reduce((x, y) => x + y, 0);
    expect(Math.abs(a - b) / b).toBeLessThan(0.05);
  });
});
