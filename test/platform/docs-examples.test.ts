import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, Kind, parse, validate, type DefinitionNode, type DocumentNode } from 'graphql';

/**
 * The operations the README and docs/ show are meant to be pasted into the playground as written: each one
 * must parse and be valid against the schema the server serves (schema.graphql, which `codegen --check`
 * keeps current). A block may hold several operations to paste one at a time, so each is checked on its own
 * with the block's fragments.
 */
const root = path.join(__dirname, '..', '..');
const schema = buildSchema(readFileSync(path.join(root, 'schema.graphql'), 'utf8'));
const files = ['README.md', ...readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)].filter((f) => f.endsWith('.md'));

const blocks = files.flatMap((file) =>
  [...readFileSync(path.join(root, file), 'utf8').matchAll(/```graphql\n([\s\S]*?)```/g)].map((m, i) => ({
    name: `${file} #${i + 1}`,
    text: m[1],
  })),
);

describe('the GraphQL examples of the README and docs', () => {
  it('there are examples to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(20);
  });

  it.each(blocks.map((b) => [b.name, b.text]))('%s is valid against the schema', (_name, text) => {
    const document = parse(text);
    const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
    const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    expect(operations.length).toBeGreaterThan(0);
    const problems = operations.flatMap((operation: DefinitionNode) => {
      const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] };
      return validate(schema, single).map((e) => e.message);
    });
    expect(problems).toEqual([]);
  });
});
