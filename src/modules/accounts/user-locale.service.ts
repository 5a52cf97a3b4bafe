import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role } from '../../platform/auth/roles';
import type { SessionCache } from '../../platform/auth/session-cache';
import { signedIn } from '../../platform/auth/scope';
import { InvalidInput, Unauthenticated } from '../../platform/errors';
import { chooseLocale, Locale, supportedLocale, SUPPORTED_LOCALES } from '../../platform/i18n/locales';
import { localeOf } from '../../platform/i18n/request-locale';
import { User } from './user.entity';

/** The language a user reads ShiftDesk in (texts, errors, notifications, system messages to customers). */
export class UserLocaleService {
  constructor(private readonly sessions: SessionCache) {}

  /**
   * Stores the viewer's locale (`zh-CN`, `en`, or a tag meaning one of them such as `zh`, `en-GB`); null
   * clears it (Accept-Language, else the role's default). Anything else is BAD_USER_INPUT and stores nothing.
   */
  async setMyLocale(scope: RequestScope, requested: string | null): Promise<User> {
    const viewer = signedIn(scope.viewer);
    const locale = requested === null ? null : supportedLocale(requested);
    if (requested !== null && !locale) {
      throw new InvalidInput('locale', { id: 'error.unsupportedLocale', params: { supported: SUPPORTED_LOCALES.join(', ') } });
    }
    const user = await scope.em.findOne(User, { id: viewer.id });
    if (!user) throw new Unauthenticated();
    user.locale = locale;
    await scope.em.flush();
    // The viewer (and its locale) is cached per process: this one reads the row again at once, the others
    // within SESSION_CACHE_SECONDS. Not revokeEverywhere: that would also close the user's sockets.
    this.sessions.revoke(viewer.id);
    return user;
  }
}

/**
 * The language a customer reads system messages in: their stored locale, else what they asked for (`requested`,
 * e.g. the locale their conversation began in), else zh-CN.
 */
export async function customerLocale(em: EntityManager, customerId: string, requested: string | null = null): Promise<Locale> {
  const row = await em.findOne(User, { id: customerId }, { fields: ['locale'] });
  return chooseLocale(row?.locale, requested, Role.CUSTOMER).locale;
}

/** The customer's language for a text written during `scope`'s request: the request's own when they make it. */
export function customerLocaleIn(scope: RequestScope, em: EntityManager, customerId: string): Promise<Locale> {
  return scope.viewer?.id === customerId ? Promise.resolve(localeOf(scope)) : customerLocale(em, customerId);
}
