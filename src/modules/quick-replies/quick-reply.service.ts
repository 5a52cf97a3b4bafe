import { LockMode, NotFoundError } from '@mikro-orm/postgresql';
import type { EntityManager, ObjectQuery } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, STAFF, Viewer } from '../../platform/auth/roles';
import { managesDepartment, withRole } from '../../platform/auth/scope';
import { inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';
import type { AuditService } from '../audit/audit.service';
import { Faq } from '../knowledge/faq.entity';
import { canReadFaq } from '../knowledge/faq-rules';
import { QuickReply, QuickReplyScope } from './quick-reply.entity';
import {
  CATEGORY_MAX,
  CONTENT_MAX,
  CreateQuickReplyInput,
  MAX_QUICK_REPLIES_LISTED,
  MAX_SEARCH_LENGTH,
  SHORTCUT_MESSAGE,
  SHORTCUT_PATTERN,
  TITLE_MAX,
  UpdateQuickReplyInput,
} from './quick-reply.inputs';
import { fillTemplate } from './quick-reply.template';

/** The partial unique indexes that keep a shortcut unique on its shelf (see the migration). */
const SHORTCUT_INDEXES = new Set([
  'quick_replies_personal_shortcut_key',
  'quick_replies_department_shortcut_key',
  'quick_replies_public_shortcut_key',
]);

/**
 * The search expression, written exactly as the trigram index `quick_replies_search_trgm` is, so ILIKE can use
 * it. U+001F separates the fields; searches never contain control characters, so no match spans two fields.
 */
const SEARCH_EXPRESSION = `(q.title || E'\\x1f' || q.content || E'\\x1f' || coalesce(q.shortcut, ''))`;

type ReplyShelf = Pick<QuickReply, 'scope' | 'ownerId' | 'departmentId'>;

// ---- The rules, as pure functions of the viewer and the reply (unit-tested on their own) ----

/** Whether `viewer` may list and send this reply: their own PERSONAL ones, their department's, the PUBLIC ones (admins: every department's). */
export function canUseQuickReply(viewer: Viewer, reply: ReplyShelf): boolean {
  if (viewer.role === Role.CUSTOMER) return false;
  switch (reply.scope) {
    case QuickReplyScope.PERSONAL:
      return reply.ownerId === viewer.id;
    case QuickReplyScope.DEPARTMENT:
      return viewer.role === Role.ADMIN || (viewer.departmentId !== null && reply.departmentId === viewer.departmentId);
    case QuickReplyScope.PUBLIC:
      return true;
  }
}

export type EditAccess = 'ok' | 'forbidden' | 'not-found';

/**
 * Who changes or deletes a reply: a PERSONAL one only its owner (to anyone else it does not exist); a
 * DEPARTMENT one that department's manager or an admin; a PUBLIC one an admin. Customers nothing.
 */
export function quickReplyEditAccess(viewer: Viewer, reply: ReplyShelf): EditAccess {
  if (viewer.role === Role.CUSTOMER) return 'forbidden';
  switch (reply.scope) {
    case QuickReplyScope.PERSONAL:
      return reply.ownerId === viewer.id ? 'ok' : 'not-found';
    case QuickReplyScope.DEPARTMENT:
      return managesDepartment(viewer, reply.departmentId) ? 'ok' : 'forbidden';
    case QuickReplyScope.PUBLIC:
      return viewer.role === Role.ADMIN ? 'ok' : 'forbidden';
  }
}

/**
 * The department a new reply of `scope` belongs to (null for PERSONAL and PUBLIC), or FORBIDDEN /
 * BAD_USER_INPUT: agents create PERSONAL replies only; a manager's DEPARTMENT reply is their own
 * department's; an admin names the department; PUBLIC replies are admins'.
 */
export function quickReplyPlacement(viewer: Viewer, scope: QuickReplyScope, departmentId?: string | null): string | null {
  if (viewer.role === Role.CUSTOMER) throw new Forbidden();
  switch (scope) {
    case QuickReplyScope.PERSONAL:
      if (departmentId) throw new InvalidInput('departmentId', 'is only for DEPARTMENT replies');
      return null;
    case QuickReplyScope.PUBLIC:
      if (viewer.role !== Role.ADMIN) throw new Forbidden('Only admins keep public quick replies');
      if (departmentId) throw new InvalidInput('departmentId', 'is only for DEPARTMENT replies');
      return null;
    case QuickReplyScope.DEPARTMENT:
      if (viewer.role === Role.ADMIN) {
        if (!departmentId) throw new InvalidInput('departmentId', 'is required for a DEPARTMENT reply');
        return departmentId;
      }
      if (viewer.role !== Role.MANAGER) throw new Forbidden('Only managers and admins keep department quick replies');
      if (!viewer.departmentId) throw new Forbidden('You manage no department');
      if (departmentId && departmentId !== viewer.departmentId)
        throw new Forbidden("Managers keep their own department's quick replies only");
      return viewer.departmentId;
  }
}

/** What `quickReplies` lists for `viewer`: their PERSONAL replies, one department's, and the PUBLIC ones. */
export function quickReplyVisibility(viewer: Viewer, departmentId?: string | null): ObjectQuery<QuickReply> {
  if (viewer.role === Role.CUSTOMER) throw new Forbidden();
  let department = viewer.departmentId;
  if (departmentId) {
    if (viewer.role !== Role.ADMIN && departmentId !== viewer.departmentId)
      throw new Forbidden('You see your own department’s quick replies only');
    department = departmentId;
  }
  return {
    $or: [
      { scope: QuickReplyScope.PERSONAL, ownerId: viewer.id },
      ...(department ? [{ scope: QuickReplyScope.DEPARTMENT, departmentId: department }] : []),
      { scope: QuickReplyScope.PUBLIC },
    ],
  };
}

/** The chat module's part of sending a quick reply; see `QuickReplyService.sendQuickReply`. */
export interface QuickReplyChat<M> {
  /** The conversation's customer (and agent); NOT_FOUND when it does not exist. */
  parties(em: EntityManager, conversationId: string): Promise<{ customer: { displayName: string }; agent: { displayName: string } | null }>;
  /** Sends `content` into the conversation as the caller (the chat module checks that they may). */
  send(input: { conversationId: string; content: string; clientMessageId: string }): Promise<M>;
  /** Counts the conversation as answered with the FAQ (the knowledge module's learning from service). */
  answeredWithFaq(conversationId: string, faqId: string): Promise<void>;
}

export class QuickReplyService {
  constructor(private readonly audit: AuditService) {}

  async create(scope: RequestScope, input: CreateQuickReplyInput): Promise<QuickReply> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const departmentId = quickReplyPlacement(viewer, input.scope, input.departmentId);
    const fields = {
      title: text('title', input.title, TITLE_MAX),
      content: text('content', input.content, CONTENT_MAX),
      category: text('category', input.category, CATEGORY_MAX),
      shortcut: shortcut(input.shortcut),
    };
    return inTransaction(scope.em, async (em) => {
      if (departmentId && (!isUuid(departmentId) || !(await em.findOne(Department, { id: departmentId }, { fields: ['id'] })))) {
        throw new InvalidInput('departmentId', 'is not a known department');
      }
      const faqId = await linkableFaq(em, viewer, input.faqId);
      const reply = em.create(QuickReply, { ownerId: viewer.id, departmentId, scope: input.scope, faqId, ...fields });
      this.audit.record(em, scope, {
        action: 'quickReply.create',
        targetType: 'QuickReply',
        targetId: reply.id,
        summary: `Created ${reply.scope} quick reply “${reply.title}”${reply.shortcut ? ` (${reply.shortcut})` : ''}`,
      });
      await flushReply(em);
      return reply;
    });
  }

  /** Title, content, category, shortcut and the linked FAQ change; scope and department stay. */
  async update(scope: RequestScope, id: string, input: UpdateQuickReplyInput): Promise<QuickReply> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const changes: Partial<Pick<QuickReply, 'title' | 'content' | 'category' | 'shortcut' | 'faqId'>> = {};
    if (input.title != null) changes.title = text('title', input.title, TITLE_MAX);
    if (input.content != null) changes.content = text('content', input.content, CONTENT_MAX);
    if (input.category != null) changes.category = text('category', input.category, CATEGORY_MAX);
    if (input.shortcut !== undefined) changes.shortcut = shortcut(input.shortcut);
    return inTransaction(scope.em, async (em) => {
      const reply = await this.editable(em, viewer, id);
      if (input.faqId !== undefined) changes.faqId = await linkableFaq(em, viewer, input.faqId);
      const changed = (Object.keys(changes) as Array<keyof typeof changes>).filter((k) => reply[k] !== changes[k]);
      Object.assign(reply, changes);
      this.audit.record(em, scope, {
        action: 'quickReply.update',
        targetType: 'QuickReply',
        targetId: reply.id,
        summary: `Updated ${reply.scope} quick reply “${reply.title}”: ${changed.length ? changed.join(', ') : 'no changes'}`,
      });
      await flushReply(em);
      return reply;
    });
  }

  /** Returns the id of the reply removed. */
  async delete(scope: RequestScope, id: string): Promise<string> {
    const viewer = withRole(scope.viewer, ...STAFF);
    return inTransaction(scope.em, async (em) => {
      const reply = await this.editable(em, viewer, id);
      this.audit.record(em, scope, {
        action: 'quickReply.delete',
        targetType: 'QuickReply',
        targetId: reply.id,
        summary: `Deleted ${reply.scope} quick reply “${reply.title}”`,
        comment: reply.content,
      });
      em.remove(reply);
      await em.flush();
      return reply.id;
    });
  }

  /**
   * The caller's PERSONAL replies, their department's (or, for admins, `departmentId`'s) and the PUBLIC ones,
   * by scope then title; `search` looks in title, content and shortcut ignoring case; at most 100.
   */
  async list(
    scope: RequestScope,
    opts: { search?: string | null; category?: string | null; departmentId?: string | null } = {},
  ): Promise<QuickReply[]> {
    const viewer = withRole(scope.viewer, ...STAFF);
    if (opts.departmentId && !isUuid(opts.departmentId)) throw new InvalidInput('departmentId', 'is not a known department');
    const where = quickReplyVisibility(viewer, opts.departmentId);
    const search = checkSearch(opts.search);
    const qb = scope.em.createQueryBuilder(QuickReply, 'q').where(where);
    const category = opts.category?.trim();
    if (category) qb.andWhere({ category });
    if (search) qb.andWhere(`${SEARCH_EXPRESSION} ILIKE ?`, [`%${escapeLike(search)}%`]);
    return qb.orderBy({ scope: 'asc', title: 'asc', id: 'asc' }).limit(MAX_QUICK_REPLIES_LISTED).getResultList();
  }

  /** The categories of the replies the caller sees, in order. */
  async categories(scope: RequestScope): Promise<string[]> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const rows = await scope.em
      .createQueryBuilder(QuickReply, 'q')
      .select('category', true)
      .where(quickReplyVisibility(viewer))
      .orderBy({ category: 'asc' })
      .execute<Array<{ category: string }>>('all');
    return rows.map((r) => r.category);
  }

  /** A reply the caller may use (list and send); NOT_FOUND otherwise, so nobody learns of others' replies. */
  async usable(scope: RequestScope, id: string): Promise<QuickReply> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const reply = isUuid(id) ? await scope.em.findOne(QuickReply, { id }) : null;
    if (!reply || !canUseQuickReply(viewer, reply)) throw new NotFound('Quick reply', id);
    return reply;
  }

  /** The reply's content with {customerName} (the conversation's customer) and {agentName} (the caller, who sends it) filled in. */
  async render(scope: RequestScope, reply: QuickReply, customerName: string): Promise<string> {
    const viewer = withRole(scope.viewer, ...STAFF);
    const sender = await scope.em.findOneOrFail(User, { id: viewer.id });
    return fillTemplate(reply.content, { customerName, agentName: sender.displayName });
  }

  /**
   * Sends a quick reply into a conversation as a message: checks that the caller may use the reply, fills its
   * placeholders, and hands the text to the chat module (`chat.send`), which checks the conversation and
   * stores the message. The chat module is passed in so that this module does not depend on it. A reply linked
   * to an FAQ counts as answering with that FAQ, as `sendFaq` does.
   */
  async sendQuickReply<M>(
    scope: RequestScope,
    args: { conversationId: string; quickReplyId: string; clientMessageId: string },
    chat: QuickReplyChat<M>,
  ): Promise<M> {
    const reply = await this.usable(scope, args.quickReplyId);
    if (!isUuid(args.conversationId)) throw new NotFound('Conversation', args.conversationId);
    const { customer } = await chat.parties(scope.em, args.conversationId).catch((err: unknown) => {
      // conversationParties uses findOneOrFail: a missing conversation is the caller's NOT_FOUND, not a 500.
      throw err instanceof NotFoundError ? new NotFound('Conversation', args.conversationId) : err;
    });
    const content = await this.render(scope, reply, customer.displayName);
    const message = await chat.send({ conversationId: args.conversationId, content, clientMessageId: args.clientMessageId });
    if (reply.faqId) await chat.answeredWithFaq(args.conversationId, reply.faqId);
    return message;
  }

  private async editable(em: EntityManager, viewer: Viewer, id: string): Promise<QuickReply> {
    const reply = isUuid(id) ? await em.findOne(QuickReply, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
    if (!reply) throw new NotFound('Quick reply', id);
    const access = quickReplyEditAccess(viewer, reply);
    if (access === 'not-found') throw new NotFound('Quick reply', id);
    if (access === 'forbidden') {
      throw new Forbidden(
        reply.scope === QuickReplyScope.PUBLIC
          ? 'Only admins change public quick replies'
          : "Only the department's manager or an admin changes its quick replies",
      );
    }
    return reply;
  }
}

