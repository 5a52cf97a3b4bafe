import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../../platform/auth/roles';
import type { AfterCommit } from '../../platform/db/transaction';
import { User } from '../accounts/user.entity';
import type { NewNotification, NotificationService } from './notification.service';

/** The active managers of a department, else (no department, or nobody manages it) the active admins; without `except`. */
export async function supervisorsOf(em: EntityManager, departmentId: string | null, except?: string): Promise<string[]> {
  const managers = departmentId ? await em.find(User, { role: Role.MANAGER, departmentId, active: true }, { fields: ['id'] }) : [];
  const people = managers.length ? managers : await em.find(User, { role: Role.ADMIN, active: true }, { fields: ['id'] });
  return people.map((u) => u.id).filter((id) => id !== except);
}

/**
 * The negative-flag rule, one for conversations and tickets: what the classifier finds strongly negative
 * (isStronglyNegative) is flagged to the supervisors of its department (see supervisorsOf), never to its
 * author, in the caller's transaction.
 */
export async function flagNegative(
  em: EntityManager,
  afterCommit: AfterCommit,
  notifications: NotificationService,
  flag: { departmentId: string | null; authorId: string } & Omit<NewNotification, 'userId'>,
): Promise<void> {
  const { departmentId, authorId, ...notice } = flag;
  for (const userId of await supervisorsOf(em, departmentId, authorId)) notifications.notify(em, afterCommit, { userId, ...notice });
  await em.flush();
}
