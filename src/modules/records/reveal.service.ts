import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { registerEnumType } from 'type-graphql';
import type { Config } from '../../config';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { managesDepartment, signedIn } from '../../platform/auth/scope';
import { inTransaction } from '../../platform/db/transaction';
import { Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import { isUuid } from '../../platform/ids';
import type { AuditService } from '../audit/audit.service';
import type { TextProtector } from './text-protector';

/** Which protected text revealText opens. */
export enum ProtectedTextKind {
  MESSAGE = 'MESSAGE',
  TICKET_SUBJECT = 'TICKET_SUBJECT',
  TICKET_DESCRIPTION = 'TICKET_DESCRIPTION',
  TICKET_COMMENT = 'TICKET_COMMENT',
  LEAVE_REASON = 'LEAVE_REASON',
}
registerEnumType(ProtectedTextKind, {
  name: 'ProtectedTextKind',
  description: 'A text that may hold personal data: its original is sealed, its column holds the masked text',
});

export const MAX_REASON_LENGTH = 500;

/** One protected text and whom it concerns, read in one statement: `owner` is the subject, `handler` the agent. */
interface TextRow {
  text: string;
  sealed: Buffer | null;
  owner: string;
  handler: string | null;
  department_id: string | null;
  internal: boolean;
}

const KINDS: Record<ProtectedTextKind, { table: string; property: string; target: string; sql: string }> = {
  MESSAGE: {
    table: 'messages',
    property: 'content',
    target: 'Message',
    sql: `SELECT x.content AS text, x.sealed, c.customer_id AS owner, c.agent_id AS handler, c.department_id, false AS internal
            FROM messages x JOIN conversations c ON c.id = x.conversation_id WHERE x.id = ?`,
  },
  TICKET_SUBJECT: {
    table: 'tickets',
    property: 'subject',
    target: 'Ticket',
    sql: `SELECT x.subject AS text, x.sealed, x.customer_id AS owner, x.assignee_id AS handler, x.department_id, false AS internal FROM tickets x WHERE x.id = ?`,
  },
  TICKET_DESCRIPTION: {
    table: 'tickets',
    property: 'description',
    target: 'Ticket',
    sql: `SELECT x.description AS text, x.sealed, x.customer_id AS owner, x.assignee_id AS handler, x.department_id, false AS internal FROM tickets x WHERE x.id = ?`,
  },
  TICKET_COMMENT: {
    table: 'ticket_comments',
    property: 'body',
    target: 'TicketComment',
    sql: `SELECT x.body AS text, x.sealed, t.customer_id AS owner, t.assignee_id AS handler, t.department_id, x.internal
            FROM ticket_comments x JOIN tickets t ON t.id = x.ticket_id WHERE x.id = ?`,
  },
  LEAVE_REASON: {
    table: 'leave_requests',
    property: 'reason',
    target: 'LeaveRequest',
    sql: `SELECT x.reason AS text, x.sealed, x.requester_id AS owner, x.requester_id AS handler, x.department_id, false AS internal FROM leave_requests x WHERE x.id = ?`,
  },
};

/**
 * revealText: the original of a protected text, for the roles REVEAL_ROLES allows, each in its scope (a customer
 * their own texts, an agent — when allowed — their own conversations and tickets, a manager their department,
 * an admin all). Every reveal is audited with its reason in the transaction that reads the key, and rate limited.
 * A text whose seal does not open (subject forgotten, or tampered) is answered masked.
 */
export class RevealService {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    private readonly protector: TextProtector,
    private readonly audit: AuditService,
    limiters: RateLimiters,
    private readonly settings: Config['encryption'],
  ) {
    this.limiter = limiters.create('reveal-text', settings.revealPerHour, 3600);
  }

  async reveal(scope: RequestScope, kind: ProtectedTextKind, id: string, reason: string): Promise<string> {
    const viewer = signedIn(scope.viewer);
    const why = reason.trim();
    if (!why || why.length > MAX_REASON_LENGTH) throw new InvalidInput('reason', `must say why, in 1 to ${MAX_REASON_LENGTH} characters`);
    if (!this.settings.revealRoles.includes(viewer.role)) throw new Forbidden(`${viewer.role} may not reveal personal data (REVEAL_ROLES)`);
    const spec = KINDS[kind];
    if (!isUuid(id)) throw new NotFound(spec.target, id);
    await consumeOrThrow(this.limiter, viewer.id, 'Too many reveals; try again later');
    return inTransaction(scope.em, async (em) => {
      const [row] = await em.execute<TextRow[]>(spec.sql, [id]);
      if (!row) throw new NotFound(spec.target, id);
      await this.authorize(em, viewer, row);
      let text = row.text;
      let outcome = 'original';
      if (row.sealed) {
        const opened = await this.protector.open(em, spec.table, id, row.sealed);
        if (typeof opened === 'string')
          outcome = opened === 'DESTROYED' ? 'masked: the subject was forgotten' : 'masked: the sealed text failed authentication';
        else text = opened[spec.property] ?? row.text;
      }
      this.audit.record(em, scope, {
        action: 'text.reveal',
        targetType: spec.target,
        targetId: id,
        summary: `Revealed ${kind} (${outcome})`,
        comment: why,
      });
      await em.flush();
      return text;
    });
  }

  private async authorize(em: RequestScope['em'], viewer: Viewer, row: TextRow): Promise<void> {
    if (viewer.role === Role.ADMIN) return;
    if (viewer.role === Role.CUSTOMER) {
      if (row.owner !== viewer.id || row.internal) throw new Forbidden('You may reveal your own texts only');
      return;
    }
    if (viewer.role === Role.MANAGER) {
      if (!managesDepartment(viewer, row.department_id) && row.owner !== viewer.id)
        throw new Forbidden('Managers reveal texts of their own department only');
      return;
    }
    // An agent (REVEAL_ROLES includes AGENT): their own conversations and tickets, in the allowed departments.
    if (row.handler !== viewer.id) throw new Forbidden('Agents reveal texts of their own conversations and tickets only');
    const allowed = this.settings.revealAgentDepartments;
    if (allowed.length) {
      const [dept] = row.department_id
        ? await em.execute<Array<{ code: string }>>(`SELECT code FROM departments WHERE id = ?`, [row.department_id])
        : [];
      if (!dept || !allowed.includes(dept.code))
        throw new Forbidden('Agents of this department may not reveal personal data (REVEAL_AGENT_DEPARTMENTS)');
    }
  }
}
