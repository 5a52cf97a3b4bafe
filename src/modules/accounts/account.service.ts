import { randomBytes } from 'node:crypto';
import { LockMode } from '@mikro-orm/postgresql';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RequestScope } from '../../platform/request-scope';
import { isUuid } from '../../platform/ids';
import { decoyPasswordHash, hashPassword, verifyPassword } from '../../platform/auth/passwords';
import { Role, Viewer } from '../../platform/auth/roles';
import type { TokenService } from '../../platform/auth/tokens';
import { inTransaction, violatedConstraint } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound, Unauthenticated } from '../../platform/errors';
import { render } from '../../platform/i18n/catalogue';
import { chooseLocale } from '../../platform/i18n/locales';
import type { Logger } from '../../platform/logger';
import { Page, paginate } from '../../platform/pagination';
import type { SessionCache } from '../../platform/auth/session-cache';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import type { AuditService } from '../audit/audit.service';
import type { HotCache } from '../../platform/cache/hot-cache';
import { selectByIdStatement, type PreparedStatement, type PreparedStatements } from '../../platform/db/prepared';
import { Department } from './department.entity';
import { createFirstAdmin } from './first-admin';
import { User } from './user.entity';
import type { CreateDepartmentInput, CreateUserInput, RegisterCustomerInput, UpdateUserInput, UserFilter } from './account.inputs';

const STAFF_ROLES_WITH_DEPARTMENT = new Set([Role.MANAGER, Role.AGENT]);

/** Constraint name → the input field it guards and the message users see. */
const UNIQUE_FIELDS: Record<string, { field: string; message: string }> = {
  users_email_key: { field: 'email', message: 'is already taken' },
  users_employee_code_key: { field: 'employeeCode', message: 'is already taken' },
  departments_name_key: { field: 'name', message: 'is already taken' },
  departments_code_key: { field: 'code', message: 'is already taken' },
};

export interface SessionRevokedEvent {
  userId: string;
}

export class AccountService {
  private readonly loginByEmail: RateLimiterAbstract;
  private readonly loginByIp: RateLimiterAbstract;
  private readonly registerByIp: RateLimiterAbstract;
  private readUser: PreparedStatement | undefined;

  constructor(
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    private readonly sessions: SessionCache,
    limiters: RateLimiters,
    limits: { maxFailures: number; windowSeconds: number; registerPerHour: number },
    private readonly cache: HotCache,
    private readonly statements: PreparedStatements,
  ) {
    this.loginByEmail = limiters.create('login-email', limits.maxFailures, limits.windowSeconds);
    this.loginByIp = limiters.create('login-ip', limits.maxFailures * 4, limits.windowSeconds);
    this.registerByIp = limiters.create('register-ip', limits.registerPerHour, 3600);
  }

  /**
   * Unknown e-mail, wrong password and deactivated account all give the same UNAUTHENTICATED, after the
   * same amount of hashing work. Attempts are counted per e-mail and per client address; a success gives
   * its points back.
   */
  async login(scope: RequestScope, emailInput: string, password: string) {
    const email = emailInput.trim().toLowerCase();
    const limitMessage = 'Too many failed sign-ins; try again later';
    // Each attempt takes its points before the password is checked (an atomic increment, in Redis too):
    // parallel attempts cannot all pass a check that none of them has been counted in yet.
    await consumeOrThrow(this.loginByIp, scope.ip, limitMessage);
    try {
      await consumeOrThrow(this.loginByEmail, email, limitMessage);
    } catch (err) {
      // No password was checked: the address keeps its point, so a blocked address cannot lock accounts.
      await this.loginByIp.reward(scope.ip, 1);
      throw err;
    }

    const user = await scope.em.findOne(User, { email }, { populate: ['passwordHash'] });
    const ok = await verifyPassword(user?.passwordHash ?? (await decoyPasswordHash()), password);
    if (!user || !ok || !user.active) throw new Unauthenticated('Wrong e-mail or password');
    await Promise.all([this.loginByEmail.delete(email), this.loginByIp.reward(scope.ip, 1)]);
    return this.authPayload(user);
  }

