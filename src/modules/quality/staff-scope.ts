import type { EntityManager } from '@mikro-orm/postgresql';
import { isUUID } from 'class-validator';
import { Role, Viewer } from '../../platform/auth/roles';
import { Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';

/**
 * What the quality services need of a request (the GraphQL Context has it). Declared here rather than imported
 * from context.ts, which imports every service: this module adds no import cycle, type-only ones included.
 */
export interface QualityRequest {
  viewer: Viewer | null;
  em: EntityManager;
  traceId: string;
}

export const isUuid = (s: string): boolean => isUUID(s);

export interface StaffScope {
  /** The department whose averages stand beside the agents (the agent's own when one agent is asked for). */
  departmentId: string | null;
  agentIds: string[];
}

/**
 * Whom a quality or adherence question is about: one agent (`agentId`) or a department's active agents.
 * Admins: anyone (naming one of the two); managers: their department (the default); agents: themselves, and
 * only where `agentsSeeOwn` (adherence), else FORBIDDEN (quality).
 */
export async function staffScope(
  em: EntityManager,
  viewer: Viewer,
  args: { agentId?: string | null; departmentId?: string | null },
  opts: { agentsSeeOwn: boolean },
): Promise<StaffScope> {
  if (viewer.role === Role.CUSTOMER) throw new Forbidden();
  if (viewer.role === Role.AGENT) {
    if (!opts.agentsSeeOwn) throw new Forbidden('Agents do not see quality figures; supervisors do');
    if ((args.agentId && args.agentId !== viewer.id) || args.departmentId) throw new Forbidden('Agents see their own adherence only');
    return { departmentId: viewer.departmentId, agentIds: [viewer.id] };
  }
  if (args.agentId && args.departmentId) throw new InvalidInput('agentId', 'give agentId or departmentId, not both');
  if (args.agentId) {
    const agent = isUuid(args.agentId)
      ? await em.findOne(User, { id: args.agentId, role: Role.AGENT }, { fields: ['id', 'departmentId'] })
      : null;
    if (!agent) throw new NotFound('Agent', args.agentId);
    if (viewer.role === Role.MANAGER && agent.departmentId !== viewer.departmentId)
      throw new Forbidden('Managers see their own department only');
    return { departmentId: agent.departmentId ?? null, agentIds: [agent.id] };
  }
  let departmentId = args.departmentId ?? null;
  if (viewer.role === Role.MANAGER) {
    if (departmentId && departmentId !== viewer.departmentId) throw new Forbidden('Managers see their own department only');
    departmentId = viewer.departmentId;
  }
  if (!departmentId) throw new InvalidInput('departmentId', 'give agentId or departmentId');
  if (!isUuid(departmentId) || !(await em.findOne(Department, { id: departmentId }, { fields: ['id'] })))
    throw new NotFound('Department', departmentId);
  const agents = await em.find(
    User,
    { departmentId, role: Role.AGENT, active: true },
    { fields: ['id'], orderBy: { employeeCode: 'asc', displayName: 'asc', id: 'asc' } },
  );
  return { departmentId, agentIds: agents.map((a) => a.id) };
}
