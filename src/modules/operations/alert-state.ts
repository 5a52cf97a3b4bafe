/**
 * The alert state machine of one (rule, department), as a transition table. An episode opens once: OK →
 * PENDING while the condition holds for less than `for`, FIRING (the alert opens) once it has held that long;
 * FIRING → CLEARING when it stops, back to FIRING without a new alert if it returns, OK (the alert resolves)
 * once it has been clear for `clearFor` (hysteresis).
 */
export type AlertState = 'OK' | 'PENDING' | 'FIRING' | 'CLEARING';

export interface StateRow {
  state: AlertState;
  since: Date;
}

export interface Step {
  state: AlertState;
  since: Date;
  /** open: a new alert; resolve: the episode's alert ends. */
  action: 'open' | 'resolve' | null;
}

type Transition = (
  held: number,
  timing: { forSeconds: number; clearForSeconds: number },
) => { state: AlertState; restart: boolean; action: Step['action'] };

/** [state][breaching ? 1 : 0]: `held` is the seconds since the row's `since`. */
const TABLE: Record<AlertState, [Transition, Transition]> = {
  OK: [
    () => ({ state: 'OK', restart: false, action: null }),
    (_h, t) =>
      t.forSeconds === 0 ? { state: 'FIRING', restart: true, action: 'open' } : { state: 'PENDING', restart: true, action: null },
  ],
  PENDING: [
    () => ({ state: 'OK', restart: true, action: null }),
    (held, t) =>
      held >= t.forSeconds ? { state: 'FIRING', restart: true, action: 'open' } : { state: 'PENDING', restart: false, action: null },
  ],
  FIRING: [
    (_h, t) =>
      t.clearForSeconds === 0 ? { state: 'OK', restart: true, action: 'resolve' } : { state: 'CLEARING', restart: true, action: null },
    () => ({ state: 'FIRING', restart: false, action: null }),
  ],
  CLEARING: [
    (held, t) =>
      held >= t.clearForSeconds ? { state: 'OK', restart: true, action: 'resolve' } : { state: 'CLEARING', restart: false, action: null },
    () => ({ state: 'FIRING', restart: true, action: null }),
  ],
};

export function step(prev: StateRow | null, breaching: boolean, now: Date, timing: { forSeconds: number; clearForSeconds: number }): Step {
  const from = prev ?? { state: 'OK' as const, since: now };
  const held = (now.getTime() - from.since.getTime()) / 1000;
  const next = TABLE[from.state][breaching ? 1 : 0](held, timing);
  return { state: next.state, since: next.restart ? now : from.since, action: next.action };
}
