import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF, Viewer } from '../../platform/auth/roles';
import { managesDepartment, withRole } from '../../platform/auth/scope';
import { lockAgents } from '../../platform/db/agent-locks';
import { AfterCommit, inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, NotFound } from '../../platform/errors';
import type { MessageId } from '../../platform/i18n/catalogue';
import { Page, paginate } from '../../platform/pagination';
import { TransitionTable } from '../../platform/state-machine';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import type { AuditService } from '../audit/audit.service';
import type { NotificationService } from '../notifications/notification.service';
import { Schedule, ScheduleStatus } from '../scheduling/schedule.entity';
import type { LeaveLookup } from '../scheduling/schedule.service';
import { SwapRequest, SwapStatus, SwapStep } from './swap.entity';
import { SwapCandidate, SwapCheck, SwapConflict, SwapConflictReason, SwapFilter, SwapInput } from './swap.inputs';
import { HOUR, SwapRules, workRuleConflicts } from './swap-rules';
import { applySteps, describe, Plan, resolvePlan, scopeConflicts } from './swap-plan';

type SwapAction = 'approve' | 'reject' | 'cancel';

export const SWAP_FLOW = new TransitionTable<SwapStatus, SwapAction>('The swap request', {
  approve: { from: [SwapStatus.PENDING], to: SwapStatus.APPROVED },
  reject: { from: [SwapStatus.PENDING], to: SwapStatus.REJECTED },
  cancel: { from: [SwapStatus.PENDING], to: SwapStatus.CANCELLED },
});

export class SwapService {
  constructor(
    private readonly audit: AuditService,
    private readonly notifications: NotificationService,
    private readonly leave: LeaveLookup,
    private readonly rules: SwapRules,
  ) {}

