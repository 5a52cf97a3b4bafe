import { DomainError } from '../../src/platform/errors';
import { CONVERSATION_FLOW, ConversationAction } from '../../src/modules/conversations/conversation-flow';
import { ConversationStatus } from '../../src/modules/conversations/conversation.entity';

const { QUEUED, ACTIVE, ENDED } = ConversationStatus;

/** The table written out by hand (not read back from the implementation): from → action → to, or refused. */
const EXPECTED: Record<ConversationStatus, Partial<Record<ConversationAction, ConversationStatus>>> = {
  [QUEUED]: { assign: ACTIVE, end: ENDED },
  [ACTIVE]: { transfer: ACTIVE, requeue: QUEUED, end: ENDED },
  [ENDED]: {},
};
const ACTIONS: ConversationAction[] = ['assign', 'transfer', 'requeue', 'end'];

describe('the conversation transition table', () => {
  for (const from of [QUEUED, ACTIVE, ENDED]) {
    for (const action of ACTIONS) {
      const to = EXPECTED[from][action];
      it(`${action} from ${from} ${to ? `leads to ${to}` : 'is a CONFLICT (INVALID_STATE) naming the state and the action'}`, () => {
        if (to) {
          expect(CONVERSATION_FLOW.next(from, action)).toBe(to);
          return;
        }
        let error: unknown = null;
        try {
          CONVERSATION_FLOW.next(from, action);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(DomainError);
        expect((error as DomainError).extensions).toMatchObject({ code: 'CONFLICT', reason: 'INVALID_STATE', state: from, action });
      });
    }
  }

  it('allows exactly the actions of the table from each state', () => {
    for (const from of [QUEUED, ACTIVE, ENDED]) expect(CONVERSATION_FLOW.allowed(from).sort()).toEqual(Object.keys(EXPECTED[from]).sort());
  });
});
