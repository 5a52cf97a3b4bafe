import { EntityManager, FilterQuery, LockMode } from '@mikro-orm/postgresql';
import { Role, Viewer } from '../../platform/auth/roles';
import { signedIn } from '../../platform/auth/scope';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { Page, paginate } from '../../platform/pagination';
import { ALL_DEPARTMENTS } from '../../platform/realtime/topics';
import { Alert, AlertDelivery, AlertStatus } from './alert.entity';
import { DashboardService, isUuid, OperationsScope } from './dashboard.service';

/** The audit trail (AuditService), as far as acknowledging needs it. */
export interface AuditRecorder {
  record(
    em: EntityManager,
    actor: { viewer: Viewer | null; traceId: string },
    entry: { action: string; targetType: string; targetId: string; summary: string; comment?: string | null },
  ): unknown;
}

export const MAX_ACK_COMMENT = 1000;

/** Reading and acknowledging alerts. Managers: their department's alerts; admins: all, cluster-wide ones included. */
export class AlertService {
  constructor(
    private readonly audit: AuditRecorder,
    private readonly dashboard: DashboardService,
  ) {}

  list(scope: OperationsScope, status: AlertStatus | null | undefined, first: number, after?: string | null): Promise<Page<Alert>> {
    const viewer = staff(scope.viewer);
    const where: FilterQuery<Alert> = {};
    if (viewer.role === Role.MANAGER) where.departmentId = viewer.departmentId!;
    if (status) where.status = status;
    return paginate(scope.em, Alert, where, { first, after, orderBy: { openedAt: 'desc', id: 'desc' } });
  }

  async acknowledge(scope: OperationsScope, id: string, comment: string | null | undefined): Promise<Alert> {
    const viewer = staff(scope.viewer);
    const text = comment?.trim() || null;
    if (text && text.length > MAX_ACK_COMMENT) throw new InvalidInput('comment', `must be at most ${MAX_ACK_COMMENT} characters`);
    if (!isUuid(id)) throw new NotFound('Alert', id);
    return inTransaction(scope.em, async (em) => {
      const alert = await em.findOne(Alert, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!alert) throw new NotFound('Alert', id);
      if (viewer.role === Role.MANAGER && alert.departmentId !== viewer.departmentId)
        throw new Forbidden('Managers acknowledge the alerts of their own department only');
      if (alert.status !== AlertStatus.OPEN)
        throw new Conflict(ConflictReason.INVALID_STATE, `The alert is already ${alert.status.toLowerCase()}`, {
          state: alert.status,
          action: 'acknowledge',
        });
      alert.status = AlertStatus.ACKNOWLEDGED;
      alert.acknowledgedAt = new Date();
      alert.acknowledgedById = viewer.id;
      alert.acknowledgeComment = text;
      this.audit.record(em, scope, {
        action: 'alert.acknowledge',
        targetType: 'Alert',
        targetId: alert.id,
        summary: `Acknowledged alert ${alert.rule}`,
        comment: text,
      });
      await em.flush();
      return alert;
    });
  }

  /** Every webhook attempt of one alert, newest first. */
  async deliveries(scope: OperationsScope, alertId: string, first: number, after?: string | null): Promise<Page<AlertDelivery>> {
    const viewer = staff(scope.viewer);
    const alert = isUuid(alertId) ? await scope.em.findOne(Alert, { id: alertId }, { fields: ['id', 'departmentId'] }) : null;
    if (!alert) throw new NotFound('Alert', alertId);
    if (viewer.role === Role.MANAGER && alert.departmentId !== viewer.departmentId)
      throw new Forbidden('Managers see the alerts of their own department only');
    return paginate(scope.em, AlertDelivery, { alertId }, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** The ALERTS topic a subscriber may listen on: their department, or (admins) any department or all. */
  async topicFor(scope: OperationsScope, departmentId: string | null | undefined): Promise<string> {
    return (await this.dashboard.dashboardScope(scope, departmentId)) ?? ALL_DEPARTMENTS;
  }
}

function staff(viewer: Viewer | null): Viewer {
  const v = signedIn(viewer);
  if (v.role === Role.ADMIN) return v;
  if (v.role === Role.MANAGER && v.departmentId) return v;
  throw new Forbidden('Alerts are for managers and admins');
}