  /** The conflicts the steps would meet, writing nothing. */
  async check(scope: RequestScope, input: SwapInput): Promise<SwapCheck> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const plan = await resolvePlan(scope.em, input);
    const conflicts = [...scopeConflicts(viewer, plan), ...(await this.conflicts(scope.em, plan, null))];
    return { ok: conflicts.length === 0, conflicts };
  }

  /** Creates a pending request; any conflict refuses it (CONFLICT with `extensions.conflicts`). */
  async request(scope: RequestScope, input: SwapInput): Promise<SwapRequest> {
    const viewer = withRole(scope.viewer, ...STAFF);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const plan = await resolvePlan(em, input);
      const scopeProblems = scopeConflicts(viewer, plan);
      if (scopeProblems.length) throw new Forbidden('You may request swaps you take part in, or (managers) within your department');
      const conflicts = await this.conflicts(em, plan, null);
      if (conflicts.length)
        throw new Conflict(ConflictReason.SCHEDULE_CONFLICTS, 'The swap has conflicts; see extensions.conflicts (or ask checkSwap)', {
          conflicts,
        });

      const people = [...plan.people.values()];
      const swap = em.create(SwapRequest, {
        requesterId: viewer.id,
        reason: input.reason?.trim() ?? '',
        participantIds: people.map((p) => p.id),
        departmentIds: [...new Set(people.map((p) => p.departmentId).filter((d): d is string => d !== null))],
      });
      await em.flush(); // the request row first: its steps reference it
      for (const s of plan.steps) {
        em.create(SwapStep, {
          swapRequestId: swap.id,
          position: s.position,
          scheduleId: s.schedule.id,
          fromAgentId: s.from.id,
          toAgentId: s.to.id,
        });
      }
      this.audit.record(em, scope, {
        action: 'swap.request',
        targetType: 'SwapRequest',
        targetId: swap.id,
        summary: describe(plan),
        comment: swap.reason || null,
      });
      const approvers = await approversOf(em, swap.departmentIds, viewer.id);
      const told = new Set([...approvers, ...swap.participantIds.filter((id) => id !== viewer.id)]);
      for (const userId of told) {
        this.notifications.notify(em, afterCommit, {
          userId,
          kind: 'SWAP_REQUESTED',
          title: { id: 'notification.swapRequested.title' },
          body: describe(plan),
        });
      }
      try {
        await em.flush();
      } catch (err) {
        if (violatedConstraint(err)?.constraint === 'swap_steps_one_pending_swap') {
          throw new Conflict(ConflictReason.IN_ANOTHER_SWAP, 'A schedule of this swap is already in another pending swap');
        }
        throw err;
      }
      return swap;
    });
  }

  /** Re-checks every step and applies all of them in one transaction, or none. */
  async approve(scope: RequestScope, id: string, comment?: string | null): Promise<SwapRequest> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const { swap, steps } = await lockSwap(em, id);
      checkApprover(viewer, swap);
      const status = SWAP_FLOW.next(swap.status, 'approve');
      // Lock the givers and receivers (their leave and schedules), then the schedules, then re-check
      // against what the database holds now.
      await lockAgents(
        em,
        steps.flatMap((s) => [s.fromAgentId, s.toAgentId]),
      );
      await em.find(
        Schedule,
        { id: { $in: steps.map((s) => s.scheduleId) } },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
      );
      const plan = await resolvePlan(em, { steps: steps.map((s) => ({ scheduleId: s.scheduleId, toAgentId: s.toAgentId })) });
      const conflicts = await this.conflicts(em, plan, swap.id);
      if (conflicts.length)
        throw new Conflict(ConflictReason.SCHEDULE_CONFLICTS, 'The swap no longer fits the schedules; nothing was changed', { conflicts });

      const newIds = await applySteps(em, plan, viewer.id);
      for (const [i, step] of steps.entries()) {
        step.newScheduleId = newIds[i];
        step.requestStatus = status;
      }
      swap.status = status;
      swap.decidedById = viewer.id;
      swap.decidedAt = new Date();
      swap.decisionComment = comment?.trim() || null;
      this.audit.record(em, scope, {
        action: 'swap.approve',
        targetType: 'SwapRequest',
        targetId: swap.id,
        summary: `Applied: ${describe(plan)}`,
        comment: swap.decisionComment,
      });
      this.tellEveryone(em, afterCommit, swap, 'notification.swapApproved.title', describe(plan));
      await em.flush();
      return swap;
    });
  }

  async reject(scope: RequestScope, id: string, comment?: string | null): Promise<SwapRequest> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    return this.close(scope, id, 'reject', comment, (swap) => checkApprover(viewer, swap));
  }

  /** The requester (or an admin) withdraws a pending request. */
  async cancel(scope: RequestScope, id: string, comment?: string | null): Promise<SwapRequest> {
    const viewer = withRole(scope.viewer, ...STAFF);
    return this.close(scope, id, 'cancel', comment, (swap) => {
      if (swap.requesterId !== viewer.id && viewer.role !== Role.ADMIN)
        throw new Forbidden('Only the requester (or an admin) cancels a swap request');
    });
  }

  async get(scope: RequestScope, id: string): Promise<SwapRequest> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const swap = isUuid(id) ? await scope.em.findOne(SwapRequest, { id }) : null;
    if (!swap) throw new NotFound('Swap request', id);
    if (!canSee(viewer, swap)) throw new Forbidden();
    return swap;
  }

  /** Agents: swaps they take part in; managers: those touching their department; admins: all. */
  list(scope: RequestScope, filter: SwapFilter, first: number, after?: string | null): Promise<Page<SwapRequest>> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const where: FilterQuery<SwapRequest> = {};
    if (viewer.role === Role.AGENT) where.participantIds = { $contains: [viewer.id] };
    if (viewer.role === Role.MANAGER) where.departmentIds = { $contains: [viewer.departmentId!] };
    if (filter.participantId) {
      if (viewer.role === Role.AGENT && filter.participantId !== viewer.id) throw new Forbidden('Agents see their own swaps only');
      where.$and = [{ participantIds: { $contains: [filter.participantId] } }];
    }
    if (filter.status) where.status = filter.status;
    return paginate(scope.em, SwapRequest, where, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** Agents of the schedule owner's department who work that date, with their schedules. */
  async candidates(scope: RequestScope, scheduleId: string): Promise<SwapCandidate[]> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const schedule = isUuid(scheduleId) ? await scope.em.findOne(Schedule, { id: scheduleId }) : null;
    if (!schedule) throw new NotFound('Schedule', scheduleId);
    const owner = await scope.em.findOneOrFail(User, { id: schedule.agentId });
    if (owner.id !== viewer.id && !managesDepartment(viewer, owner.departmentId)) throw new Forbidden();
    const sameDay = await scope.em.find(
      Schedule,
      { date: schedule.date, status: { $ne: ScheduleStatus.SWAPPED_OUT }, agentId: { $ne: owner.id } },
      { orderBy: { startsAt: 'asc' } },
    );
    const agentIds = [...new Set(sameDay.map((s) => s.agentId))];
    const agents = await scope.em.find(User, {
      id: { $in: agentIds },
      departmentId: owner.departmentId,
      active: true,
      role: { $in: [Role.AGENT, Role.MANAGER] },
    });
    const pending = new Set(
      (
        await scope.em.find(
          SwapStep,
          { scheduleId: { $in: sameDay.map((s) => s.id) }, requestStatus: SwapStatus.PENDING },
          { fields: ['scheduleId'] },
        )
      ).map((s) => s.scheduleId),
    );
    return agents
      .sort((a, b) => (a.employeeCode ?? a.displayName).localeCompare(b.employeeCode ?? b.displayName))
      .map((agent) => {
        const schedules = sameDay.filter((s) => s.agentId === agent.id);
        return { agent, schedules, hasPendingSwap: schedules.some((s) => pending.has(s.id)) };
      });
  }

  steps(em: EntityManager, swapId: string): Promise<SwapStep[]> {
    return em.find(SwapStep, { swapRequestId: swapId }, { orderBy: { position: 'asc' } });
  }

  private async close(
    scope: RequestScope,
    id: string,
    action: 'reject' | 'cancel',
    comment: string | null | undefined,
    authorize: (swap: SwapRequest) => void,
  ): Promise<SwapRequest> {
    return inTransaction(scope.em, async (em, afterCommit) => {
      const { swap, steps } = await lockSwap(em, id);
      authorize(swap);
      swap.status = SWAP_FLOW.next(swap.status, action);
      for (const step of steps) step.requestStatus = swap.status;
      if (action === 'reject') {
        swap.decidedById = scope.viewer!.id;
        swap.decidedAt = new Date();
        swap.decisionComment = comment?.trim() || null;
      }
      this.audit.record(em, scope, {
        action: `swap.${action}`,
        targetType: 'SwapRequest',
        targetId: swap.id,
        summary: action === 'reject' ? 'Rejected' : 'Cancelled',
        comment: comment?.trim() || null,
      });
      this.tellEveryone(
        em,
        afterCommit,
        swap,
        action === 'reject' ? 'notification.swapRejected.title' : 'notification.swapCancelled.title',
        comment?.trim() ?? '',
      );
      await em.flush();
      return swap;
    });
  }

  /** Conflicts of a plan against the database (ignoring `swapId`'s own pending steps). */
  private async conflicts(em: EntityManager, plan: Plan, swapId: string | null): Promise<SwapConflict[]> {
    const out: SwapConflict[] = [];
    const now = new Date();
    const add = (step: Plan['steps'][number], reason: SwapConflictReason, message: string, conflictingScheduleId: string | null = null) =>
      out.push({ scheduleId: step.schedule.id, toAgentId: step.to.id, reason, message, conflictingScheduleId });

    const scheduleIds = plan.steps.map((s) => s.schedule.id);
    const pendingElsewhere = new Set(
      (
        await em.find(
          SwapStep,
          { scheduleId: { $in: scheduleIds }, requestStatus: SwapStatus.PENDING, ...(swapId ? { swapRequestId: { $ne: swapId } } : {}) },
          { fields: ['scheduleId'] },
        )
      ).map((s) => s.scheduleId),
    );
    const from = new Date(Math.min(...plan.steps.map((s) => s.schedule.startsAt.getTime())));
    const to = new Date(Math.max(...plan.steps.map((s) => s.schedule.endsAt.getTime())));
    const receivers = [...new Set(plan.steps.map((s) => s.to.id))];
    const leave = await this.leave.approvedLeave(em, receivers, from, to);
    // After the whole rotation a receiver keeps their schedules minus those they hand on, plus those they get.
    const handedOn = new Set(scheduleIds);
    const kept = await em.find(Schedule, {
      agentId: { $in: receivers },
      status: { $ne: ScheduleStatus.SWAPPED_OUT },
      startsAt: { $lt: to },
      endsAt: { $gt: from },
      id: { $nin: scheduleIds },
    });

    for (const step of plan.steps) {
      const s = step.schedule;
      if (s.status !== ScheduleStatus.NORMAL) add(step, SwapConflictReason.NOT_NORMAL, `The schedule is ${s.status}`);
      if (s.startsAt <= now) add(step, SwapConflictReason.ALREADY_STARTED, 'The schedule has already started');
      if (pendingElsewhere.has(s.id)) add(step, SwapConflictReason.PENDING_SWAP, 'The schedule is already in another pending swap');
      if (!step.to.active) add(step, SwapConflictReason.INACTIVE_AGENT, 'The receiver is deactivated');
      const missing = step.shift.requiredSkills.filter((k) => !step.to.skills.includes(k));
      if (missing.length) add(step, SwapConflictReason.MISSING_SKILL, `The receiver lacks ${missing.join(', ')}`);
      if ((leave.get(step.to.id) ?? []).some((l) => l.start < s.endsAt && s.startsAt < l.end)) {
        add(step, SwapConflictReason.ON_LEAVE, 'The receiver is on approved leave then');
      }
      const clash =
        kept.find((k) => k.agentId === step.to.id && !handedOn.has(k.id) && k.startsAt < s.endsAt && s.startsAt < k.endsAt) ??
        plan.steps.find((o) => o !== step && o.to.id === step.to.id && o.schedule.startsAt < s.endsAt && s.startsAt < o.schedule.endsAt)
          ?.schedule;
      if (clash)
        add(step, SwapConflictReason.OVERLAP, `After the swap the receiver would work two overlapping schedules (${clash.date})`, clash.id);
      if (s.startsAt > now && s.startsAt.getTime() - now.getTime() < this.rules.minNoticeHours * HOUR) {
        add(step, SwapConflictReason.NOT_ENOUGH_NOTICE, `The shift starts in less than ${this.rules.minNoticeHours} hours`);
      }
    }
    out.push(...(await workRuleConflicts(em, plan.steps, this.rules)));
    return out;
  }

  private tellEveryone(em: EntityManager, afterCommit: AfterCommit, swap: SwapRequest, title: MessageId, body: string): void {
    for (const userId of new Set([swap.requesterId, ...swap.participantIds])) {
      this.notifications.notify(em, afterCommit, { userId, kind: 'SWAP_DECIDED', title: { id: title }, body: body || swap.status });
    }
  }
}

