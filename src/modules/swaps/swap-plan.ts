import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Role, Viewer } from '../../platform/auth/roles';
import { managesDepartment } from '../../platform/auth/scope';
import { violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { User } from '../accounts/user.entity';
import { Schedule } from '../scheduling/schedule.entity';
import { Shift } from '../scheduling/shift.entity';
import { SwapConflict, SwapConflictReason } from './swap.inputs';

/* A swap's plan: the requested steps resolved against the database, checked for scope, and applied at once. */

/** The steps resolved against the database. */
export interface Plan {
  steps: Array<{ position: number; schedule: Schedule; shift: Shift; from: User; to: User }>;
  people: Map<string, User>;
}

/** Resolves steps to schedules, shifts and people; structural mistakes are BAD_USER_INPUT. */
export async function resolvePlan(em: EntityManager, input: { steps: Array<{ scheduleId: string; toAgentId: string }> }): Promise<Plan> {
  const { steps } = input;
  if (!steps.length) throw new InvalidInput('steps', 'must have at least one step');
  const ids = steps.map((s) => s.scheduleId);
  if (new Set(ids).size !== ids.length) throw new InvalidInput('steps', 'hand the same schedule more than once');
  for (const s of steps) {
    if (!isUuid(s.scheduleId)) throw new NotFound('Schedule', s.scheduleId);
    if (!isUuid(s.toAgentId)) throw new InvalidInput('steps.toAgentId', `${s.toAgentId} is not an agent`);
  }
  const schedules = new Map((await em.find(Schedule, { id: { $in: ids } })).map((s) => [s.id, s]));
  const missing = ids.find((id) => !schedules.has(id));
  if (missing) throw new NotFound('Schedule', missing);
  const peopleIds = [...new Set([...steps.map((s) => s.toAgentId), ...[...schedules.values()].map((s) => s.agentId)])];
  const people = new Map((await em.find(User, { id: { $in: peopleIds } })).map((u) => [u.id, u]));
  const shifts = new Map(
    (await em.find(Shift, { id: { $in: [...new Set([...schedules.values()].map((s) => s.shiftId))] } })).map((s) => [s.id, s]),
  );
  return {
    people,
    steps: steps.map((step, i) => {
      const schedule = schedules.get(step.scheduleId)!;
      const to = people.get(step.toAgentId);
      if (!to || (to.role !== Role.AGENT && to.role !== Role.MANAGER))
        throw new InvalidInput('steps.toAgentId', `${step.toAgentId} is not an agent`);
      if (to.id === schedule.agentId) throw new InvalidInput('steps', `step ${i + 1} gives a schedule to its own owner`);
      return { position: i + 1, schedule, shift: shifts.get(schedule.shiftId)!, from: people.get(schedule.agentId)!, to };
    }),
  };
}

/** Participants may ask; managers also for their own department's people; admins for anyone. */
export function scopeConflicts(viewer: Viewer, plan: Plan): SwapConflict[] {
  if (viewer.role === Role.ADMIN || plan.people.has(viewer.id)) return [];
  const outside =
    viewer.role === Role.MANAGER
      ? plan.steps.filter((s) => !managesDepartment(viewer, s.from.departmentId) || !managesDepartment(viewer, s.to.departmentId))
      : plan.steps;
  return outside.map((s) => ({
    scheduleId: s.schedule.id,
    toAgentId: s.to.id,
    reason: SwapConflictReason.OUT_OF_SCOPE,
    message: 'You neither take part in this step nor manage both agents',
  }));
}

/**
 * Hands every schedule over at once: first all originals become SWAPPED_OUT (so a rotation never meets
 * itself in the exclusion constraint), then the receivers' schedules are inserted and linked both ways.
 * Returns the new schedule ids in step order.
 */
export async function applySteps(em: EntityManager, plan: Plan, approverId: string): Promise<string[]> {
  const originals = plan.steps.map((s) => s.schedule.id);
  await em.execute(`UPDATE schedules SET status = 'SWAPPED_OUT' WHERE id IN (${originals.map(() => '?').join(',')})`, originals);
  const newIds = plan.steps.map(() => randomUUID());
  try {
    for (const [i, s] of plan.steps.entries()) {
      await em.execute(
        `INSERT INTO schedules (id, agent_id, shift_id, date, starts_at, ends_at, status, replacing_id, created_by_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'NORMAL', ?, ?, now())`,
        [newIds[i], s.to.id, s.schedule.shiftId, s.schedule.date, s.schedule.startsAt, s.schedule.endsAt, s.schedule.id, approverId],
      );
      await em.execute(`UPDATE schedules SET replaced_by_id = ? WHERE id = ?`, [newIds[i], s.schedule.id]);
    }
  } catch (err) {
    if (violatedConstraint(err)?.constraint === 'schedules_no_overlap') {
      throw new Conflict(ConflictReason.OVERLAP, 'A receiver would work two overlapping schedules; nothing was changed');
    }
    throw err;
  }
  return newIds;
}

/** One line per step, for the audit and the notifications. */
export function describe(plan: Plan): string {
  return plan.steps.map((s) => `${s.schedule.date} ${s.shift.code}: ${s.from.displayName} → ${s.to.displayName}`).join('; ');
}
