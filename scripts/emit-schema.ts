import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderSchemaFile } from '../src/schema-file';

/** Writes schema.graphql at the repository root (run from dist/ after `npm run build`). */
async function main() {
  const file = path.resolve(process.cwd(), 'schema.graphql');
  writeFileSync(file, await renderSchemaFile());
  process.stdout.write(`wrote ${file}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
