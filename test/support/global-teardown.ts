import type { ChildProcess } from 'node:child_process';
import type { EmbeddedDatabase } from '../../src/platform/db/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  (g.__SHIFTDESK_REDIS__ as ChildProcess | undefined)?.kill('SIGTERM');
  await (g.__SHIFTDESK_PG__ as EmbeddedDatabase | undefined)?.stop();
}
