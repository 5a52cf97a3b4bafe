import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../../platform/auth/roles';
import { hashPassword } from '../../platform/auth/passwords';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { inTransaction } from '../../platform/db/transaction';
import type { Logger } from '../../platform/logger';
import type { AuditService } from '../audit/audit.service';
import { User } from './user.entity';

/**
 * Creates the first admin when the database has none; returns the generated password if one was made.
 * `keepGenerated` receives that password before the account is committed, so it is stored before it is needed.
 */
export function createFirstAdmin(
  em: EntityManager,
  audit: AuditService,
  opts: { email: string; password: string | null; logger: Logger; keepGenerated?: (generated: string) => void },
): Promise<string | null> {
  const { email, password, logger, keepGenerated } = opts;
  return inTransaction(em, async (tx) => {
    // On the transaction's own connection: two processes starting together create one admin.
    await tx.execute('SELECT pg_advisory_xact_lock(?)', [AdvisoryLock.FIRST_ADMIN]);
    if ((await tx.count(User, { role: Role.ADMIN })) > 0) return null;
    const generated = password ? null : randomPassword();
    if (generated) keepGenerated?.(generated);
    const admin = tx.create(User, {
      email,
      displayName: 'Administrator',
      role: Role.ADMIN,
      employeeCode: 'ADMIN001',
      passwordHash: await hashPassword(password ?? generated!),
    });
    audit.record(
      tx,
      { viewer: null, traceId: 'startup' },
      {
        action: 'user.create',
        targetType: 'User',
        targetId: admin.id,
        summary: `Created the first admin ${email}`,
      },
    );
    await tx.flush();
    logger.info({ email }, 'first admin account created');
    return generated;
  });
}

function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}
