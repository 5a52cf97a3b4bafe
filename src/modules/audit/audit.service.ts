import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden } from '../../platform/errors';
import { Page, paginate } from '../../platform/pagination';
import { AuditEntry } from './audit-entry.entity';

export interface AuditRecord {
  action: string;
  targetType: string;
  targetId: string;
  summary: string;
  comment?: string | null;
}

export interface AuditLogFilter {
  actorId?: string | null;
  action?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

export class AuditService {
  /**
   * Adds an entry to `em`'s unit of work: it is written by the same flush, in the same transaction,
   * as the change it records.
   */
  record(em: EntityManager, actor: { viewer: Viewer | null; traceId: string }, entry: AuditRecord): AuditEntry {
    const row = em.create(AuditEntry, {
      ...entry,
      comment: entry.comment ?? null,
      actorId: actor.viewer?.id ?? null,
      actorRole: actor.viewer?.role ?? null,
      traceId: actor.traceId,
      createdAt: new Date(),
    });
    em.persist(row);
    return row;
  }

  async list(scope: RequestScope, filter: AuditLogFilter, first: number, after?: string | null): Promise<Page<AuditEntry>> {
    if (scope.viewer?.role !== Role.ADMIN) throw new Forbidden();
    const where: FilterQuery<AuditEntry> = {};
    if (filter.actorId) where.actorId = filter.actorId;
    if (filter.action) where.action = filter.action;
    if (filter.targetType) where.targetType = filter.targetType;
    if (filter.targetId) where.targetId = filter.targetId;
    if (filter.from || filter.to) {
      where.createdAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    }
    return paginate(scope.em, AuditEntry, where, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** The trail of one record, oldest first, for `auditTrail` fields of later features. */
  trail(em: EntityManager, targetType: string, targetId: string): Promise<AuditEntry[]> {
    return em.find(AuditEntry, { targetType, targetId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }
}