  async registerCustomer(scope: RequestScope, input: RegisterCustomerInput) {
    await consumeOrThrow(this.registerByIp, scope.ip, 'Too many sign-ups from this address; try again later');
    const user = await inTransaction(scope.em, async (em) => {
      const row = em.create(User, {
        email: normaliseEmail(input.email),
        displayName: input.displayName.trim(),
        role: Role.CUSTOMER,
        passwordHash: await hashPassword(input.password),
      });
      // The entry's actor is the new user (a foreign key, which MikroORM does not see in a plain id
      // column), so the user row goes in first, by its own flush.
      await flushTranslating(em);
      this.audit.record(
        em,
        { viewer: { id: row.id, role: Role.CUSTOMER, departmentId: null }, traceId: scope.traceId },
        {
          action: 'user.register',
          targetType: 'User',
          targetId: row.id,
          summary: `Customer ${row.email} registered`,
        },
      );
      await em.flush();
      return row;
    });
    return this.authPayload(user);
  }

  /**
   * The viewer's row by one prepared statement, made an entity of the request's EntityManager: `me` is the
   * query every client sends first and often, and the ORM's query building cost several times the read itself.
   */
  async me(scope: RequestScope): Promise<User> {
    const viewer = requireSignedIn(scope);
    const em = scope.em;
    const known = em.getUnitOfWork().getById<User>(User.name, viewer.id);
    if (known) return known;
    this.readUser ??= selectByIdStatement(em.getMetadata().get(User.name));
    const [row] = await this.statements.run<Record<string, unknown>>(this.readUser, [viewer.id]);
    if (!row) throw new Unauthenticated();
    return em.map(User, row);
  }

