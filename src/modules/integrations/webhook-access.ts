import type { Viewer } from '../../platform/auth/roles';
import { managesDepartment } from '../../platform/auth/scope';

/**
 * Who may manage (create, see, change, delete, redeliver) a webhook of `departmentId` (null: every
 * department): admins any; managers their own department's. The one place to extend (API keys with
 * `webhooks:manage`).
 */
export function mayManageWebhooks(viewer: Viewer, departmentId: string | null): boolean {
  return managesDepartment(viewer, departmentId);
}
