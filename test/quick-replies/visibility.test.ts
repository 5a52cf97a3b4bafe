import { Role, Viewer } from '../../src/platform/auth/roles';
import { QuickReplyScope } from '../../src/modules/quick-replies/quick-reply.entity';
import {
  canUseQuickReply,
  quickReplyEditAccess,
  quickReplyPlacement,
  quickReplyVisibility,
} from '../../src/modules/quick-replies/quick-reply.service';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

const admin: Viewer = { id: 'admin', role: Role.ADMIN, departmentId: null };
const managerA: Viewer = { id: 'managerA', role: Role.MANAGER, departmentId: A };
const managerB: Viewer = { id: 'managerB', role: Role.MANAGER, departmentId: B };
const agentA: Viewer = { id: 'agentA', role: Role.AGENT, departmentId: A };
const agentA2: Viewer = { id: 'agentA2', role: Role.AGENT, departmentId: A };
const agentB: Viewer = { id: 'agentB', role: Role.AGENT, departmentId: B };
const loneAgent: Viewer = { id: 'lone', role: Role.AGENT, departmentId: null };
const customer: Viewer = { id: 'customer', role: Role.CUSTOMER, departmentId: null };

const personalOfAgentA = { scope: QuickReplyScope.PERSONAL, ownerId: 'agentA', departmentId: null };
const personalOfAdmin = { scope: QuickReplyScope.PERSONAL, ownerId: 'admin', departmentId: null };
const departmentA = { scope: QuickReplyScope.DEPARTMENT, ownerId: 'managerA', departmentId: A };
const publicReply = { scope: QuickReplyScope.PUBLIC, ownerId: 'admin', departmentId: null };

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return String((err as { extensions?: { code?: string } }).extensions?.code);
  }
};

describe('quick reply rules', () => {
  it('use (list, send): own PERSONAL, own department’s, every PUBLIC; admins every department’s; customers none', () => {
    const table = [agentA, agentA2, agentB, loneAgent, managerA, managerB, admin, customer].map((v) => [
      v.id,
      [personalOfAgentA, personalOfAdmin, departmentA, publicReply].map((r) => canUseQuickReply(v, r)),
    ]);
    expect(table).toEqual([
      ['agentA', [true, false, true, true]],
      ['agentA2', [false, false, true, true]],
      ['agentB', [false, false, false, true]],
      ['lone', [false, false, false, true]],
      ['managerA', [false, false, true, true]],
      ['managerB', [false, false, false, true]],
      ['admin', [false, true, true, true]],
      ['customer', [false, false, false, false]],
    ]);
  });

  it('edit and delete: PERSONAL only the owner (NOT_FOUND to others, admins too); DEPARTMENT its manager or admins; PUBLIC admins', () => {
    const table = [agentA, agentA2, agentB, managerA, managerB, admin, customer].map((v) => [
      v.id,
      [personalOfAgentA, personalOfAdmin, departmentA, publicReply].map((r) => quickReplyEditAccess(v, r)),
    ]);
    expect(table).toEqual([
      ['agentA', ['ok', 'not-found', 'forbidden', 'forbidden']],
      ['agentA2', ['not-found', 'not-found', 'forbidden', 'forbidden']],
      ['agentB', ['not-found', 'not-found', 'forbidden', 'forbidden']],
      ['managerA', ['not-found', 'not-found', 'ok', 'forbidden']],
      ['managerB', ['not-found', 'not-found', 'forbidden', 'forbidden']],
      ['admin', ['not-found', 'ok', 'ok', 'ok']],
      ['customer', ['forbidden', 'forbidden', 'forbidden', 'forbidden']],
    ]);
  });

  it('create: where a new reply goes, or why not', () => {
    const { PERSONAL, DEPARTMENT, PUBLIC } = QuickReplyScope;
    expect(quickReplyPlacement(agentA, PERSONAL)).toBeNull();
    expect(quickReplyPlacement(managerA, PERSONAL)).toBeNull();
    expect(quickReplyPlacement(admin, PERSONAL)).toBeNull();
    expect(code(() => quickReplyPlacement(agentA, PERSONAL, A))).toBe('BAD_USER_INPUT');
    expect(code(() => quickReplyPlacement(agentA, DEPARTMENT))).toBe('FORBIDDEN');
    expect(code(() => quickReplyPlacement(agentA, DEPARTMENT, A))).toBe('FORBIDDEN');
    expect(quickReplyPlacement(managerA, DEPARTMENT)).toBe(A);
    expect(quickReplyPlacement(managerA, DEPARTMENT, A)).toBe(A);
    expect(code(() => quickReplyPlacement(managerA, DEPARTMENT, B))).toBe('FORBIDDEN');
    expect(code(() => quickReplyPlacement({ ...managerA, departmentId: null }, DEPARTMENT))).toBe('FORBIDDEN');
    expect(quickReplyPlacement(admin, DEPARTMENT, B)).toBe(B);
    expect(code(() => quickReplyPlacement(admin, DEPARTMENT))).toBe('BAD_USER_INPUT');
    expect(quickReplyPlacement(admin, PUBLIC)).toBeNull();
    expect(code(() => quickReplyPlacement(admin, PUBLIC, A))).toBe('BAD_USER_INPUT');
    expect(code(() => quickReplyPlacement(managerA, PUBLIC))).toBe('FORBIDDEN');
    expect(code(() => quickReplyPlacement(agentA, PUBLIC))).toBe('FORBIDDEN');
    for (const scope of [PERSONAL, DEPARTMENT, PUBLIC]) expect(code(() => quickReplyPlacement(customer, scope))).toBe('FORBIDDEN');
  });

  it('lists: own PERSONAL, one department, PUBLIC; only admins name another department', () => {
    expect(quickReplyVisibility(agentA)).toEqual({
      $or: [{ scope: 'PERSONAL', ownerId: 'agentA' }, { scope: 'DEPARTMENT', departmentId: A }, { scope: 'PUBLIC' }],
    });
    expect(quickReplyVisibility(loneAgent)).toEqual({ $or: [{ scope: 'PERSONAL', ownerId: 'lone' }, { scope: 'PUBLIC' }] });
    expect(quickReplyVisibility(admin, B)).toEqual({
      $or: [{ scope: 'PERSONAL', ownerId: 'admin' }, { scope: 'DEPARTMENT', departmentId: B }, { scope: 'PUBLIC' }],
    });
    expect(code(() => quickReplyVisibility(managerA, A))).toBe('OK');
    expect(code(() => quickReplyVisibility(managerA, B))).toBe('FORBIDDEN');
    expect(code(() => quickReplyVisibility(agentA, B))).toBe('FORBIDDEN');
    expect(code(() => quickReplyVisibility(customer))).toBe('FORBIDDEN');
  });
});
