/**
 * `npx jest -c jest.compiled.config.js`: the whole suite with every execution in the test process, HTTP's
 * included, run by graphql-jit the way graphql-ws runs them (src/platform/graphql-execution.ts: graphql-js
 * when the compiled variable parser refuses). What the suite checks over HTTP then checks the compiled
 * execution on the real schema. Errors are re-made as graphql-js's own, because Apollo's HTTP pipeline writes
 * to an error's `extensions`, which graphql-jit's errors do not allow (graphql-ws builds new ones). Not part
 * of `npm test` (it doubles the run); run it when graphql-jit or graphql changes.
 */
import { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';
import * as executeModule from 'graphql/execution/execute';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

const interpreted = executeModule.execute;
const compiled = new WeakMap<object, Map<string, CompiledQuery | null>>();

function remade(result: ExecutionResult): ExecutionResult {
  if (!result.errors) return result;
  const errors = result.errors.map((e) => {
    const error = new GraphQLError(e.message, {
      path: e.path,
      originalError: e.originalError,
      extensions: e.extensions ? { ...e.extensions } : undefined,
    });
    (error as { locations?: unknown }).locations = e.locations;
    return error;
  });
  return { ...result, errors };
}

function compiledExecute(args: ExecutionArgs) {
  let byName = compiled.get(args.document);
  if (!byName) compiled.set(args.document, (byName = new Map()));
  const name = args.operationName ?? '';
  let query = byName.get(name);
  if (query === undefined) {
    try {
      const made = compileQuery(args.schema, args.document, args.operationName ?? undefined, { disablingCapturingStackErrors: true });
      query = isCompiledQuery(made) ? made : null;
    } catch {
      query = null;
    }
    byName.set(name, query);
  }
  if (!query) return interpreted(args);
  const result = query.query(args.rootValue, args.contextValue, args.variableValues);
  if ('then' in result) return result.then(remade);
  if (result.data === undefined && result.errors) return interpreted(args);
  return remade(result);
}

// graphql's index re-exports `execute` through a getter, so Apollo (and everything else) now calls this.
(executeModule as { execute: typeof interpreted }).execute = compiledExecute as typeof interpreted;
