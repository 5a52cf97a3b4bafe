import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import fc from 'fast-check';
import { execute, ExecutionResult, GraphQLError, parse, subscribe } from 'graphql';
import { mapAsyncIterator } from 'graphql/execution/mapAsyncIterator';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { DateTimeResolver } from 'graphql-scalars';
import { CompiledExecution, mapEvents } from '../../src/platform/graphql-execution';

/**
 * graphql-ws runs operations compiled by graphql-jit (platform/graphql-execution.ts); HTTP runs them with
 * graphql-js. A client must not be able to tell which one answered: the same data and null propagation, and
 * the same errors (message, path, extensions, locations) wherever the data stands (see expectSameAnswer for
 * the part a failure nulled). Checked here on random documents over random data.
 */

class Refused extends GraphQLError {
  constructor(field: string) {
    super(`refused: ${field}`, { extensions: { code: 'FORBIDDEN' } });
  }
}

/** How one field of the random world answers. */
type Answer = 'value' | 'null' | 'throws' | 'async' | 'rejects';
interface World {
  content: Answer;
  sender: Answer;
  name: Answer;
  maybe: Answer;
  seq: number;
  tags: string[];
}

function answer<T>(how: Answer, field: string, value: T): T | null | Promise<T> {
  switch (how) {
    case 'value':
      return value;
    case 'null':
      return null;
    case 'throws':
      throw new Refused(field);
    case 'async':
      return Promise.resolve(value);
    case 'rejects':
      return Promise.reject(new Refused(field));
  }
}

const typeDefs = /* GraphQL */ `
  scalar DateTime
  enum Role {
    AGENT
    CUSTOMER
  }
  interface Node {
    id: ID!
  }
  type User implements Node {
    id: ID!
    name: String
    role: Role!
    createdAt: DateTime!
  }
  type Message implements Node {
    id: ID!
    seq: Int!
    content: String!
    sender: User
    tags: [String!]!
  }
  union Item = User | Message
  input Page {
    first: Int! = 2
    after: String
  }
  type Query {
    message: Message!
    maybe: Message
    node(id: ID!): Node
    items(page: Page): [Item!]!
    echo(text: String!, times: Int = 1): String!
  }
  type Subscription {
    events(topic: String!): Message!
  }
`;

const user = () => ({ __typename: 'User', id: 'u1', role: 'AGENT', createdAt: new Date('2026-12-05T03:00:00.000Z') });
const message = (w: World) => ({ __typename: 'Message', id: `m${w.seq}`, seq: w.seq, tags: w.tags });
type Ctx = { world: World; events?: number };

const schema = makeExecutableSchema({
  typeDefs,
  resolvers: {
    DateTime: DateTimeResolver,
    Node: { __resolveType: (o: { __typename: string }) => o.__typename },
    Item: { __resolveType: (o: { __typename: string }) => o.__typename },
    User: { name: (_: unknown, __: unknown, ctx: Ctx) => answer(ctx.world.name, 'name', '张三') },
    Message: {
      content: (_: unknown, __: unknown, ctx: Ctx) => answer(ctx.world.content, 'content', '你好'),
      sender: (_: unknown, __: unknown, ctx: Ctx) => answer(ctx.world.sender, 'sender', user()),
    },
    Query: {
      message: (_: unknown, __: unknown, ctx: Ctx) => message(ctx.world),
      maybe: (_: unknown, __: unknown, ctx: Ctx) => answer(ctx.world.maybe, 'maybe', message(ctx.world)),
      node: (_: unknown, args: { id: string }, ctx: Ctx) => (args.id === 'u1' ? user() : message(ctx.world)),
      items: (_: unknown, args: { page?: { first: number } }, ctx: Ctx) => [user(), message(ctx.world)].slice(0, args.page?.first ?? 2),
      echo: (_: unknown, args: { text: string; times: number }) => args.text.repeat(args.times),
    },
    Subscription: {
      events: {
        subscribe: (_: unknown, args: { topic: string }, ctx: Ctx) => {
          if (args.topic !== 'chat') throw new Refused('topic');
          return (async function* () {
            for (let i = 1; i <= (ctx.events ?? 0); i++) yield { events: message({ ...ctx.world, seq: i }) };
          })();
        },
      },
    },
  },
});

