import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  GraphQLArgument,
  GraphQLInputType,
  GraphQLSchema,
  IntrospectionQuery,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';
import { startTestApp, TestApp } from '../support/harness';

/**
 * Every paginated field of the live schema (an `after: String` argument, a result with `pageInfo`), so a
 * connection added later is covered without touching this file.
 */
function connectionFields(schema: GraphQLSchema): Array<{ name: string; args: readonly GraphQLArgument[] }> {
  return Object.values(schema.getQueryType()!.getFields())
    .filter((field) => field.args.some((a) => a.name === 'after' && getNamedType(a.type).name === 'String'))
    .filter((field) => {
      const result = getNamedType(field.type);
      return isObjectType(result) && 'pageInfo' in result.getFields();
    })
    .map((field) => ({ name: field.name, args: field.args }));
}

/** A plausible value for a required argument other than `after`, so the field runs as far as its cursor. */
function sampleValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return [sampleValue(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type) && field.defaultValue === undefined) out[field.name] = sampleValue(field.type);
    }
    return out;
  }
  if (isScalarType(type)) {
    const samples: Record<string, unknown> = {
      ID: randomUUID(),
      String: 'x',
      Int: 1,
      Float: 1,
      Boolean: false,
      DateTimeISO: new Date().toISOString(),
    };
    return samples[type.name];
  }
  throw new Error(`no sample for ${String(type)}`);
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Arbitrary strings, and well-formed cursors (base64url JSON arrays) holding arbitrary values. */
const cursorLike = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.base64String(),
  fc.array(fc.jsonValue(), { maxLength: 4 }).map(encode),
  fc
    .array(
      fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.date({ noInvalidDate: true }).map((d) => d.getTime()),
        fc.uuid(),
        fc.integer(),
        fc.double(),
        fc.string(),
        fc.constant(null),
      ),
      { minLength: 2, maxLength: 3 },
    )
    .map(encode),
);

describe('property: no `after` string makes any connection fail inside the server', () => {
  let app: TestApp;
  let admin: string;
  let fields: ReturnType<typeof connectionFields>;

  beforeAll(async () => {
    app = await startTestApp();
    admin = await app.adminToken();
    await app.createUser({ role: 'AGENT', departmentId: (await app.createDepartment('Support', 'support')).id });
    const introspection = await app.data<IntrospectionQuery, unknown>(getIntrospectionQuery(), undefined, admin);
    fields = connectionFields(buildClientSchema(introspection));
  });
  afterAll(() => app.stop());

  it('finds the connections in the schema', () => {
    expect(fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['users', 'auditLog', 'notifications', 'tickets', 'conversations', 'faqs']),
    );
  });

  it('answers data or BAD_USER_INPUT naming `after`, never INTERNAL_SERVER_ERROR, on every connection', async () => {
    for (const field of fields) {
      const required = field.args.filter((a) => a.name !== 'after' && isNonNullType(a.type) && a.defaultValue === undefined);
      const params = ['$after: String', ...required.map((a) => `$${a.name}: ${String(a.type)}`)].join(', ');
      const args = ['after: $after', ...required.map((a) => `${a.name}: $${a.name}`)].join(', ');
      const query = `query (${params}) { ${field.name}(${args}) { pageInfo { endCursor } } }`;
      const fixed = Object.fromEntries(required.map((a) => [a.name, sampleValue(a.type)]));

      await fc.assert(
        fc.asyncProperty(cursorLike, async (after) => {
          const res = await app.exec(query, { ...fixed, after }, admin);
          const outcome = { field: field.name, after, errors: res.errors };
          if (!res.errors) return;
          // A connection under a record (alertDeliveries(alertId)) is NOT_FOUND for the sampled id before any cursor is read.
          if (required.length && res.errors[0].extensions?.code === 'NOT_FOUND') return;
          expect(outcome).toEqual({
            ...outcome,
            errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })],
          });
          expect(res.errors[0].extensions?.fields).toEqual([expect.objectContaining({ field: 'after' })]);
        }),
        { numRuns: 40 },
      );
    }
  });
});
