import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedAncestor } from '../../src/platform/db/embedded-postgres';

describe('the embedded PostgreSQL data directory', () => {
  it('names the first parent directory other users cannot enter', () => {
    const locked = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-locked-')); // mode 700
    const inner = path.join(locked, 'data');
    mkdirSync(inner);
    chmodSync(inner, 0o755);
    expect(closedAncestor(inner)).toBe(locked);
    chmodSync(locked, 0o755);
    expect(closedAncestor(inner)).toBeNull();
  });
});