/** Pieces of a query; each document takes a random subset (at least one). */
const SELECTIONS = [
  'message { id seq content }',
  'a: message { seq tags sender { name role createdAt } }',
  'maybe { id content @include(if: $flag) }',
  'node(id: $id) { id ... on User { name role } ... on Message { seq content } }',
  'items(page: $page) { __typename ... on User { id createdAt } ... on Message { content tags } }',
  'echo(text: "回声", times: 2)',
  'b: echo(text: $text)',
  '...MessageParts',
  'message { sender @skip(if: $flag) { id name } }',
  '__typename',
];
const FRAGMENT = 'fragment MessageParts on Query { message { content sender { id ...UserParts } } } fragment UserParts on User { name }';

const answers = fc.constantFrom<Answer>('value', 'null', 'throws', 'async', 'rejects');
const world = fc.record({
  content: answers,
  sender: answers,
  name: answers,
  maybe: answers,
  seq: fc.integer({ min: 1, max: 1000 }),
  tags: fc.array(fc.constantFrom('退款', 'vip', ''), { maxLength: 3 }),
});
const variables = fc.record({
  flag: fc.boolean(),
  id: fc.constantFrom('u1', 'm1'),
  page: fc.option(fc.record({ first: fc.integer({ min: 0, max: 3 }) }, { requiredKeys: [] }), { nil: null }),
  text: fc.string({ maxLength: 5 }),
});

type ErrorJson = { message: string; path?: (string | number)[]; locations?: { line: number; column: number }[] };

/** What a client receives (errors in a stable order: graphql-js and graphql-jit may push them differently). */
function received(result: ExecutionResult) {
  const errors = result.errors?.map((e) => e.toJSON()).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  return JSON.parse(JSON.stringify({ data: result.data, errors })) as { data?: unknown; errors?: ErrorJson[] };
}

