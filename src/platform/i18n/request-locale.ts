import type { ApolloServerPlugin } from '@apollo/server';
import type { Viewer } from '../auth/roles';
import { currentRequest, RequestStore } from '../trace';
import { ChosenLocale, chooseLocale, Locale, SUPPORTED_LOCALES } from './locales';

/**
 * An HTTP request's Accept-Language travels in the request's store (trace.ts, `withRequest`); the locale it
 * speaks, once its viewer is known, is kept here by that store, with whose locale it is: a service acting for
 * someone else in the request (a channel's customer) has its own.
 */
const chosenByRequest = new WeakMap<RequestStore, { chosen: ChosenLocale; chosenFor: string | null }>();

/** The locale a graphql-ws operation asked for (connection_init `locale`), by its context. */
const requestedBySocket = new WeakMap<object, string>();

/** A graphql-ws operation's context asked for `locale` in its connection_init payload. */
export function rememberRequestedLocale(context: object, locale: unknown): void {
  if (typeof locale === 'string') requestedBySocket.set(context, locale);
}

/** The locale of the operation whose context this is (the user's, else the request's, else the role's default). */
export function chosenLocaleOf(context: { viewer: Viewer | null }): ChosenLocale {
  const store = currentRequest();
  const known = store && chosenByRequest.get(store);
  if (known && known.chosenFor === (context.viewer?.id ?? null)) return known.chosen;
  const requested = requestedBySocket.get(context) ?? store?.acceptLanguage ?? null;
  return chooseLocale(context.viewer?.locale, requested, context.viewer?.role);
}

export function localeOf(context: { viewer: Viewer | null }): Locale {
  return chosenLocaleOf(context).locale;
}

/** The locale for error formatting over HTTP: the operation's once known, else from Accept-Language alone. */
export function currentLocale(): Locale {
  const store = currentRequest();
  return (store && chosenByRequest.get(store))?.chosen.locale ?? chooseLocale(null, store?.acceptLanguage, null).locale;
}

/**
 * Fixes each HTTP operation's locale once its viewer is known, and says so in `extensions.locale` when the
 * requested one is not supported: `{ requested, used, supported }`.
 */
export function localePlugin<C extends { viewer: Viewer | null }>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }) {
      const store = currentRequest();
      const chosen = store ? chosenLocaleOf(contextValue) : null;
      if (store && chosen) chosenByRequest.set(store, { chosen, chosenFor: contextValue.viewer?.id ?? null });
      return {
        async willSendResponse({ response }) {
          if (!chosen?.unsupported || response.body.kind !== 'single') return;
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
