import { Forbidden, Unauthenticated } from '../errors';
import { Role, Viewer } from './roles';

/** The signed-in viewer, or UNAUTHENTICATED. */
export function signedIn(viewer: Viewer | null): Viewer {
  if (!viewer) throw new Unauthenticated();
  return viewer;
}

/** The viewer when they have one of `roles`, else FORBIDDEN. */
export function withRole(viewer: Viewer | null, ...roles: Role[]): Viewer {
  const v = signedIn(viewer);
  if (!roles.includes(v.role)) throw new Forbidden();
  return v;
}

/** Admins manage every department; managers their own; nobody else any. */
export function managesDepartment(viewer: Viewer, departmentId: string | null): boolean {
  if (viewer.role === Role.ADMIN) return true;
  return viewer.role === Role.MANAGER && departmentId !== null && departmentId === viewer.departmentId;
}

/**
 * The department a staff list is limited to: null for admins (all), the manager's own department, and
 * FORBIDDEN when a manager asks for another one.
 */
export function departmentScope(viewer: Viewer, requested?: string | null): string | null {
  if (viewer.role === Role.ADMIN) return requested ?? null;
  if (viewer.role === Role.MANAGER) {
    if (requested && requested !== viewer.departmentId) throw new Forbidden('Managers see their own department only');
    return viewer.departmentId;
  }
  throw new Forbidden();
}
