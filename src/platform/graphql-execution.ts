import {
  createSourceEventStream,
  DocumentNode,
  execute,
  ExecutionArgs,
  ExecutionResult,
  getVariableValues,
  GraphQLError,
  GraphQLSchema,
  OperationDefinitionNode,
  subscribe,
} from 'graphql';
import { mapAsyncIterator } from 'graphql/execution/mapAsyncIterator';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { compileVariableParsing, failToParseVariables } from 'graphql-jit/dist/variables';

/** `once`: executed once so far, by graphql-js; `interpreted`: always by graphql-js. */
type Compiled = CompiledQuery | ExecutionResult | 'once' | 'interpreted';
type VariableParser = ReturnType<typeof compileVariableParsing>;

/**
 * Executes operations over graphql-ws with graphql-jit: a document (from the socket's document cache) is
 * compiled into a JavaScript function on its second execution, a subscription's when it starts, and that
 * function then runs every `sendMessage` and maps every event a subscription delivers. graphql-js walks the
 * document's tree each time instead: ~14 % of the server's busy time at 1,000 messages/s (docs/benchmarks.md,
 * realtime).
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

  /**
   * `compile: false` executes everything with graphql-js: OpenTelemetry's GraphQL spans come from patching
   * graphql-js, so with tracing on, operations over graphql-ws are not compiled.
   */
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly options: { compile: boolean } = { compile: true },
  ) {}

  readonly execute = (args: ExecutionArgs) => {
    const compiled = this.compiledFor(args, 2);
    if (compiled === 'interpreted' || compiled === 'once') return execute(args);
    if (!isCompiledQuery(compiled)) return compiled;
    return this.run(compiled, args, args.rootValue);
  };

  readonly subscribe = async (args: ExecutionArgs) => {
    // A subscription's document runs once for each event it delivers: compiled at once.
    const compiled = this.compiledFor(args, 1);
    if (compiled === 'interpreted' || compiled === 'once') return subscribe(args);
    if (!isCompiledQuery(compiled)) return compiled;
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    // As graphql-js's own subscribe: each event is the root value of one execution of the operation.
    return mapAsyncIterator(stream, (event) => this.run(compiled, args, event));
  };

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

  /** Whether the document's operation now runs compiled (it has been compiled, and the compiler accepted it). */
  runsCompiled(document: DocumentNode, operationName?: string | null): boolean {
    const known = this.compiled.get(document)?.get(operationName ?? '');
    return known !== undefined && typeof known === 'object' && isCompiledQuery(known);
  }

  /**
   * The compiled operation, once the document has been executed `after` times (compiling costs more than
   * interpreting a document once; one executed once, e.g. a long document the socket's cache does not
   * keep, is never compiled). `interpreted` when the compiler refuses the document or it is another schema's.
   */
  private compiledFor(args: ExecutionArgs, after: 1 | 2): Compiled {
    if (!this.options.compile) return 'interpreted';
    let byName = this.compiled.get(args.document);
    if (!byName) this.compiled.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    const known = byName.get(name);
    if (known !== undefined && known !== 'once') return known;
    if (known === undefined && after === 2) {
      byName.set(name, 'once');
      return 'once';
    }
    let compiled: Compiled;
    try {
      compiled =
        args.schema === this.schema
          ? compileQuery(this.schema, args.document, args.operationName ?? undefined, { disablingCapturingStackErrors: true })
          : 'interpreted';
    } catch {
      compiled = 'interpreted';
    }
    byName.set(name, compiled);
    return compiled;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}
