import {
  createSourceEventStream,
  DocumentNode,
  execute,
  ExecutionArgs,
  getVariableValues,
  GraphQLError,
  GraphQLSchema,
  OperationDefinitionNode,
  subscribe,
} from 'graphql';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { compileVariableParsing, failToParseVariables } from 'graphql-jit/dist/variables';

/** A count: executions so far, by graphql-js; `interpreted`: always by graphql-js. */
type Compiled = CompiledQuery | number | 'interpreted';
type VariableParser = ReturnType<typeof compileVariableParsing>;

/**
 * Executes operations over graphql-ws with graphql-jit: once a document (from the socket's document cache) has
 * run `compileAfter` times (default 10; each event a subscription delivers counts), it is compiled into a
 * JavaScript function, which then runs every `sendMessage` and maps every event a subscription delivers.
 * graphql-js walks the document's tree each time instead: ~14 % of the server's busy time at 1,000
 * messages/s (docs/benchmarks.md, realtime). Compiling costs more than one interpreted run (0.3 ms for a
 * chat send or event, 36 ms for the introspection query, whose validation takes 4 ms), so only documents
 * that keep running are compiled: a client cannot make the server compile more than it makes it execute.
 *
 * What stays with graphql-js: starting a subscription (`createSourceEventStream`: graphql-jit hands a
 * subscription's `subscribe` the operation's variables instead of the field's arguments), the wording of
 * variable errors (translated and documented; the compiled parser only decides whether there are any), an
 * execution whose variables graphql-jit's parser refuses (see `run`), any document the compiler refuses or
 * throws on, and everything when compiling is off (tracing).
 */
export class CompiledExecution {
  private readonly compiled = new WeakMap<DocumentNode, Map<string, Compiled>>();
  private readonly variableParsers = new WeakMap<OperationDefinitionNode, VariableParser>();
  private readonly compileAfter: number;

  /**
   * `compile: false` executes everything with graphql-js: OpenTelemetry's GraphQL spans come from patching
   * graphql-js, so with tracing on, operations over graphql-ws are not compiled.
   */
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly options: { compile: boolean; compileAfter?: number } = { compile: true },
  ) {
    this.compileAfter = options.compileAfter ?? 10;
  }

  readonly execute = (args: ExecutionArgs) => this.executeOn(args, args.rootValue);

  readonly subscribe = async (args: ExecutionArgs) => {
    if (!this.options.compile) return subscribe(args);
    // As graphql-js's own subscribe: each event is the root value of one execution of the operation.
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    return mapEvents(stream, (event) => this.executeOn(args, event));
  };

  private executeOn(args: ExecutionArgs, rootValue: unknown) {
    const compiled = this.compiledFor(args);
    if (compiled === 'interpreted' || typeof compiled === 'number') return execute({ ...args, rootValue });
    return this.run(compiled, args, rootValue);
  }

  /**
   * Runs the compiled operation, or graphql-js when graphql-jit's own variable parser refuses what graphql-js
   * accepted (onSubscribe asked graphql-js first): graphql-jit 0.8.9 refuses a non-null input field left out for
   * its default value (`requestLeave`'s `startHalf: DayHalf! = AM`), where graphql-js fills the default in.
   */
  private run(compiled: CompiledQuery, args: ExecutionArgs, rootValue: unknown) {
    const result = compiled.query(rootValue, args.contextValue, args.variableValues);
    if (isPromiseLike(result) || result.data !== undefined || !result.errors) return result;
    return execute({ ...args, rootValue });
  }

  /** graphql-js's errors for variables that do not fit the operation's types, or null when they fit. */
  variableErrors(
    operation: OperationDefinitionNode,
    variables: Record<string, unknown> | null | undefined,
  ): readonly GraphQLError[] | null {
    const definitions = operation.variableDefinitions ?? [];
    if (definitions.length === 0) return null;
    let parse = this.variableParsers.get(operation);
    if (!parse) {
      parse = compileVariableParsing(this.schema, definitions);
      this.variableParsers.set(operation, parse);
    }
    if (!failToParseVariables(parse(variables ?? {}))) return null;
    return getVariableValues(this.schema, definitions, variables ?? {}, { maxErrors: 50 }).errors ?? null;
  }

  /** Whether the document's operation now runs compiled (the compiler accepted it). */
  runsCompiled(document: DocumentNode, operationName?: string | null): boolean {
    const known = this.compiled.get(document)?.get(operationName ?? '');
    return typeof known === 'object';
  }

  /**
   * The compiled operation once the document has run `compileAfter` times, else how many times it has run.
   * `interpreted` when compiling is off, the compiler refuses the document, or it is another schema's.
   */
  private compiledFor(args: ExecutionArgs): Compiled {
    if (!this.options.compile || args.schema !== this.schema) return 'interpreted';
    let byName = this.compiled.get(args.document);
    if (!byName) this.compiled.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    const known = byName.get(name) ?? 0;
    if (typeof known !== 'number') return known;
    if (known + 1 < this.compileAfter) {
      byName.set(name, known + 1);
      return known + 1;
    }
    let compiled: Compiled;
    try {
      const made = compileQuery(this.schema, args.document, args.operationName ?? undefined, { disablingCapturingStackErrors: true });
      compiled = isCompiledQuery(made) ? made : 'interpreted';
    } catch {
      compiled = 'interpreted';
    }
    byName.set(name, compiled);
    return compiled;
  }
}

/**
 * graphql-js's `mapAsyncIterator` (each event through `map`), re-armed with one promise per event where graphql-js
 * makes five: two async functions, each awaiting, and with Node's promise hooks on (any `AsyncLocalStorage`) every
 * await adds a promise of its own. Those promises wait for the subscriber's next event, seconds for a customer,
 * long enough to be promoted to V8's old generation, whose growth sets how often a full GC (the p99's tail) runs.
 * As there, a `map` that throws closes the source before the error reaches the subscriber.
 */
export function mapEvents<T, U>(
  iterable: AsyncIterable<T>,
  map: (value: T) => U | PromiseLike<U>,
): AsyncIterableIterator<U> & Required<Pick<AsyncIterator<U>, 'return' | 'throw'>> {
  const iterator = iterable[Symbol.asyncIterator]();
  const closeAndThrow = async (error: unknown): Promise<never> => {
    try {
      await iterator.return?.();
    } catch {
      // Keep the original error when closing the source also fails.
    }
    throw error;
  };
  const mapped = (result: IteratorResult<T>): IteratorResult<U> | Promise<IteratorResult<U>> => {
    if (result.done) return result;
    let value: U | PromiseLike<U>;
    try {
      value = map(result.value);
    } catch (error) {
      return closeAndThrow(error);
    }
    if (!isPromiseLike(value)) return { value, done: false };
    return Promise.resolve(value).then((v) => ({ value: v, done: false }), closeAndThrow);
  };
  const mappedIterator = {
    next: () => iterator.next().then(mapped),
    return: async (): Promise<IteratorResult<U>> => (iterator.return ? mapped(await iterator.return()) : { value: undefined, done: true }),
    throw: async (error: unknown): Promise<IteratorResult<U>> => {
      if (iterator.throw) return mapped(await iterator.throw(error));
      throw error;
    },
    [Symbol.asyncIterator]: () => mappedIterator,
  };
  return mappedIterator;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}
