import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { EmbeddedDatabase } from '../../src/platform/db/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  (g.__SHIFTDESK_REDIS__ as ChildProcess | undefined)?.kill('SIGTERM');
  await (g.__SHIFTDESK_PG__ as EmbeddedDatabase | undefined)?.stop();
  const runDir = g.__SHIFTDESK_TMP__ as string | undefined;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}
