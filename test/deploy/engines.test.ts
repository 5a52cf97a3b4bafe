import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { REPO_ROOT } from '../support/processes';

const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as T;

/**
 * ShiftDesk runs on Node 20, here and in CI. Every package the lock file installs must say it runs on the oldest
 * Node package.json accepts (`engines.node`): newer releases of a few packages deep under graphql-tools and
 * graphql-yoga declare Node 22, and package.json's `overrides` keep the releases before them.
 */
describe('package-lock.json', () => {
  it('installs no package whose engines exclude the oldest Node the project accepts', () => {
    const oldest = semver.minVersion(readJson<{ engines: { node: string } }>('package.json').engines.node)!;
    expect(oldest.major).toBe(20);
    const { packages } = readJson<{ packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> }>(
      'package-lock.json',
    );
    const refusing = Object.entries(packages).flatMap(([where, p]) => {
      const node = Array.isArray(p.engines) ? undefined : p.engines?.node;
      return node !== undefined && !semver.satisfies(oldest, node) ? [`${where}@${p.version} (node ${node})`] : [];
    });
    expect(refusing).toEqual([]);
  });
});