/** The value at `path` in `data`, or undefined when the path leaves it. */
function at(data: unknown, path: readonly (string | number)[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/**
 * The same data, and the same errors wherever the data stands. When a non-null field fails, its enclosing
 * object (or the whole data) is nulled, and which other errors inside that part are reported depends on
 * timing: graphql-js stops executing the siblings still pending at that moment (which ones depends on which
 * resolvers are asynchronous), graphql-jit runs them all and keeps the errors it had when the operation
 * ended. There both must report at least one error, not the same ones.
 */
function expectSameAnswer(ours: ExecutionResult, theirs: ExecutionResult) {
  const a = received(ours);
  const b = received(theirs);
  expect(a.data).toEqual(b.data);
  const standing = (e: ErrorJson) => a.data != null && !(e.path ?? []).some((_, i) => i > 0 && at(a.data, e.path!.slice(0, i)) === null);
  // Locations apart: graphql-jit also names a merged field's nodes that @skip/@include left out.
  const key = (e: ErrorJson) => JSON.stringify({ ...e, locations: undefined });
  const ourStanding = (a.errors ?? []).filter(standing);
  const theirStanding = (b.errors ?? []).filter(standing);
  expect(ourStanding.map(key)).toEqual(theirStanding.map(key));
  theirStanding.forEach((e, i) => {
    for (const location of e.locations ?? []) expect(ourStanding[i].locations).toContainEqual(location);
  });
  expect((a.errors ?? []).length > 0).toBe((b.errors ?? []).length > 0);
}

describe('operations compiled for graphql-ws answer as graphql-js does', () => {
  // Compiled at the first execution here, so every comparison below is with the compiled function.
  const compiled = new CompiledExecution(schema, { compile: true, compileAfter: 1 });

  it('queries: the same data, errors and null propagation on random documents and data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.subarray(SELECTIONS, { minLength: 1 }), world, variables, async (picked, w, vars) => {
        const source = `query Q($flag: Boolean!, $id: ID!, $page: Page, $text: String!) { ${picked.join(' ')} } ${FRAGMENT}`;
        const document = parse(source);
        const args = { schema, document, variableValues: vars, contextValue: { world: w } };
        const reference = await execute(args);
        expectSameAnswer(await compiled.execute(args), reference);
        expect(compiled.runsCompiled(document)).toBe(true);
        expectSameAnswer(await compiled.execute(args), reference);
      }),
      { numRuns: 300 },
    );
  });

  it('subscriptions: every event mapped alike, literal arguments included', async () => {
    await fc.assert(
      fc.asyncProperty(world, fc.integer({ min: 0, max: 4 }), fc.constantFrom('"chat"', '$channel'), async (w, events, topic) => {
        const document = parse(
          `subscription S($channel: String!, $flag: Boolean!) { events(topic: ${topic}) { seq content sender { name @include(if: $flag) role } } }`,
        );
        const args = { schema, document, variableValues: { channel: 'chat', flag: true }, contextValue: { world: w, events } };
        const collect = async (stream: unknown) => {
          const results: ExecutionResult[] = [];
          for await (const result of stream as AsyncIterable<ExecutionResult>) results.push(result);
          return results;
        };
        const ours = await collect(await compiled.subscribe(args));
        expect(compiled.runsCompiled(document)).toBe(events > 0);
        const theirs = await collect(await subscribe(args));
        expect(ours).toHaveLength(events);
        expect(theirs).toHaveLength(events);
        ours.forEach((result, i) => expectSameAnswer(result, theirs[i]));
      }),
      { numRuns: 100 },
    );
  });

  it('a subscription refused when it starts answers with the same error', async () => {
    const document = parse('subscription { events(topic: "other") { seq } }');
    const args = { schema, document, contextValue: { events: 1 } };
    const ours = (await compiled.subscribe(args)) as ExecutionResult;
    expect(received(ours)).toEqual(received((await subscribe(args)) as ExecutionResult));
    expect(ours.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN' });
  });

  it("variables that do not fit get graphql-js's own errors; variables that fit get none", () => {
    const document = parse('query Q($page: Page, $text: String!) { echo(text: $text) items(page: $page) { __typename } }');
    const operation = document.definitions[0] as Parameters<CompiledExecution['variableErrors']>[0];
    expect(compiled.variableErrors(operation, { text: 'a', page: { first: 1 } })).toBeNull();
    expect(compiled.variableErrors(operation, { text: 'a' })).toBeNull();
    // graphql-jit's parser refuses this one (a non-null field left out for its default); graphql-js decides.
    expect(compiled.variableErrors(operation, { text: 'a', page: {} })).toBeNull();
    const errors = compiled.variableErrors(operation, { text: 1, page: { first: 'x', last: 2 } });
    expect(errors?.map((e) => e.message)).toEqual([
      'Variable "$page" got invalid value "x" at "page.first"; Int cannot represent non-integer value: "x"',
      'Variable "$page" got invalid value { first: "x", last: 2 }; Field "last" is not defined by type "Page".',
      'Variable "$text" got invalid value 1; String cannot represent a non string value: 1',
    ]);
    expect(compiled.variableErrors(operation, {})?.map((e) => e.message)).toEqual([
      'Variable "$text" of required type "String!" was not provided.',
    ]);
  });

  it('a document is compiled once it has run ten times, the events of a subscription counted', async () => {
    const byDefault = new CompiledExecution(schema, { compile: true });
    const query = parse('query Often { echo(text: "x") }');
    for (let i = 1; i <= 9; i++)
      expect(await byDefault.execute({ schema, document: query, operationName: 'Often' })).toEqual({ data: { echo: 'x' } });
    expect(byDefault.runsCompiled(query, 'Often')).toBe(false);
    expect(await byDefault.execute({ schema, document: query, operationName: 'Often' })).toEqual({ data: { echo: 'x' } });
    expect(byDefault.runsCompiled(query, 'Often')).toBe(true);

    const events = parse('subscription { events(topic: "chat") { seq } }');
    const stream = (await byDefault.subscribe({
      schema,
      document: events,
      contextValue: { world: {}, events: 9 },
    })) as AsyncIterable<unknown>;
    const seqs = [];
    for await (const result of stream) seqs.push((result as ExecutionResult<{ events: { seq: number } }>).data?.events.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(byDefault.runsCompiled(events)).toBe(false);
    const more = (await byDefault.subscribe({
      schema,
      document: events,
      contextValue: { world: {}, events: 2 },
    })) as AsyncIterable<unknown>;
    for await (const result of more) expect(result).toMatchObject({ data: { events: { seq: expect.any(Number) } } });
    expect(byDefault.runsCompiled(events)).toBe(true);
  });

  it('with compiling off (tracing on) every document is executed by graphql-js', async () => {
    const interpreted = new CompiledExecution(schema, { compile: false });
    const document = parse('query Q { echo(text: "y", times: 3) }');
    for (let i = 0; i < 3; i++) expect(await interpreted.execute({ schema, document })).toEqual({ data: { echo: 'yyy' } });
    expect(interpreted.runsCompiled(document)).toBe(false);
  });

  it('a document of another schema is executed by graphql-js', async () => {
    const other = makeExecutableSchema({ typeDefs: 'type Query { answer: Int! }', resolvers: { Query: { answer: () => 42 } } });
    const document = parse('{ answer }');
    for (let i = 0; i < 3; i++) expect(await compiled.execute({ schema: other, document })).toEqual({ data: { answer: 42 } });
    expect(compiled.runsCompiled(document)).toBe(false);
  });
});

