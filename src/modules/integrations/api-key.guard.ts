import { defaultFieldResolver, GraphQLFieldResolver, GraphQLSchema } from 'graphql';
import type { RequestScope } from '../../platform/request-scope';
import type { ApiKeyAuthenticator } from './api-key-auth';

/**
 * Puts every root field (queries, mutations, subscriptions) of the schema behind the key check: a request an
 * API key signed in runs a root field only through `ApiKeyAuthenticator.use` (scope table, rate limit, last
 * use, refusals audited). Everybody else goes straight to the resolver. One check for HTTP and graphql-ws.
 */
export function guardRootFieldsForKeys(schema: GraphQLSchema, keysOf: (context: unknown) => ApiKeyAuthenticator): GraphQLSchema {
  const wrap = (name: string, inner: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> =>
    function guarded(source, args, context, info) {
      const scope = context as RequestScope;
      if (!scope.viewer?.integration) return inner(source, args, context, info);
      return keysOf(context).use(scope, name, () => inner(source, args, context, info));
    };
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) field.resolve = wrap(field.name, field.resolve ?? defaultFieldResolver);
  }
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    if (field.subscribe) field.subscribe = wrap(field.name, field.subscribe);
  }
  return schema;
}