function checkApprover(viewer: Viewer, swap: SwapRequest): void {
  if (swap.participantIds.includes(viewer.id) || swap.requesterId === viewer.id)
    throw new Forbidden('Nobody decides a swap they take part in or asked for');
  if (viewer.role !== Role.ADMIN && !(viewer.departmentId && swap.departmentIds.every((d) => d === viewer.departmentId))) {
    throw new Forbidden('Every participant must be in your department');
  }
}

function canSee(viewer: Viewer, swap: SwapRequest): boolean {
  if (viewer.role === Role.ADMIN || swap.requesterId === viewer.id || swap.participantIds.includes(viewer.id)) return true;
  return viewer.role === Role.MANAGER && viewer.departmentId !== null && swap.departmentIds.includes(viewer.departmentId);
}

async function lockSwap(em: EntityManager, id: string): Promise<{ swap: SwapRequest; steps: SwapStep[] }> {
  const swap = isUuid(id) ? await em.findOne(SwapRequest, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
  if (!swap) throw new NotFound('Swap request', id);
  const steps = await em.find(SwapStep, { swapRequestId: swap.id }, { orderBy: { position: 'asc' } });
  return { swap, steps };
}

/** Managers of the departments involved, or the admins when there are none. */
async function approversOf(em: EntityManager, departmentIds: string[], except: string): Promise<string[]> {
  const managers = departmentIds.length
    ? await em.find(
        User,
        { role: Role.MANAGER, departmentId: { $in: departmentIds }, active: true, id: { $ne: except } },
        { fields: ['id'] },
      )
    : [];
  const approvers = managers.length
    ? managers
    : await em.find(User, { role: Role.ADMIN, active: true, id: { $ne: except } }, { fields: ['id'] });
  return approvers.map((u) => u.id);
}
