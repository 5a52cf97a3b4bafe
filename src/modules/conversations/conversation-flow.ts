import { TransitionTable } from '../../platform/state-machine';
import { ConversationStatus } from './conversation.entity';

/** What happens to a conversation after it is created (QUEUED, or ACTIVE with its agent). */
export type ConversationAction = 'assign' | 'transfer' | 'requeue' | 'end';

/**
 * A conversation's transition table: every status change goes through `next`, so an illegal one is a CONFLICT
 * (INVALID_STATE) wherever it is attempted. Callers that explain a refusal more precisely check first.
 */
export const CONVERSATION_FLOW = new TransitionTable<ConversationStatus, ConversationAction>('The conversation', {
  assign: { from: [ConversationStatus.QUEUED], to: ConversationStatus.ACTIVE },
  transfer: { from: [ConversationStatus.ACTIVE], to: ConversationStatus.ACTIVE },
  requeue: { from: [ConversationStatus.ACTIVE], to: ConversationStatus.QUEUED, verb: 'put back in the queue' },
  end: { from: [ConversationStatus.QUEUED, ConversationStatus.ACTIVE], to: ConversationStatus.ENDED },
});
