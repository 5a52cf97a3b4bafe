/**
 * `npx jest -c jest.compiled.config.js`: the whole suite with every execution in the test process, HTTP's
 * included, run by the compiled execution graphql-ws uses (src/platform/graphql-execution.ts), compiling at
 * the first run. What the suite checks over HTTP then checks the compiled execution on the real schema.
 * graphql-jit's errors are re-made as graphql-js's own, because Apollo's HTTP pipeline writes to an error's
 * `extensions`, which graphql-jit's errors do not allow (graphql-ws builds new ones). Not part of `npm test`
 * (it doubles the run); run it when graphql-jit or graphql changes.
 */
import { ExecutionArgs, ExecutionResult, GraphQLError, GraphQLSchema } from 'graphql';
import * as executeModule from 'graphql/execution/execute';
import { CompiledExecution } from '../../src/platform/graphql-execution';

const interpreted = executeModule.execute;
const executions = new WeakMap<GraphQLSchema, CompiledExecution>();
/** Set while CompiledExecution runs: the graphql-js `execute` it falls back to is this patched one. */
let inside = false;

function remade(result: ExecutionResult): ExecutionResult {
  if (!result.errors) return result;
  const errors = result.errors.map((e) => {
    // graphql-js's own (its execution ran): kept as they are, as Apollo expects them.
    if (e.constructor === GraphQLError) return e;
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
  if (inside) return interpreted(args);
  let execution = executions.get(args.schema);
  if (!execution) executions.set(args.schema, (execution = new CompiledExecution(args.schema, { compile: true, compileAfter: 1 })));
  inside = true;
  try {
    const result = execution.execute(args);
    return 'then' in result ? result.then(remade) : remade(result);
  } finally {
    inside = false;
  }
}

// graphql's index re-exports `execute` through a getter, so Apollo (and everything else) now calls this.
(executeModule as { execute: typeof interpreted }).execute = compiledExecute as typeof interpreted;
