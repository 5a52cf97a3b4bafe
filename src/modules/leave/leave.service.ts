import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF, Viewer } from '../../platform/auth/roles';
import { departmentScope, managesDepartment, withRole } from '../../platform/auth/scope';
import { isBusinessDate } from '../../platform/clock';
import { lockAgents } from '../../platform/db/agent-locks';
import { AfterCommit, inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { Page, paginate } from '../../platform/pagination';
import { TransitionTable } from '../../platform/state-machine';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import type { AuditService } from '../audit/audit.service';
import type { NotificationService } from '../notifications/notification.service';
import type { LeaveLookup } from '../scheduling/schedule.service';
import { Upload } from '../uploads/upload.entity';
import type { LeaveFilter, RequestLeaveInput } from './leave.inputs';
import { leavePeriod } from './leave.period';
import { LeaveRequest, LeaveStatus } from './leave-request.entity';
import type { MessageId } from '../../platform/i18n/catalogue';

type LeaveAction = 'approve' | 'reject' | 'cancel';

export const LEAVE_FLOW = new TransitionTable<LeaveStatus, LeaveAction>('The leave request', {
  approve: { from: [LeaveStatus.PENDING], to: LeaveStatus.APPROVED },
  reject: { from: [LeaveStatus.PENDING], to: LeaveStatus.REJECTED },
  cancel: { from: [LeaveStatus.PENDING, LeaveStatus.APPROVED], to: LeaveStatus.CANCELLED },
});

export const MAX_LEAVE_DAYS = 366;

export class LeaveService implements LeaveLookup {
  constructor(
    private readonly audit: AuditService,
    private readonly notifications: NotificationService,
    private readonly businessTz: string,
  ) {}

  async request(scope: RequestScope, input: RequestLeaveInput): Promise<LeaveRequest> {
    const viewer = withRole(scope.viewer, ...STAFF);
    for (const field of ['startDate', 'endDate'] as const) {
      if (!isBusinessDate(input[field])) throw new InvalidInput(field, 'must be a real date YYYY-MM-DD');
    }
    const period = leavePeriod(input.startDate, input.startHalf, input.endDate, input.endHalf, this.businessTz);
    if (!period) throw new InvalidInput('endDate', 'must not be before the start');
    if (period.days > MAX_LEAVE_DAYS) throw new InvalidInput('endDate', `a request covers at most ${MAX_LEAVE_DAYS} days`);
    const attachmentIds = [...new Set(input.attachmentIds ?? [])];

    return inTransaction(scope.em, async (em, afterCommit) => {
      if (attachmentIds.length) {
        const own = attachmentIds.every(isUuid) ? await em.count(Upload, { id: { $in: attachmentIds }, ownerId: viewer.id }) : -1;
        if (own !== attachmentIds.length) throw new InvalidInput('attachmentIds', 'must be files you uploaded');
      }
      const requester = await em.findOneOrFail(User, { id: viewer.id });
      const leave = em.create(LeaveRequest, {
        requesterId: viewer.id,
        departmentId: requester.departmentId,
        type: input.type,
        startDate: input.startDate,
        startHalf: input.startHalf,
        endDate: input.endDate,
        endHalf: input.endHalf,
        ...period,
        reason: input.reason.trim(),
        attachmentIds,
      });
      this.audit.record(em, scope, {
        action: 'leave.request',
        targetType: 'LeaveRequest',
        targetId: leave.id,
        summary: `${requester.displayName} asked for ${period.days} day(s) of ${input.type} leave, ${input.startDate} ${input.startHalf} – ${input.endDate} ${input.endHalf}`,
        comment: leave.reason || null,
      });
      for (const approverId of await approversOf(em, requester)) {
        this.notifications.notify(em, afterCommit, {
          userId: approverId,
          kind: 'LEAVE_REQUESTED',
          title: { id: 'notification.leaveRequested.title', params: { name: requester.displayName, days: period.days } },
          body: `${input.startDate} ${input.startHalf} – ${input.endDate} ${input.endHalf} (${input.type})${leave.reason ? `: ${leave.reason}` : ''}`,
        });
      }
      try {
        await em.flush();
      } catch (err) {
        if (violatedConstraint(err)?.constraint === 'leave_requests_no_overlap') {
          throw new Conflict(ConflictReason.OVERLAP, 'The request overlaps another pending or approved leave of yours');
        }
        throw err;
      }
      return leave;
    });
  }

  /** Managers decide for their own department, admins for all, nobody for themselves. Approval marks the schedules. */
  approve(scope: RequestScope, id: string, comment?: string | null): Promise<LeaveRequest> {
    return this.decide(scope, id, 'approve', comment);
  }

  reject(scope: RequestScope, id: string, comment?: string | null): Promise<LeaveRequest> {
    return this.decide(scope, id, 'reject', comment);
  }

  /** The requester may cancel while pending; an admin may cancel an approved request, which restores the schedules. */
  cancel(scope: RequestScope, id: string, comment?: string | null): Promise<LeaveRequest> {
    const viewer = withRole(scope.viewer, ...STAFF);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const leave = await lockLeave(em, id);
      await lockAgents(em, [leave.requesterId]); // restoring reads the agent's other approved leave
      const own = leave.requesterId === viewer.id;
      if (!own && viewer.role !== Role.ADMIN) throw new Forbidden('Only the requester (or an admin) cancels a leave request');
      if (leave.status === LeaveStatus.APPROVED && viewer.role !== Role.ADMIN) {
        throw new Forbidden('Only an admin cancels an approved leave request');
      }
      const wasApproved = leave.status === LeaveStatus.APPROVED;
      leave.status = LEAVE_FLOW.next(leave.status, 'cancel');
      let restored = 0;
      if (wasApproved) restored = await restoreSchedules(em, leave);
      this.audit.record(em, scope, {
        action: 'leave.cancel',
        targetType: 'LeaveRequest',
        targetId: leave.id,
        summary: wasApproved ? `Cancelled approved leave; ${restored} schedule(s) restored` : 'Cancelled the request',
        comment: comment?.trim() || null,
      });
      if (!own) this.tellRequester(em, afterCommit, leave, 'notification.leaveCancelled.title', comment);
      await em.flush();
      return leave;
    });
  }

  async get(scope: RequestScope, id: string): Promise<LeaveRequest> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const leave = isUuid(id) ? await scope.em.findOne(LeaveRequest, { id }) : null;
    if (!leave) throw new NotFound('Leave request', id);
    if (leave.requesterId !== viewer.id && !managesDepartment(viewer, leave.departmentId)) throw new Forbidden();
    return leave;
  }

  /** Agents: their own; managers: their department; admins: all. Newest first. */
  async list(scope: RequestScope, filter: LeaveFilter, first: number, after?: string | null): Promise<Page<LeaveRequest>> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const where: FilterQuery<LeaveRequest> = {};
    if (viewer.role === Role.AGENT) {
      if (filter.requesterId && filter.requesterId !== viewer.id) throw new Forbidden('Agents see their own requests only');
      where.requesterId = viewer.id;
    } else {
      const department = departmentScope(viewer, filter.departmentId);
      if (department) where.departmentId = department;
      if (filter.requesterId) where.requesterId = filter.requesterId;
    }
    if (filter.status) where.status = filter.status;
    if (filter.from) {
      if (!isBusinessDate(filter.from)) throw new InvalidInput('from', 'must be a real date YYYY-MM-DD');
      where.endDate = { $gte: filter.from };
    }
    if (filter.to) {
      if (!isBusinessDate(filter.to)) throw new InvalidInput('to', 'must be a real date YYYY-MM-DD');
      where.startDate = { $lte: filter.to };
    }
    return paginate(scope.em, LeaveRequest, where, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** For scheduling: approved leave of these agents that intersects [from, to). */
  async approvedLeave(em: EntityManager, agentIds: string[], from: Date, to: Date) {
    const rows = await em.find(
      LeaveRequest,
      { requesterId: { $in: agentIds }, status: LeaveStatus.APPROVED, startsAt: { $lt: to }, endsAt: { $gt: from } },
      { fields: ['requesterId', 'startsAt', 'endsAt'] },
    );
    const map = new Map<string, Array<{ start: Date; end: Date }>>();
    for (const r of rows) map.set(r.requesterId, [...(map.get(r.requesterId) ?? []), { start: r.startsAt, end: r.endsAt }]);
    return map;
  }

  /** Whether `viewer` may decide (and so see the attachments of) a request with this upload attached. */
  async mayReadAttachment(em: EntityManager, viewer: Viewer, uploadId: string): Promise<boolean> {
    if (viewer.role !== Role.MANAGER || !viewer.departmentId) return false;
    const [row] = await em.execute(`SELECT 1 FROM leave_requests WHERE ? = ANY(attachment_ids) AND department_id = ? LIMIT 1`, [
      uploadId,
      viewer.departmentId,
    ]);
    return Boolean(row);
  }

  private decide(scope: RequestScope, id: string, action: 'approve' | 'reject', comment?: string | null): Promise<LeaveRequest> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const leave = await lockLeave(em, id);
      // Scheduling and swaps of this agent wait for the decision (and it for them): see lockAgents.
      await lockAgents(em, [leave.requesterId]);
      if (leave.requesterId === viewer.id) throw new Forbidden('Nobody decides their own leave request');
      if (!managesDepartment(viewer, leave.departmentId)) throw new Forbidden('Managers decide for their own department only');
      leave.status = LEAVE_FLOW.next(leave.status, action);
      leave.decidedById = viewer.id;
      leave.decidedAt = new Date();
      leave.decisionComment = comment?.trim() || null;
      let marked = 0;
      if (action === 'approve') marked = await markSchedulesOnLeave(em, leave);
      this.audit.record(em, scope, {
        action: `leave.${action}`,
        targetType: 'LeaveRequest',
        targetId: leave.id,
        summary: action === 'approve' ? `Approved; ${marked} schedule(s) marked ON_LEAVE` : 'Rejected',
        comment: leave.decisionComment,
      });
      this.tellRequester(
        em,
        afterCommit,
        leave,
        action === 'approve' ? 'notification.leaveApproved.title' : 'notification.leaveRejected.title',
        comment,
      );
      await em.flush();
      return leave;
    });
  }

  private tellRequester(em: EntityManager, afterCommit: AfterCommit, leave: LeaveRequest, title: MessageId, comment?: string | null): void {
    this.notifications.notify(em, afterCommit, {
      userId: leave.requesterId,
      kind: 'LEAVE_DECIDED',
      title: { id: title },
      body: {
        id: 'notification.leaveDecided.body',
        params: {
          period: `${leave.startDate} ${leave.startHalf} – ${leave.endDate} ${leave.endHalf}`,
          status: leave.status,
          comment: comment?.trim() ? ` — ${comment.trim()}` : '',
        },
      },
    });
  }
}

