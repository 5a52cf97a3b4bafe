import type { EntityManager } from '@mikro-orm/postgresql';
import { AutoAnswer, AutoAnswerState } from '../conversations/conversation.entity';
import { Faq } from './faq.entity';

/** What a conversation or a ticket shows as `autoAnswer`: the FAQ it was answered with and the customer's reply. */
export async function autoAnswerOf(
  em: EntityManager,
  answered: { autoAnswerFaqId: string | null; autoAnswerState: AutoAnswerState | null },
): Promise<AutoAnswer | null> {
  if (!answered.autoAnswerFaqId || !answered.autoAnswerState) return null;
  const faq = await em.findOne(Faq, { id: answered.autoAnswerFaqId }, { fields: ['id', 'question'] });
  return faq ? { faq: { id: faq.id, question: faq.question }, state: answered.autoAnswerState } : null;
}
