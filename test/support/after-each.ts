import { liveApps } from './harness';

/**
 * Runs after every test of every file (jest `setupFilesAfterEnv`): the invariants that no test may break,
 * checked on each server the file has running, whatever the test was about. A seat leak (an agent's seat
 * count drifting from their ACTIVE conversations) once passed 859 tests because each test looked only at who
 * got the customer.
 */
afterEach(async () => {
  const checked = new Set<string>();
  for (const app of liveApps) {
    // Several servers of a cluster test share one database: check it once.
    if (checked.has(app.databaseUrl)) continue;
    checked.add(app.databaseUrl);
    const drift = await app.services.orm.em
      .fork()
      .getConnection()
      .execute<Array<{ agent_id: string; recorded: number; active: number }>>(
        `SELECT u.id AS agent_id, coalesce(s.active_chats, 0) AS recorded,
                (SELECT count(*)::int FROM conversations c WHERE c.agent_id = u.id AND c.status = 'ACTIVE') AS active
           FROM users u LEFT JOIN agent_states s ON s.agent_id = u.id
          WHERE coalesce(s.active_chats, 0) <> (SELECT count(*) FROM conversations c WHERE c.agent_id = u.id AND c.status = 'ACTIVE')`,
      );
    expect({ seatsDifferingFromActiveConversations: drift }).toEqual({ seatsDifferingFromActiveConversations: [] });
  }
});

/**
 * After each file: waits (at most 2 s) until the sockets and child processes the file opened have closed. A
 * stopped server's keep-alive sockets, a pg client that ended, a killed process close a few ms after the suite, but
 * jest gives a worker only 500 ms to exit once its last file is done: on a loaded machine they missed it, and jest
 * printed "a worker process has failed to exit gracefully". Nothing is asserted: a handle open for good is a leak
 * that `npx jest --detectOpenHandles <file>` names.
 */
const CLOSING = new Set(['TCPSocketWrap', 'TCPServerWrap', 'ProcessWrap', 'PipeConnectWrap']);
afterAll(async () => {
  const open = () => process.getActiveResourcesInfo().filter((r) => CLOSING.has(r)).length;
  const until = Date.now() + 2000;
  while (open() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10).unref());
});

/**
 * With SHIFTDESK_HANDLE_LOG=<file>: after each file, what the worker process still holds (resource kinds and
 * sockets' addresses) is appended to that file, to find the file that leaves a handle behind for good.
 */
const handleLog = process.env.SHIFTDESK_HANDLE_LOG;
if (handleLog) {
  afterAll(async () => {
    const { appendFileSync } = await import('node:fs');
    const kinds: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) kinds[r] = (kinds[r] ?? 0) + 1;
    const sockets = (process as unknown as { _getActiveHandles(): unknown[] })
      ._getActiveHandles()
      .filter(
        (h): h is { localPort?: number; remotePort?: number; remoteAddress?: string } =>
          typeof h === 'object' && h !== null && 'remotePort' in h,
      )
      .map((h) => `${h.remoteAddress}:${h.remotePort}<-${h.localPort}`);
    appendFileSync(handleLog, `${process.pid} ${expect.getState().testPath} ${JSON.stringify(kinds)} ${sockets.join(' ')}\n`);
  });
}
