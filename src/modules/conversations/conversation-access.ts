import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Role, Viewer } from '../../platform/auth/roles';
import { managesDepartment } from '../../platform/auth/scope';
import { NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import { Conversation } from './conversation.entity';

/** Who a viewer is to a conversation. */
export type Party = 'CUSTOMER' | 'AGENT' | 'SUPERVISOR';

/** The viewer's relation to a conversation, or null when they have none. */
export function partyOf(viewer: Viewer, c: Conversation): Party | null {
  if (viewer.id === c.customerId) return 'CUSTOMER';
  if (c.agentId && viewer.id === c.agentId) return 'AGENT';
  if (viewer.role === Role.ADMIN) return 'SUPERVISOR';
  if (viewer.role === Role.MANAGER && c.departmentId && managesDepartment(viewer, c.departmentId)) return 'SUPERVISOR';
  return null;
}

export async function lockConversation(em: EntityManager, id: string): Promise<Conversation> {
  const c = isUuid(id) ? await em.findOne(Conversation, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
  if (!c) throw new NotFound('Conversation', id);
  return c;
}

/** The customer and the agent of a conversation (for quick-reply templates and transfer summaries). */
export async function conversationParties(em: EntityManager, conversationId: string): Promise<{ customer: User; agent: User | null }> {
  const c = isUuid(conversationId) ? await em.findOne(Conversation, { id: conversationId }) : null;
  if (!c) throw new NotFound('Conversation', conversationId);
  const [customer, agent] = await Promise.all([
    em.findOneOrFail(User, { id: c.customerId }),
    c.agentId ? em.findOne(User, { id: c.agentId }) : null,
  ]);
  return { customer, agent };
}
