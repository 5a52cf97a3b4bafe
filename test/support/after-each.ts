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