  /** Admins see everyone; managers their own department; nobody else may list users. */
  async list(scope: RequestScope, filter: UserFilter, first: number, after?: string | null): Promise<Page<User>> {
    const viewer = requireSignedIn(scope);
    const where: FilterQuery<User> = {};
    if (viewer.role === Role.MANAGER) {
      if (filter.departmentId && filter.departmentId !== viewer.departmentId) throw new Forbidden('Managers see their own department only');
      where.departmentId = viewer.departmentId;
    } else if (viewer.role !== Role.ADMIN) {
      throw new Forbidden();
    } else if (filter.departmentId) {
      where.departmentId = filter.departmentId;
    }
    if (filter.role) where.role = filter.role;
    if (filter.active !== undefined && filter.active !== null) where.active = filter.active;
    if (filter.skill) where.skills = { $contains: [filter.skill] };
    if (filter.search?.trim()) {
      const like = `%${escapeLike(filter.search.trim())}%`;
      where.$or = [{ displayName: { $ilike: like } }, { email: { $ilike: like } }, { employeeCode: { $ilike: like } }];
    }
    return paginate(scope.em, User, where, { first, after, orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  async user(scope: RequestScope, id: string): Promise<User> {
    const viewer = requireSignedIn(scope);
    const user = await scope.em.findOne(User, { id });
    if (!user) throw new NotFound('User', id);
    if (!canSee(viewer, user)) throw new Forbidden();
    return user;
  }

  async createUser(scope: RequestScope, input: CreateUserInput): Promise<User> {
    requireRole(scope, Role.ADMIN);
    return inTransaction(scope.em, async (em) => {
      const departmentId = await this.checkDepartmentFor(em, input.role, input.departmentId ?? null);
      const user = em.create(User, {
        email: normaliseEmail(input.email),
        displayName: input.displayName.trim(),
        role: input.role,
        departmentId,
        employeeCode: input.employeeCode ?? null,
        skills: normaliseSkills(input.skills ?? []),
        ...(input.maxConcurrentChats != null ? { maxConcurrentChats: input.maxConcurrentChats } : {}),
        passwordHash: await hashPassword(input.password),
      });
      this.audit.record(em, scope, {
        action: 'user.create',
        targetType: 'User',
        targetId: user.id,
        summary: `Created ${user.role} ${user.email}`,
      });
      await flushTranslating(em);
      return user;
    });
  }

  /**
   * Admins change anything. Managers may edit agents of their own department (name, code, skills,
   * capacity) but not roles, departments or passwords. A role change signs the user out everywhere.
   */
  async updateUser(scope: RequestScope, id: string, input: UpdateUserInput): Promise<User> {
    const viewer = requireSignedIn(scope);
    if (viewer.role !== Role.ADMIN && viewer.role !== Role.MANAGER) throw new Forbidden();
    let revoked = false;
    const user = await inTransaction(scope.em, async (em, afterCommit) => {
      const user = await em.findOne(User, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!user) throw new NotFound('User', id);
      if (viewer.role === Role.MANAGER) {
        if (user.departmentId !== viewer.departmentId || user.role !== Role.AGENT) {
          throw new Forbidden('Managers edit agents of their own department only');
        }
        const adminOnly = (['role', 'departmentId', 'password'] as const).filter((k) => input[k] !== undefined && input[k] !== null);
        if (adminOnly.length) throw new Forbidden(`Only admins change ${adminOnly.join(', ')}`);
      }
      const changes: string[] = [];
      const departmentBefore = user.departmentId;
      if (input.displayName != null) user.displayName = input.displayName.trim();
      if (input.employeeCode != null) user.employeeCode = input.employeeCode;
      if (input.skills != null) user.skills = normaliseSkills(input.skills);
      if (input.maxConcurrentChats != null) user.maxConcurrentChats = input.maxConcurrentChats;
      if (input.password != null) {
        user.passwordHash = await hashPassword(input.password);
        changes.push('password');
      }
      const newRole = input.role ?? user.role;
      const newDepartment = input.departmentId !== undefined && input.departmentId !== null ? input.departmentId : user.departmentId;
      if (newRole !== user.role || newDepartment !== user.departmentId) {
        if (user.id === viewer.id && newRole !== user.role) throw new Forbidden('You cannot change your own role');
        user.departmentId = await this.checkDepartmentFor(
          em,
          newRole,
          newRole === Role.CUSTOMER || newRole === Role.ADMIN ? (input.departmentId ?? null) : newDepartment,
        );
      }
      if (newRole !== user.role) {
        this.audit.record(em, scope, {
          action: 'user.role_change',
          targetType: 'User',
          targetId: user.id,
          summary: `Role of ${user.email} changed from ${user.role} to ${newRole}`,
        });
        user.role = newRole;
        revoked = true;
      }
      // A new department changes what the user may see: their open sockets (and subscriptions of the old
      // department) must end, and WebSocket operations trust a socket's viewer between checks.
      if (user.departmentId !== departmentBefore) revoked = true;
      if (changes.includes('password')) revoked = true;
      if (revoked) {
        user.tokenVersion += 1;
        afterCommit(() => this.revokeSessions(user.id));
      }
      this.audit.record(em, scope, {
        action: 'user.update',
        targetType: 'User',
        targetId: user.id,
        summary: `Updated ${user.email}: ${describeUpdate(input)}`,
      });
      await flushTranslating(em);
      return user;
    });
    return user;
  }

  async deactivateUser(scope: RequestScope, id: string): Promise<User> {
    const viewer = requireRole(scope, Role.ADMIN);
    if (id === viewer.id) throw new Conflict(ConflictReason.SELF_DEACTIVATION, 'You cannot deactivate yourself');
    return inTransaction(scope.em, async (em, afterCommit) => {
      const user = await em.findOne(User, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!user) throw new NotFound('User', id);
      if (!user.active) return user;
      user.active = false;
      user.tokenVersion += 1;
      this.audit.record(em, scope, {
        action: 'user.deactivate',
        targetType: 'User',
        targetId: user.id,
        summary: `Deactivated ${user.email}`,
      });
      await em.flush();
      afterCommit(() => this.revokeSessions(user.id));
      return user;
    });
  }

  /**
   * Anonymises a customer account in `em`'s transaction (records' forgetCustomer): no name, e-mail or usable
   * password left, signed out everywhere. Staff accounts are refused: the deletion right is the customer's.
   */
  async anonymiseCustomer(em: EntityManager, afterCommit: (fn: () => unknown) => void, userId: string): Promise<User> {
    const user = isUuid(userId) ? await em.findOne(User, { id: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
    if (!user) throw new NotFound('User', userId);
    if (user.role !== Role.CUSTOMER) throw new InvalidInput('userId', 'is a staff account: only customers are forgotten');
    user.email = `forgotten-${user.id}@forgotten.invalid`;
    user.displayName = render({ id: 'account.forgottenName' }, chooseLocale(user.locale, null, Role.CUSTOMER).locale);
    user.active = false;
    user.tokenVersion += 1;
    user.passwordHash = `!forgotten-${randomBytes(16).toString('hex')}`; // no argon2 hash: verifies no password
    afterCommit(() => this.revokeSessions(user.id));
    return user;
  }

  async createDepartment(scope: RequestScope, input: CreateDepartmentInput): Promise<Department> {
    requireRole(scope, Role.ADMIN);
    const created = inTransaction(scope.em, async (em) => {
      const dept = em.create(Department, {
        name: input.name.trim(),
        code: input.code,
        description: input.description?.trim() || null,
        createdAt: new Date(),
      });
      this.audit.record(em, scope, {
        action: 'department.create',
        targetType: 'Department',
        targetId: dept.id,
        summary: `Created department ${dept.name} (${dept.code})`,
      });
      await flushTranslating(em);
      return dept;
    });
    return this.cache.invalidateAfter('departments', created);
  }

  /** Staff; from the process's cache (a fork of its own reads it: cached rows belong to no request). */
  departments(scope: RequestScope): Promise<Department[]> {
    const viewer = requireSignedIn(scope);
    if (viewer.role === Role.CUSTOMER) throw new Forbidden();
    return this.cache.get('departments', 'all', () => scope.em.fork().find(Department, {}, { orderBy: { name: 'asc' } }));
  }

  /** See createFirstAdmin. */
  ensureFirstAdmin(
    em: EntityManager,
    email: string,
    password: string | null,
    logger: Logger,
    keepGenerated?: (generated: string) => void,
  ): Promise<string | null> {
    return createFirstAdmin(em, this.audit, { email, password, logger, keepGenerated });
  }

  private async checkDepartmentFor(em: EntityManager, role: Role, departmentId: string | null): Promise<string | null> {
    if (role === Role.CUSTOMER) {
      if (departmentId) throw new InvalidInput('departmentId', 'must be empty for customers');
      return null;
    }
    if (!departmentId) {
      if (STAFF_ROLES_WITH_DEPARTMENT.has(role)) throw new InvalidInput('departmentId', `is required for ${role.toLowerCase()}s`);
      return null;
    }
    if (!isUuid(departmentId) || !(await em.findOne(Department, { id: departmentId }, { fields: ['id'] }))) {
      throw new InvalidInput('departmentId', 'is not a known department');
    }
    return departmentId;
  }

  private async authPayload(user: User) {
    const { token, expiresAt } = await this.tokens.issue({ userId: user.id, role: user.role, version: user.tokenVersion });
    return { token, expiresAt, user };
  }

  /** On every process, before the mutation answers (see SessionCache.revokeEverywhere). */
  private revokeSessions(userId: string): Promise<void> {
    return this.sessions.revokeEverywhere(userId);
  }
}

function requireSignedIn(scope: RequestScope): Viewer {
  if (!scope.viewer) throw new Unauthenticated();
  return scope.viewer;
}

function requireRole(scope: RequestScope, role: Role): Viewer {
  const viewer = requireSignedIn(scope);
  if (viewer.role !== role) throw new Forbidden();
  return viewer;
}

function canSee(viewer: Viewer, user: User): boolean {
  if (viewer.role === Role.ADMIN || viewer.id === user.id) return true;
  return viewer.role === Role.MANAGER && user.departmentId !== null && user.departmentId === viewer.departmentId;
}

/** Flushes, turning a violated unique constraint into CONFLICT naming the field. */
async function flushTranslating(em: EntityManager): Promise<void> {
  try {
    await em.flush();
  } catch (err) {
    const violated = violatedConstraint(err);
    const known = violated && UNIQUE_FIELDS[violated.constraint];
    if (known) throw new Conflict(ConflictReason.ALREADY_EXISTS, `${known.field} ${known.message}`, { fields: [known] });
    throw err;
  }
}

function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function normaliseSkills(skills: string[]): string[] {
  return [...new Set(skills.map((s) => s.trim()).filter(Boolean))];
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function describeUpdate(input: UpdateUserInput): string {
  return Object.entries(input)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k]) => (k === 'password' ? 'password' : k))
    .join(', ');
}
