import { getNamedType, GraphQLEnumType, GraphQLFieldResolver, GraphQLScalarType, GraphQLSchema } from 'graphql';
import { getMetadataStorage } from 'type-graphql';

/** The parts of type-graphql's metadata of a `@Subscription` method read here. */
interface SubscriptionHandler {
  target: new () => Record<string, unknown>;
  methodName: string;
  schemaName: string;
  middlewares?: unknown[];
  params?: Array<{ kind: string; index: number; name?: string; propertyName?: string; getType?: () => unknown }>;
}

/**
 * A `@Subscription` method maps each event of its stream to what the subscriber gets. type-graphql runs it as
 * it runs a query's resolver, so for every event it checks `@Authorized` again, converts and validates the
 * arguments again (an async function per argument) and dispatches through its middleware chain: about fifteen
 * promises per event delivered, a third of all the promises a chat message made. `subscribe` already did the
 * check and the validation once, when the subscription started, and neither the viewer nor the arguments of a
 * running subscription change (a revoked session closes its sockets). So where a method takes only the event
 * (`@Root()`), scalar arguments and the context, and has no middleware of its own, it is called directly.
 * Anything else keeps type-graphql's way.
 */
export function mapSubscriptionEventsDirectly(schema: GraphQLSchema): GraphQLSchema {
  const fields = schema.getSubscriptionType()?.getFields() ?? {};
  const handlers = getMetadataStorage().subscriptions as unknown as SubscriptionHandler[];
  for (const handler of handlers) {
    const field = fields[handler.schemaName];
    if (!field || handler.middlewares?.length) continue;
    const params = [...(handler.params ?? [])].sort((a, b) => a.index - b.index);
    const scalarArg = (name: string | undefined) => {
      const arg = field.args.find((a) => a.name === name);
      const type = arg && getNamedType(arg.type);
      return type instanceof GraphQLScalarType || type instanceof GraphQLEnumType;
    };
    const direct = params.every(
      (p) =>
        (p.kind === 'root' && !p.propertyName && (!p.getType || p.getType() === Object)) ||
        (p.kind === 'arg' && scalarArg(p.name)) ||
        (p.kind === 'context' && !p.propertyName),
    );
    if (!direct) continue;
    const instance = new handler.target();
    const method = instance[handler.methodName] as (...args: unknown[]) => unknown;
    const resolve: GraphQLFieldResolver<unknown, unknown> = (event, args: Record<string, unknown>, context) =>
      method.apply(
        instance,
        params.map((p) => (p.kind === 'root' ? event : p.kind === 'arg' ? args[p.name!] : context)),
      );
    field.resolve = resolve;
  }
  return schema;
}