async function lockLeave(em: EntityManager, id: string): Promise<LeaveRequest> {
  const leave = isUuid(id) ? await em.findOne(LeaveRequest, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
  if (!leave) throw new NotFound('Leave request', id);
  return leave;
}

/** Managers of the requester's department, or the admins when it has none. */
async function approversOf(em: EntityManager, requester: User): Promise<string[]> {
  const managers = requester.departmentId
    ? await em.find(
        User,
        { role: Role.MANAGER, departmentId: requester.departmentId, active: true, id: { $ne: requester.id } },
        { fields: ['id'] },
      )
    : [];
  const approvers = managers.length
    ? managers
    : await em.find(User, { role: Role.ADMIN, active: true, id: { $ne: requester.id } }, { fields: ['id'] });
  return approvers.map((u) => u.id);
}

/** Every NORMAL schedule of the requester that intersects the leave becomes ON_LEAVE. */
async function markSchedulesOnLeave(em: EntityManager, leave: LeaveRequest): Promise<number> {
  const rows = await em.execute(
    `UPDATE schedules SET status = 'ON_LEAVE'
      WHERE agent_id = ? AND status = 'NORMAL' AND period && tstzrange(?, ?, '[)')
      RETURNING id`,
    [leave.requesterId, leave.startsAt, leave.endsAt],
  );
  return rows.length;
}

/** ON_LEAVE schedules of this leave go back to NORMAL, unless another approved leave still covers them. */
async function restoreSchedules(em: EntityManager, leave: LeaveRequest): Promise<number> {
  const rows = await em.execute(
    `UPDATE schedules s SET status = 'NORMAL'
      WHERE s.agent_id = ? AND s.status = 'ON_LEAVE' AND s.period && tstzrange(?, ?, '[)')
        AND NOT EXISTS (
          SELECT 1 FROM leave_requests l
           WHERE l.requester_id = s.agent_id AND l.status = 'APPROVED' AND l.id <> ? AND l.period && s.period)
      RETURNING s.id`,
    [leave.requesterId, leave.startsAt, leave.endsAt, leave.id],
  );
  return rows.length;
}