/** Trimmed, 1 to `max` characters (code points, as PostgreSQL's char_length counts). */
function text(field: string, value: string, max: number): string {
  const v = value.trim();
  const length = [...v].length;
  if (length < 1 || length > max) throw new InvalidInput(field, `must be 1 to ${max} characters`);
  return v;
}

/** The FAQ a reply may be linked to: one the caller may read (else BAD_USER_INPUT, as for an unknown one); null unlinks. */
async function linkableFaq(em: EntityManager, viewer: Viewer, faqId: string | null | undefined): Promise<string | null> {
  if (faqId === null || faqId === undefined) return null;
  const faq = isUuid(faqId) ? await em.findOne(Faq, { id: faqId }) : null;
  if (!faq || !canReadFaq(viewer, faq)) throw new InvalidInput('faqId', 'is not a known FAQ');
  return faq.id;
}

function shortcut(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (!SHORTCUT_PATTERN.test(value)) throw new InvalidInput('shortcut', SHORTCUT_MESSAGE);
  return value;
}

/** The trimmed search, or null for none; BAD_USER_INPUT when too long or holding control characters. */
function checkSearch(search: string | null | undefined): string | null {
  if (search === null || search === undefined) return null;
  if ([...search].length > MAX_SEARCH_LENGTH) throw new InvalidInput('search', `must be at most ${MAX_SEARCH_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(search)) throw new InvalidInput('search', 'must not contain control characters');
  return search.trim() || null;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

async function flushReply(em: EntityManager): Promise<void> {
  try {
    await em.flush();
  } catch (err) {
    const violated = violatedConstraint(err);
    if (violated && SHORTCUT_INDEXES.has(violated.constraint)) {
      throw new Conflict(ConflictReason.ALREADY_EXISTS, 'shortcut is already taken', {
        fields: [{ field: 'shortcut', message: 'is already taken' }],
      });
    }
    throw err;
  }
}
