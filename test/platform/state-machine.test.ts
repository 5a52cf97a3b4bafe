import { TransitionTable } from '../../src/platform/state-machine';

type S = 'PENDING' | 'APPROVED' | 'REJECTED' | 'CANCELLED';
type A = 'approve' | 'reject' | 'cancel';

const table = new TransitionTable<S, A>('Leave request', {
  approve: { from: ['PENDING'], to: 'APPROVED' },
  reject: { from: ['PENDING'], to: 'REJECTED' },
  cancel: { from: ['PENDING', 'APPROVED'], to: 'CANCELLED' },
});

describe('a transition table', () => {
  it('leads from an allowed state to the next', () => {
    expect(table.next('PENDING', 'approve')).toBe('APPROVED');
    expect(table.next('APPROVED', 'cancel')).toBe('CANCELLED');
    expect(table.allowed('PENDING')).toEqual(['approve', 'reject', 'cancel']);
    expect(table.allowed('REJECTED')).toEqual([]);
  });

  it('refuses anything else with CONFLICT naming the state', () => {
    expect(() => table.next('REJECTED', 'approve')).toThrow('Leave request is REJECTED: it cannot be approved');
    try {
      table.next('CANCELLED', 'cancel');
      throw new Error('not refused');
    } catch (err) {
      expect((err as { extensions: Record<string, unknown> }).extensions).toEqual({
        code: 'CONFLICT',
        reason: 'INVALID_STATE',
        state: 'CANCELLED',
        action: 'cancel',
      });
    }
  });
});
