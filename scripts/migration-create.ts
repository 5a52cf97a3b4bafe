/**
 * `npm run migration:create -- <what>`: writes migrations/Migration<UTC timestamp>_<what>.ts (hand-written
 * SQL, like the others) and appends it to migrations/index.ts, which lists the order they are applied in.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// From dist/scripts/ (compiled) to the repository's migrations/.
const dir = path.resolve(__dirname, '../../migrations');
const what = (process.argv[2] ?? '').trim();
if (!/^[a-z][a-z0-9_]*$/.test(what)) {
  console.error('usage: npm run migration:create -- <what>   (lowercase words joined by _, e.g. ticket_tags)');
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const name = `Migration${stamp}_${what}`;
const file = path.join(dir, `${name}.ts`);
if (existsSync(file)) {
  console.error(`${file} exists already`);
  process.exit(1);
}

writeFileSync(
  file,
  `import { Migration } from '@mikro-orm/migrations';

/** What this changes and why (constraints belong in the database). */
export class ${name} extends Migration {
  override async up(): Promise<void> {
    this.addSql(\`\`);
  }
}
`,
);

const indexFile = path.join(dir, 'index.ts');
const index = readFileSync(indexFile, 'utf8');
const lastImport = index.lastIndexOf('\nimport ');
const importsEnd = index.indexOf('\n', lastImport + 1);
const listEnd = index.lastIndexOf('];');
const updated =
  index.slice(0, importsEnd + 1) +
  `import { ${name} } from './${name}';\n` +
  index.slice(importsEnd + 1, listEnd) +
  `  { name: '${name}', class: ${name} },\n` +
  index.slice(listEnd);
writeFileSync(indexFile, updated);
console.log(`wrote migrations/${name}.ts and added it to migrations/index.ts`);