describe('mapEvents: each event of a subscription through the operation', () => {
  /** A source of `count` events that records how it was ended. */
  function source(count: number) {
    const seen = { returned: 0, thrown: [] as unknown[] };
    let i = 0;
    const iterator: AsyncIterableIterator<number> & {
      return(): Promise<IteratorResult<number>>;
      throw(e: unknown): Promise<IteratorResult<number>>;
    } = {
      next: () => Promise.resolve(i < count ? { value: ++i, done: false } : { value: undefined, done: true }),
      return: async () => {
        seen.returned++;
        i = count;
        return { value: undefined, done: true };
      },
      throw: async (e: unknown) => {
        seen.thrown.push(e);
        i = count;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return { iterator, seen };
  }

  async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const v of it) out.push(v);
    return out;
  }

  it('maps every event in order, whether the mapping answers at once or later', async () => {
    expect(await collect(mapEvents(source(3).iterator, (n) => n * 10))).toEqual([10, 20, 30]);
    expect(await collect(mapEvents(source(3).iterator, async (n) => `e${n}`))).toEqual(['e1', 'e2', 'e3']);
  });

  it('return() and throw() reach the source, as a subscriber leaving does', async () => {
    const a = source(5);
    const mapped = mapEvents(a.iterator, (n) => n);
    expect(await mapped.next()).toEqual({ value: 1, done: false });
    expect(await mapped.return()).toEqual({ value: undefined, done: true });
    expect(a.seen.returned).toBe(1);
    expect(await mapped.next()).toEqual({ value: undefined, done: true });

    const b = source(5);
    const failure = new Error('stop');
    expect(await mapEvents(b.iterator, (n) => n).throw(failure)).toEqual({ value: undefined, done: true });
    expect(b.seen.thrown).toEqual([failure]);
  });

  it('a mapping that throws or rejects closes the source and the error reaches the subscriber', async () => {
    for (const map of [
      (n: number) => {
        if (n === 2) throw new Error('bad event');
        return n;
      },
      async (n: number) => {
        if (n === 2) throw new Error('bad event');
        return n;
      },
    ]) {
      const s = source(5);
      const got: number[] = [];
      await expect(
        (async () => {
          for await (const v of mapEvents(s.iterator, map)) got.push(v);
        })(),
      ).rejects.toThrow('bad event');
      expect(got).toEqual([1]);
      expect(s.seen.returned).toBe(1);
    }
  });

  it("re-arms with fewer promises per event than graphql-js's mapAsyncIterator (with promise hooks on)", async () => {
    // Each promise re-armed for a subscriber waits for its next event, often long enough to reach V8's old
    // generation; AsyncLocalStorage (ours and MikroORM's) turns Node's promise hooks on for the whole process.
    const promisesPerEvent = async (mapper: typeof mapEvents) => {
      let promises = 0;
      const hook = createHook({
        init: (_id, type) => {
          if (type === 'PROMISE') promises++;
        },
      });
      hook.enable();
      try {
        await new AsyncLocalStorage().run({}, () => collect(mapper(source(200).iterator, (n) => ({ data: n }))));
      } finally {
        hook.disable();
      }
      return promises / 200;
    };
    const ours = await promisesPerEvent(mapEvents);
    const graphqlJs = await promisesPerEvent(mapAsyncIterator as typeof mapEvents);
    expect(ours * 2).toBeLessThanOrEqual(graphqlJs);
  });
});
