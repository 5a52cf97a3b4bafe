import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { departmentScope, signedIn, withRole } from '../../platform/auth/scope';
import { addDays, isBusinessDate, startOfBusinessDate } from '../../platform/clock';
import { FieldProblem, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { emptyPage, Page, paginate } from '../../platform/pagination';
import { TicketComment } from './ticket-comment.entity';
import { canSee } from './ticket-common';
import { ticketStats } from './ticket-stats';
import { Ticket } from './ticket.entity';
import type { TicketCategory, TicketFilter, TicketStats } from './ticket.inputs';
import { TicketOrder } from './ticket.inputs';
import type { TicketSettings } from './ticket.settings';

/** What a viewer may read of tickets: one, a list in queue order, comments, statistics, the categories. */
export class TicketQueryService {
  constructor(
    private readonly settings: TicketSettings,
    private readonly businessTz: string,
  ) {}

  categories(): TicketCategory[] {
    return Object.entries(this.settings.categories).map(([name, departmentCode]) => ({ name, departmentCode }));
  }

  async get(scope: RequestScope, id: string): Promise<Ticket> {
    const viewer = signedIn(scope.viewer);
    const ticket = isUuid(id) ? await scope.em.findOne(Ticket, { id }) : null;
    if (!ticket) throw new NotFound('Ticket', id);
    if (!canSee(viewer, ticket)) throw new Forbidden('This ticket is not yours to see');
    return ticket;
  }

  /**
   * Customers: their own. Agents: theirs and their department's unassigned queue. Managers: their
   * department. Admins: all. In queue order (priority, then the nearest due time) unless NEWEST is asked.
   */
  async list(scope: RequestScope, filter: TicketFilter, first: number, after?: string | null): Promise<Page<Ticket>> {
    const viewer = signedIn(scope.viewer);
    const and: Array<FilterQuery<Ticket>> = [];
    for (const field of ['departmentId', 'assigneeId', 'customerId'] as const) {
      if (filter[field] && !isUuid(filter[field]!)) throw new InvalidInput(field, 'is not an id');
    }
    switch (viewer.role) {
      case Role.CUSTOMER:
        if (filter.customerId && filter.customerId !== viewer.id) throw new Forbidden('Customers see their own tickets only');
        and.push({ customerId: viewer.id });
        break;
      case Role.AGENT:
        if (filter.assigneeId && filter.assigneeId !== viewer.id)
          throw new Forbidden('Agents see their own tickets and their department’s queue');
        if (filter.departmentId && filter.departmentId !== viewer.departmentId)
          throw new Forbidden('Agents see their own department’s queue only');
        and.push(
          viewer.departmentId
            ? { $or: [{ assigneeId: viewer.id }, { departmentId: viewer.departmentId, assigneeId: null }] }
            : { assigneeId: viewer.id },
        );
        break;
      case Role.MANAGER: {
        const department = departmentScope(viewer, filter.departmentId);
        if (!department) return emptyPage();
        and.push({ departmentId: department });
        break;
      }
      case Role.ADMIN:
        if (filter.departmentId) and.push({ departmentId: filter.departmentId });
        break;
    }
    if (filter.status?.length) and.push({ status: { $in: filter.status } });
    if (filter.priority) and.push({ priority: filter.priority });
    if (filter.category) and.push({ category: filter.category });
    if (filter.assigneeId) and.push({ assigneeId: filter.assigneeId });
    if (filter.customerId) and.push({ customerId: filter.customerId });
    if (filter.unassigned === true) and.push({ assigneeId: null });
    if (filter.unassigned === false) and.push({ assigneeId: { $ne: null } });
    if (filter.tag) and.push({ tags: { $overlap: [filter.tag.trim()] } });
    const where = (and.length === 1 ? and[0] : { $and: and }) as FilterQuery<Ticket>;
    const orderBy =
      filter.order === TicketOrder.NEWEST
        ? ({ createdAt: 'desc', id: 'desc' } as const)
        : ({ priorityRank: 'asc', nextDueAt: 'asc', id: 'asc' } as const);
    return paginate(scope.em, Ticket, where, { first, after, orderBy });
  }

  /** Comments of a ticket the caller already may see; internal ones never reach customers (filtered in SQL). */
  comments(em: EntityManager, viewer: Viewer | null, ticketId: string): Promise<TicketComment[]> {
    const where: FilterQuery<TicketComment> = !viewer || viewer.role === Role.CUSTOMER ? { ticketId, internal: false } : { ticketId };
    return em.find(TicketComment, where, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  async stats(scope: RequestScope, from: string, to: string, departmentId?: string | null): Promise<TicketStats> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const problems: FieldProblem[] = [];
    if (!isBusinessDate(from)) problems.push({ field: 'from', message: 'must be a real date YYYY-MM-DD' });
    if (!isBusinessDate(to)) problems.push({ field: 'to', message: 'must be a real date YYYY-MM-DD' });
    if (!problems.length && to < from) problems.push({ field: 'to', message: 'must not be before from' });
    if (departmentId && !isUuid(departmentId)) problems.push({ field: 'departmentId', message: 'is not an id' });
    if (problems.length) throw new InvalidInput(problems);
    const department = departmentScope(viewer, departmentId);
    if (viewer.role === Role.MANAGER && !department) throw new Forbidden('Managers without a department have no ticket statistics');
    const start = startOfBusinessDate(from, this.businessTz);
    const end = startOfBusinessDate(addDays(to, 1), this.businessTz);
    return ticketStats(scope.em, { from, to, start, end, departmentId: department, categories: Object.keys(this.settings.categories) });
  }
}
