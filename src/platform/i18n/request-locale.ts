import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Viewer } from '../auth/roles';
import { ChosenLocale, chooseLocale, Locale, SUPPORTED_LOCALES } from './locales';

/** What an HTTP request asked for (Accept-Language) and, once its viewer is known, the locale it speaks. */
interface RequestLocale {
  requested: string | null;
  chosen: ChosenLocale | null;
  /** Whose locale `chosen` is: a service acting for someone else in the request (a channel's customer) has its own. */
  chosenFor: string | null;
}

const storage = new AsyncLocalStorage<RequestLocale>();

/** The locale a graphql-ws operation asked for (connection_init `locale`), by its context. */
const requestedBySocket = new WeakMap<object, string>();

/** Runs an HTTP request with its Accept-Language, so error formatting and resolvers below can find its locale. */
export function withRequestedLocale<T>(acceptLanguage: string | string[] | undefined, fn: () => T): T {
  const requested = Array.isArray(acceptLanguage) ? acceptLanguage.join(',') : (acceptLanguage ?? null);
  return storage.run({ requested, chosen: null, chosenFor: null }, fn);
}

/** A graphql-ws operation's context asked for `locale` in its connection_init payload. */
export function rememberRequestedLocale(context: object, locale: unknown): void {
  if (typeof locale === 'string') requestedBySocket.set(context, locale);
}

/** The locale of the operation whose context this is (the user's, else the request's, else the role's default). */
export function chosenLocaleOf(context: { viewer: Viewer | null }): ChosenLocale {
  const store = storage.getStore();
  if (store?.chosen && store.chosenFor === (context.viewer?.id ?? null)) return store.chosen;
  const requested = requestedBySocket.get(context) ?? store?.requested ?? null;
  return chooseLocale(context.viewer?.locale, requested, context.viewer?.role);
}

export function localeOf(context: { viewer: Viewer | null }): Locale {
  return chosenLocaleOf(context).locale;
}

/** The locale for error formatting over HTTP: the operation's once known, else from Accept-Language alone. */
export function currentLocale(): Locale {
  const store = storage.getStore();
  return store?.chosen?.locale ?? chooseLocale(null, store?.requested, null).locale;
}

/**
 * Fixes each HTTP operation's locale once its viewer is known, and says so in `extensions.locale` when the
 * requested one is not supported: `{ requested, used, supported }`.
 */
export function localePlugin<C extends { viewer: Viewer | null }>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }) {
      const store = storage.getStore();
      if (store) {
        store.chosen = chosenLocaleOf(contextValue);
        store.chosenFor = contextValue.viewer?.id ?? null;
      }
      return {
        async willSendResponse({ response }) {
          const chosen = store?.chosen;
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
