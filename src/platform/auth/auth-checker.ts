import type { AuthChecker } from 'type-graphql';
import type { Context } from '../../context';
import { Forbidden, Unauthenticated } from '../errors';
import type { Role } from './roles';

/**
 * `@Authorized()` = any signed-in user; `@Authorized(Role.ADMIN, ...)` = those roles only.
 * What a caller may see or touch beyond that is decided in the services.
 */
export const authChecker: AuthChecker<Context, Role> = ({ context }, roles) => {
  if (!context.viewer) throw new Unauthenticated();
  if (roles.length > 0 && !roles.includes(context.viewer.role)) throw new Forbidden();
  return true;
};

export function requireViewer(ctx: Pick<Context, 'viewer'>) {
  if (!ctx.viewer) throw new Unauthenticated();
  return ctx.viewer;
}
