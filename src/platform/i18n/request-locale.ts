import type { ApolloServerPlugin } from '@apollo/server';
import type { Viewer } from '../auth/roles';
import { ChosenLocale, chooseLocale, Locale, SUPPORTED_LOCALES } from './locales';

/** What an operation's context tells about its locale: an HTTP request's Accept-Language is `requestedLocale`. */
export interface LocaleScope {
  viewer: Viewer | null;
  requestedLocale?: string | null;
}

/**
 * The locale of each HTTP operation, fixed when it starts (localePlugin), by the context Apollo runs it with;
 * with whose locale it is: a service acting for someone else in the request (a channel's customer) has its own.
 */
const chosenByOperation = new WeakMap<object, { chosen: ChosenLocale; chosenFor: string | null }>();

/** The locale a graphql-ws operation asked for (connection_init `locale`), by its context. */
const requestedBySocket = new WeakMap<object, string>();

/** A graphql-ws operation's context asked for `locale` in its connection_init payload. */
export function rememberRequestedLocale(context: object, locale: unknown): void {
  if (typeof locale === 'string') requestedBySocket.set(context, locale);
}

/** The locale of the operation whose context this is (the user's, else the request's, else the role's default). */
export function chosenLocaleOf(context: LocaleScope): ChosenLocale {
  const known = chosenByOperation.get(context);
  if (known && known.chosenFor === (context.viewer?.id ?? null)) return known.chosen;
  const requested = requestedBySocket.get(context) ?? context.requestedLocale ?? null;
  return chooseLocale(context.viewer?.locale, requested, context.viewer?.role);
}

export function localeOf(context: LocaleScope): Locale {
  return chosenLocaleOf(context).locale;
}

/** An Accept-Language header as one value (repeated headers joined), or null. */
export function acceptLanguageOf(header: string | string[] | undefined): string | null {
  return Array.isArray(header) ? header.join(',') : (header ?? null);
}

/** The locale of an HTTP answer given before any operation runs (a body that is not JSON): Accept-Language's. */
export function localeOfAcceptLanguage(header: string | string[] | undefined): Locale {
  return chooseLocale(null, acceptLanguageOf(header), null).locale;
}

/**
 * Fixes each HTTP operation's locale once its viewer is known, and says so in `extensions.locale` when the
 * requested one is not supported: `{ requested, used, supported }`.
 */
export function localePlugin<C extends LocaleScope>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }) {
      const chosen = chosenLocaleOf(contextValue);
      chosenByOperation.set(contextValue, { chosen, chosenFor: contextValue.viewer?.id ?? null });
      return {
        async willSendResponse({ response }) {
          if (!chosen.unsupported || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, locale: localeNotice(chosen) };
        },
      };
    },
  };
}

/** How a response says that the requested locale is not spoken and which one it used instead. */
export function localeNotice(chosen: ChosenLocale): { requested: string | null; used: Locale; supported: readonly Locale[] } {
  return { requested: chosen.unsupported, used: chosen.locale, supported: SUPPORTED_LOCALES };
}
