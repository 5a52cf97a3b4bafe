/**
 * Erlang C, pure. Inputs are an offered load A (erlangs: arrivals per second × handling seconds) and a number
 * of servers N. Erlang B by its recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)) stays within [0, 1] at
 * every step, so there is no factorial or power to overflow at any N (10,000 servers take 10,000 steps);
 * Erlang C follows from B: C = N·B / (N − A·(1 − B)).
 */

/** Erlang B: the probability that all N servers are busy in a loss system (no queue). */
export function erlangB(servers: number, load: number): number {
  let b = 1;
  for (let n = 1; n <= servers; n++) b = (load * b) / (n + load * b);
  return b;
}

/** Erlang C: the probability that a contact has to wait (1 when the load reaches the servers). */
export function erlangC(servers: number, load: number): number {
  if (load <= 0) return 0;
  if (servers <= load) return 1;
  const b = erlangB(servers, load);
  return (servers * b) / (servers - load * (1 - b));
}

/** Share of contacts answered within `targetSeconds`: 1 − C·e^(−(N−A)·T/AHT). */
export function serviceLevel(servers: number, load: number, handlingSeconds: number, targetSeconds: number): number {
  if (load <= 0) return 1;
  if (servers <= load) return 0;
  return 1 - erlangC(servers, load) * Math.exp((-(servers - load) * targetSeconds) / handlingSeconds);
}

/** Average speed of answer: C·AHT / (N − A); Infinity when the load reaches the servers. */
export function averageWaitSeconds(servers: number, load: number, handlingSeconds: number): number {
  if (load <= 0) return 0;
  if (servers <= load) return Infinity;
  return (erlangC(servers, load) * handlingSeconds) / (servers - load);
}

export interface ServiceTarget {
  /** Share of contacts to answer within `seconds` (0 < level < 1). */
  level: number;
  seconds: number;
  /** Highest share of time a server may be busy (0 < maxOccupancy ≤ 1). */
  maxOccupancy: number;
}

/**
 * The fewest servers that meet the service level and keep occupancy (A/N) at most maxOccupancy. Starts from
 * the occupancy bound and walks up; SL rises with N, so the first N that meets it is the answer.
 */
export function requiredServers(load: number, handlingSeconds: number, target: ServiceTarget): number {
  if (load <= 0) return 0;
  let n = Math.max(Math.ceil(load / target.maxOccupancy - 1e-9), Math.floor(load) + 1);
  while (serviceLevel(n, load, handlingSeconds, target.seconds) < target.level) n++;
  return n;
}

/**
 * The expected wait of the customer at `position` in line (1: next), when every one of `seats` is busy: in
 * Erlang's model (M/M/N, first come first served) seats free up at N/AHT per second, so the customer starts
 * after `position` departures: position·AHT/N. Requests of higher priority that arrive meanwhile go ahead:
 * with `overtakingPerSecond` of them (each holding a seat AHT) the departures left for the line are
 * N/AHT − λ_ahead, so wait = position·AHT / (N − λ_ahead·AHT). Null when there is no seat, or when the
 * overtaking load alone fills every seat (no finite estimate).
 */
export function queueWaitSeconds(position: number, seats: number, handlingSeconds: number, overtakingPerSecond = 0): number | null {
  if (seats <= 0) return null;
  const free = seats - Math.max(0, overtakingPerSecond) * handlingSeconds;
  if (free <= 0) return null;
  return Math.ceil((position * handlingSeconds) / free);
}
