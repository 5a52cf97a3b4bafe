import fc from 'fast-check';
import { averageWaitSeconds, erlangB, erlangC, queueWaitSeconds, requiredServers, serviceLevel } from '../../src/modules/staffing/erlang';

/**
 * Erlang C by the textbook formula with factorials, C = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)):
 * an independent check of the recursion for small N (it overflows long before 500 servers).
 */
function erlangCByFactorials(n: number, a: number): number {
  let term = 1; // A^k / k!
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += term;
    term *= a / (k + 1);
  }
  const top = (term * n) / (n - a);
  return top / (sum + top);
}

describe('Erlang C', () => {
  it('matches values computed by hand', () => {
    // N = 3 servers, A = 2 erlangs: Σ_{k<3} 2^k/k! = 1 + 2 + 2 = 5; 2^3/3! · 3/(3−2) = 4; C = 4 / (5 + 4) = 4/9.
    expect(erlangC(3, 2)).toBeCloseTo(4 / 9, 12);
    // Erlang B for N = 2, A = 1: (1/2) / (1 + 1 + 1/2) = 0.2.
    expect(erlangB(2, 1)).toBeCloseTo(0.2, 12);
    // 100 chats per 30 minutes, AHT 180 s: A = 100 × 180 / 1800 = 10 erlangs. Computed separately (Python,
    // factorial formula): N = 13 → C = 0.285270, SL(20 s) = 0.795595, ASA = 17.116 s; N = 14 → C = 0.174132,
    // SL = 0.888350, ASA = 7.836 s. So 80/20 needs 14 seats.
    expect(erlangC(13, 10)).toBeCloseTo(0.285270453, 8);
    expect(serviceLevel(13, 10, 180, 20)).toBeCloseTo(0.7955947884, 8);
    expect(averageWaitSeconds(13, 10, 180)).toBeCloseTo(17.11622718, 6);
    expect(erlangC(14, 10)).toBeCloseTo(0.1741319336, 8);
    expect(serviceLevel(14, 10, 180, 20)).toBeCloseTo(0.8883500192, 8);
    expect(requiredServers(10, 180, { level: 0.8, seconds: 20, maxOccupancy: 0.85 })).toBe(14);
    // Occupancy binds when the target is loose: A = 10 at 85 % needs ⌈10/0.85⌉ = 12 even for SL 10 %.
    expect(requiredServers(10, 180, { level: 0.1, seconds: 20, maxOccupancy: 0.85 })).toBe(12);
  });

  it('agrees with the factorial formula wherever that one is exact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (n, share) => {
        const a = n * share;
        expect(erlangC(n, a)).toBeCloseTo(erlangCByFactorials(n, a), 9);
      }),
    );
  });

  it('stays finite and sensible at 500+ servers, where factorials overflow', () => {
    const c = erlangC(600, 550);
    expect(Number.isFinite(c)).toBe(true);
    expect(c).toBeGreaterThan(0);
    expect(c).toBeLessThan(1);
    const n = requiredServers(550, 300, { level: 0.8, seconds: 20, maxOccupancy: 1 }); // no occupancy cap: the service level decides
    expect(n).toBeGreaterThan(550);
    expect(n).toBeLessThan(600);
    expect(serviceLevel(n, 550, 300, 20)).toBeGreaterThanOrEqual(0.8);
    expect(serviceLevel(n - 1, 550, 300, 20)).toBeLessThan(0.8);
    expect(erlangC(10_000, 9_800)).toBeLessThan(1);
  });

  it('needs no one when nothing is expected, and cannot serve a load at or above the servers', () => {
    expect(requiredServers(0, 300, { level: 0.8, seconds: 20, maxOccupancy: 0.85 })).toBe(0);
    expect(erlangC(5, 5)).toBe(1);
    expect(serviceLevel(5, 6, 300, 20)).toBe(0);
    expect(averageWaitSeconds(5, 6, 300)).toBe(Infinity);
  });

  it('gives the queue estimate: position × AHT ÷ (seats − overtaking load), null without seats', () => {
    expect(queueWaitSeconds(10, 20, 300)).toBe(150);
    expect(queueWaitSeconds(1, 5, 300)).toBe(60);
    expect(queueWaitSeconds(3, 0, 300)).toBeNull();
    // 1 urgent request a minute, each holding a seat 300 s: 5 of the 20 seats go to them.
    expect(queueWaitSeconds(10, 20, 300, 1 / 60)).toBe(200);
    expect(queueWaitSeconds(10, 5, 300, 1 / 60)).toBeNull();
  });
});
