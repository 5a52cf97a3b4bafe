import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { normaliseTags } from '../../platform/tags';
import { Department } from '../accounts/department.entity';
import { isUuid } from '../../platform/ids';
import type { AuditService } from '../audit/audit.service';
import type { HotCache } from '../../platform/cache/hot-cache';
import type { CreateShiftInput, UpdateShiftInput } from './shift.inputs';
import { Shift } from './shift.entity';

export class ShiftService {
  constructor(
    private readonly audit: AuditService,
    private readonly cache: HotCache,
  ) {}

  async create(scope: RequestScope, input: CreateShiftInput): Promise<Shift> {
    withRole(scope.viewer, Role.ADMIN);
    return this.cache.invalidateAfter(
      'shifts',
      inTransaction(scope.em, async (em) => {
        const shift = em.create(Shift, {
          name: input.name.trim(),
          code: input.code,
          startTime: input.startTime,
          endTime: input.endTime,
          departmentId: await checkDepartment(em, input.departmentId ?? null),
          requiredSkills: normaliseTags(input.requiredSkills ?? []),
          ...(input.color ? { color: input.color.toUpperCase() } : {}),
        });
        this.audit.record(em, scope, {
          action: 'shift.create',
          targetType: 'Shift',
          targetId: shift.id,
          summary: `Created shift ${shift.code} ${shift.startTime}–${shift.endTime}`,
        });
        await flushShift(em);
        return shift;
      }),
    );
  }

  /** Existing schedules keep the instants they were made with; new times apply to new schedules only. */
  async update(scope: RequestScope, id: string, input: UpdateShiftInput): Promise<Shift> {
    withRole(scope.viewer, Role.ADMIN);
    return this.cache.invalidateAfter(
      'shifts',
      inTransaction(scope.em, async (em) => {
        const shift = await findShift(em, id);
        const before = `${shift.startTime}–${shift.endTime}`;
        if (input.name != null) shift.name = input.name.trim();
        if (input.code != null) shift.code = input.code;
        if (input.startTime != null) shift.startTime = input.startTime;
        if (input.endTime != null) shift.endTime = input.endTime;
        if (input.departmentId != null) shift.departmentId = await checkDepartment(em, input.departmentId);
        if (input.requiredSkills != null) shift.requiredSkills = normaliseTags(input.requiredSkills);
        if (input.color != null) shift.color = input.color.toUpperCase();
        const after = `${shift.startTime}–${shift.endTime}`;
        this.audit.record(em, scope, {
          action: 'shift.update',
          targetType: 'Shift',
          targetId: shift.id,
          summary:
            before === after
              ? `Updated shift ${shift.code}`
              : `Updated shift ${shift.code}: ${before} → ${after} (existing schedules unchanged)`,
        });
        await flushShift(em);
        return shift;
      }),
    );
  }

  async archive(scope: RequestScope, id: string): Promise<Shift> {
    withRole(scope.viewer, Role.ADMIN);
    return this.cache.invalidateAfter(
      'shifts',
      inTransaction(scope.em, async (em) => {
        const shift = await findShift(em, id);
        if (!shift.archived) {
          shift.archived = true;
          this.audit.record(em, scope, {
            action: 'shift.archive',
            targetType: 'Shift',
            targetId: shift.id,
            summary: `Archived shift ${shift.code}`,
          });
          await em.flush();
        }
        return shift;
      }),
    );
  }

  /** Staff: the shifts of a department plus those shared by all departments. */
  list(scope: RequestScope, departmentId: string | null | undefined, includeArchived: boolean): Promise<Shift[]> {
    const viewer = withRole(scope.viewer, ...STAFF);
    if (viewer.role !== Role.ADMIN && departmentId && departmentId !== viewer.departmentId) {
      throw new Forbidden('You see the shifts of your own department only');
    }
    const where: FilterQuery<Shift> = {};
    const department = departmentId ?? (viewer.role === Role.ADMIN ? null : viewer.departmentId);
    if (department) where.$or = [{ departmentId: department }, { departmentId: null }];
    if (!includeArchived) where.archived = false;
    return this.cache.get('shifts', `${department ?? '*'}:${includeArchived}`, () =>
      scope.em.fork().find(Shift, where, { orderBy: { startTime: 'asc', code: 'asc' } }),
    );
  }
}

export async function findShift(em: EntityManager, id: string): Promise<Shift> {
  const shift = isUuid(id) ? await em.findOne(Shift, { id }) : null;
  if (!shift) throw new NotFound('Shift', id);
  return shift;
}

async function checkDepartment(em: EntityManager, id: string | null): Promise<string | null> {
  if (!id) return null;
  if (!isUuid(id) || !(await em.findOne(Department, { id }, { fields: ['id'] }))) {
    throw new InvalidInput('departmentId', 'is not a known department');
  }
  return id;
}

async function flushShift(em: EntityManager): Promise<void> {
  try {
    await em.flush();
  } catch (err) {
    if (violatedConstraint(err)?.constraint === 'shifts_code_key') {
      throw new Conflict(ConflictReason.ALREADY_EXISTS, 'code is already taken', {
        fields: [{ field: 'code', message: 'is already taken' }],
      });
    }
    throw err;
  }
}
