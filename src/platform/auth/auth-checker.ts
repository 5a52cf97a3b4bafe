import type { AuthChecker } from 'type-graphql';
import { Forbidden, Unauthenticated } from '../errors';
import type { Role, Viewer } from './roles';

/** The part of an operation's context that authorization reads. */
interface WithViewer {
  viewer: Viewer | null;
}

/**
 * `@Authorized()` = any signed-in user; `@Authorized(Role.ADMIN, ...)` = those roles only.
 * What a caller may see or touch beyond that is decided in the services.
 */
export const authChecker: AuthChecker<WithViewer, Role> = ({ context }, roles) => {
  if (!context.viewer) throw new Unauthenticated();
  if (roles.length > 0 && !roles.includes(context.viewer.role)) throw new Forbidden();
  return true;
};

export function requireViewer(ctx: WithViewer) {
  if (!ctx.viewer) throw new Unauthenticated();
  return ctx.viewer;
}
