import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Session } from './context';
import type { Role, Viewer } from './platform/auth/roles';
import type { Logger } from './platform/logger';

/**
 * Users read per statement when the sessions are checked again: plain rows, a batch at a time, so a check of
 * thousands of sockets never holds the event loop for long (hydrating them as entities took tens of ms).
 */
const CHECK_BATCH = 500;

interface UserRow {
  id: string;
  role: Role;
  department_id: string | null;
  active: boolean;
  token_version: number;
}

/** Whose sockets these are: the user's id, or an API key's (revokeApiKey revokes that id). */
export function principalOf(session: Session): string {
  return session.viewer.integration?.keyId ?? session.viewer.id;
}

/**
 * The signed-in WebSockets of this process, by user. A socket's token and user row are checked when it
 * connects; after that its operations (a chat client sends one per message) trust the session and check
 * only the token's expiry. What would end a session — deactivation, a change of role, department or
 * password — revokes the user's sessions, and `revoke` (fed by SESSION_REVOKED from every process) closes
 * their sockets at once. As a backstop for a revocation event that never arrived (Redis pub/sub is
 * at-most-once), `checkAll` re-reads the rows of every connected user, a thousand per statement, every
 * WS_SESSION_RECHECK_SECONDS, and closes the sockets whose row no longer matches.
 */
export class SocketSessions {
  private readonly byUser = new Map<string, Map<WebSocket, Session>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly em: () => EntityManager,
    private readonly logger: Logger,
  ) {}

  /** Tracks an open socket until it closes. */
  add(socket: WebSocket, session: Session): void {
    const userId = principalOf(session);
    let sockets = this.byUser.get(userId);
    if (!sockets) this.byUser.set(userId, (sockets = new Map()));
    sockets.set(socket, session);
    socket.once('close', () => {
      sockets!.delete(socket);
      if (sockets!.size === 0 && this.byUser.get(userId) === sockets) this.byUser.delete(userId);
    });
  }

  /** How many sockets of this user are open on this process. */
  connectionsOf(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  /** The socket's viewer for an operation now, or null when its session has ended (the token expired). */
  viewerOf(session: Session | undefined): Viewer | null {
    if (!session || Date.now() >= session.expiresAt.getTime()) return null;
    return session.viewer;
  }

  revoke(userId: string): void {
    for (const socket of this.byUser.get(userId)?.keys() ?? []) socket.close(CloseCode.Forbidden, 'Session revoked');
  }

  /** An API key was rotated: its open sockets, all signed in with the old secret, end with the overlap. */
  rotated(keyId: string, until: Date): void {
    for (const session of this.byUser.get(keyId)?.values() ?? []) {
      if (session.expiresAt > until) session.expiresAt = until;
    }
  }

  /** Re-reads every connected user's row: sockets of users deactivated, or with another role or token version, close with 4403. */
  async checkAll(): Promise<void> {
    const ids = [...this.byUser.keys()];
    for (let i = 0; i < ids.length; i += CHECK_BATCH) {
      const batch = ids.slice(i, i + CHECK_BATCH);
      const rows = await this.em()
        .getConnection()
        .execute<UserRow[]>('SELECT id, role, department_id, active, token_version FROM users WHERE id IN (?)', [batch]);
      const byId = new Map(rows.map((u) => [u.id, u]));
      const liveKeys = await this.liveKeys(batch);
      for (const userId of batch) {
        const user = byId.get(userId);
        for (const [socket, session] of this.byUser.get(userId) ?? []) {
          // An API key's socket is indexed by the key: it lasts while the key is not revoked.
          if (session.viewer.integration) {
            if (!liveKeys.has(userId)) socket.close(CloseCode.Forbidden, 'Session ended');
            continue;
          }
          if (!user || !user.active || user.role !== session.viewer.role || user.token_version !== session.tokenVersion) {
            socket.close(CloseCode.Forbidden, 'Session ended');
          } else if (user.department_id !== session.viewer.departmentId) {
            session.viewer = { id: user.id, role: user.role, departmentId: user.department_id };
          }
        }
      }
    }
  }

  /** Of these principals, the API keys not revoked (no query when no key's socket is among them). */
  private async liveKeys(principals: string[]): Promise<Set<string>> {
    const keys = principals.filter((id) => [...(this.byUser.get(id)?.values() ?? [])].some((s) => s.viewer.integration));
    if (keys.length === 0) return new Set();
    const rows = await this.em()
      .getConnection()
      .execute<Array<{ id: string }>>('SELECT id FROM api_keys WHERE id IN (?) AND revoked_at IS NULL', [keys]);
    return new Set(rows.map((r) => r.id));
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.checkAll().catch((err) => this.logger.warn({ err }, 'websocket sessions: check failed; next time'));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
