import type { EntityManager } from '@mikro-orm/postgresql';
import { transactionally } from '../../platform/db/transaction';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { pgArray } from '../../platform/db/arrays';
import type { Logger } from '../../platform/logger';
import type { PresenceStatus } from './presence.store';

/** A state of the history: offline, or online with the status the agent set (AWAY: online, not taking chats). */
export type PresenceState = PresenceStatus | 'OFFLINE';

export function presenceStateOf(online: boolean, status: PresenceStatus): PresenceState {
  return online ? status : 'OFFLINE';
}

export interface PresenceInterval {
  agentId: string;
  state: PresenceState;
  startedAt: Date;
  /** Null while it is the agent's state now. */
  endedAt: Date | null;
}

/**
 * Presence intervals in PostgreSQL (`presence_intervals`), the record adherence reads. PresenceService writes
 * every transition it announces; the open interval of an agent is their state now, the same the live board
 * shows. The per-agent advisory lock orders writers of several processes: each closes the interval the one
 * before it opened. The state is read from the live store while the lock is held, so the last writer always
 * records the store's latest state, whatever order concurrent changes reached the database in; an instant
 * older than the open interval's start (clocks of two processes) is moved up to it rather than going back.
 */
export class PresenceHistory {
  constructor(
    private readonly fork: () => EntityManager,
    private readonly logger: Logger,
  ) {}

  /** Closes the agent's open interval and opens one in the state `current` reads; nothing when it has not changed. */
  async record(agentId: string, current: () => Promise<PresenceState>, at: Date): Promise<void> {
    await transactionally(this.fork(), async (tx) => {
      await tx.execute('SELECT pg_advisory_xact_lock(?, hashtext(?))', [AdvisoryLock.PRESENCE_HISTORY, agentId]);
      const state = await current();
      const [open] = await tx.execute<Array<{ id: string; state: PresenceState; started_at: Date }>>(
        'SELECT id, state, started_at FROM presence_intervals WHERE agent_id = ? AND ended_at IS NULL',
        [agentId],
      );
      if (open?.state === state) return;
      const when = open && new Date(open.started_at) > at ? new Date(open.started_at) : at;
      if (open) await tx.execute('UPDATE presence_intervals SET ended_at = ? WHERE id = ?', [when, open.id]);
      await tx.execute('INSERT INTO presence_intervals (agent_id, state, started_at) VALUES (?, ?, ?)', [agentId, state, when]);
    });
  }

  /** Like `record`, but a failure is logged, not thrown: live presence must keep working while the database is away. */
  async tryRecord(agentId: string, current: () => Promise<PresenceState>, at: Date): Promise<void> {
    try {
      await this.record(agentId, current, at);
    } catch (err) {
      this.logger.error({ err, agentId }, 'presence history write failed');
    }
  }

  /** The intervals of these agents that overlap [from, to), oldest first per agent. */
  async intervals(em: EntityManager, agentIds: string[], from: Date, to: Date): Promise<PresenceInterval[]> {
    if (!agentIds.length) return [];
    const rows = await em.execute<Array<{ agent_id: string; state: PresenceState; started_at: Date; ended_at: Date | null }>>(
      `SELECT agent_id, state, started_at, ended_at FROM presence_intervals
        WHERE agent_id = ANY(?::uuid[]) AND started_at < ? AND (ended_at IS NULL OR ended_at > ?)
        ORDER BY agent_id, started_at`,
      [pgArray(agentIds), to, from],
    );
    return rows.map((r) => ({
      agentId: r.agent_id,
      state: r.state,
      startedAt: new Date(r.started_at),
      endedAt: r.ended_at ? new Date(r.ended_at) : null,
    }));
  }
}
