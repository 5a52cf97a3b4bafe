import { Conflict, ConflictReason } from './errors';

/**
 * A state machine written once as a transition table: action → the states it may start from and the
 * state it leads to. Every service transition goes through `next`, so an illegal one is always CONFLICT.
 */
export class TransitionTable<S extends string, A extends string> {
  constructor(
    private readonly entity: string,
    /** `verb`: how the CONFLICT message says the action when its name does not ("resolved by its FAQ answer"). */
    private readonly table: Record<A, { from: readonly S[]; to: S; verb?: string }>,
  ) {}

  /** The state `action` leads to from `current`, or CONFLICT naming both. */
  next(current: S, action: A): S {
    const rule = this.table[action];
    if (!rule.from.includes(current)) {
      throw new Conflict(ConflictReason.INVALID_STATE, `${this.entity} is ${current}: it cannot be ${rule.verb ?? pastTense(action)}`, {
        state: current,
        action,
      });
    }
    return rule.to;
  }

  allowed(current: S): A[] {
    return (Object.keys(this.table) as A[]).filter((a) => this.table[a].from.includes(current));
  }
}

function pastTense(action: string): string {
  const a = action.toLowerCase();
  if (a.endsWith('e')) return `${a}d`;
  if (a === 'cancel') return 'cancelled';
  return `${a}ed`;
}
