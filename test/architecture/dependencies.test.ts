import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const depcruise = path.join(root, 'node_modules/.bin/depcruise');
const config = path.join(root, '.dependency-cruiser.cjs');

/** Runs the import rules over `src` of `cwd`; resolves to the violations' report ('' when there are none). */
async function violations(cwd: string): Promise<string> {
  try {
    await run(depcruise, ['src', '--config', config, '--output-type', 'err'], { cwd });
    return '';
  } catch (err) {
    const e = err as { stdout?: string; code?: number };
    if (e.code === 1 || (e.stdout ?? '').includes('error')) return e.stdout ?? String(err);
    throw err;
  }
}

/** A throw-away tree with the given files (paths under src/) and a tsconfig, removed afterwards. */
async function inTree(files: Record<string, string>, check: (report: string) => void): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shiftdesk-deps-'));
  try {
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022' } }));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    check(await violations(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('import rules (.dependency-cruiser.cjs)', () => {
  jest.setTimeout(60_000);

  it('the source has no import cycle and breaks none of the rules', async () => {
    expect(await violations(root)).toBe('');
  });

  it('the check fails on a cycle, type-only imports included', async () => {
    await inTree(
      {
        'src/modules/a/a.service.ts': "import type { B } from '../b/b.service';\nexport interface A { b: B }\n",
        'src/modules/b/b.service.ts': "import type { A } from '../a/a.service';\nexport interface B { a: A }\n",
      },
      (report) => expect(report).toMatch(/no-circular/),
    );
  });

  it("the check fails when a module reaches into another module's internals, or a service reaches for the wiring", async () => {
    await inTree(
      {
        'src/modules/a/a.resolver.ts': 'export const resolver = 1;\n',
        'src/modules/b/b.service.ts':
          "import { resolver } from '../a/a.resolver';\nimport { services } from '../../services';\nexport const b = resolver + services;\n",
        'src/services.ts': 'export const services = 1;\n',
      },
      (report) => {
        expect(report).toMatch(/no-reaching-into-another-module/);
        expect(report).toMatch(/modules-do-not-import-the-wiring/);
      },
    );
  });

  it('the check fails when platform code imports a module', async () => {
    await inTree(
      {
        'src/modules/a/a.service.ts': 'export const a = 1;\n',
        'src/platform/p.ts': "import { a } from '../modules/a/a.service';\nexport const p = a;\n",
      },
      (report) => expect(report).toMatch(/platform-knows-no-module/),
    );
  });
});
