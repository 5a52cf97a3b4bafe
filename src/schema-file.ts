import { lexicographicSortSchema, printSchema } from 'graphql';
import { createSchema } from './schema';

const HEADER = '# Generated from the resolvers by `npm run schema:emit`. Do not edit: a test fails when it is out of date.\n\n';

/** The SDL of the running schema, sorted so that the committed file only changes when the API does. */
export async function renderSchemaFile(): Promise<string> {
  return HEADER + printSchema(lexicographicSortSchema(await createSchema())) + '\n';
}
