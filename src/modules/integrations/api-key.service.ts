import { createHash, randomBytes } from 'node:crypto';
import { EntityManager, LockMode } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { managesDepartment, withRole } from '../../platform/auth/scope';
import type { SessionCache } from '../../platform/auth/session-cache';
import { Conflict, ConflictReason, Forbidden, InvalidInput, NotFound } from '../../platform/errors';
import { inTransaction } from '../../platform/db/transaction';
import { isUuid } from '../../platform/ids';
import type { AuditService } from '../audit/audit.service';
import { Department } from '../accounts/department.entity';
import { API_KEY_PREFIX } from './api-key-scope';
import { ApiKey } from './api-key.entity';
import { MAX_API_KEY_NAME, type CreateApiKeyInput } from './api-key.inputs';

/**
 * SHA-256 of the secret. A slow password hash (argon2) is for secrets people choose; an API key is 32 random
 * bytes, which no guessing can reach, so a fast hash loses nothing, and a lookup by hash costs one index probe
 * per request instead of ~20 ms of argon2.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

const ROTATED = 'api-key-rotated:';

/** The id a rotation is announced under on the session revocation topic: it drops cached lookups, not sockets. */
export function rotationEventId(keyId: string): string {
  return ROTATED + keyId;
}

/** The key a revocation event's id announces the rotation of, if it is one. */
export function rotatedKeyOf(eventId: string): string | null {
  return eventId.startsWith(ROTATED) ? eventId.slice(ROTATED.length) : null;
}

function newSecret(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** createApiKey, apiKeys, revokeApiKey, rotateApiKey: admins for every key, managers for their department's. */
export class ApiKeyService {
  constructor(
    private readonly audit: AuditService,
    private readonly sessions: SessionCache,
    private readonly rotationOverlapMs: number,
  ) {}

  async create(scope: RequestScope, input: CreateApiKeyInput): Promise<{ apiKey: ApiKey; secret: string }> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const name = input.name.trim();
    const problems = [];
    if (!name) problems.push({ field: 'name', message: `must be 1 to ${MAX_API_KEY_NAME} characters` });
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) problems.push({ field: 'expiresAt', message: 'must be in the future' });
    if (input.departmentId && !isUuid(input.departmentId)) problems.push({ field: 'departmentId', message: 'is not an id' });
    if (problems.length) throw new InvalidInput(problems);
    const departmentId = input.departmentId ?? (viewer.role === Role.MANAGER ? viewer.departmentId : null);
    if (!managesDepartment(viewer, departmentId) && !(viewer.role === Role.ADMIN && departmentId === null))
      throw new Forbidden('Managers create keys for their own department only');
    const secret = newSecret();
    const apiKey = await inTransaction(scope.em, async (em) => {
      if (departmentId && !(await em.findOne(Department, { id: departmentId })))
        throw new InvalidInput('departmentId', 'no such department');
      const key = em.create(ApiKey, {
        name,
        prefix: secret.slice(0, API_KEY_PREFIX.length + 4),
        secretHash: hashSecret(secret),
        scopes: [...new Set(input.scopes)],
        departmentId,
        expiresAt: input.expiresAt ?? null,
        createdById: viewer.id,
        createdAt: new Date(),
      });
      this.audit.record(em, scope, {
        action: 'api_key.create',
        targetType: 'api_key',
        targetId: key.id,
        summary: `API key "${name}" created with ${key.scopes.join(', ')}${departmentId ? ` for department ${departmentId}` : ''}`,
      });
      await em.flush();
      return key;
    });
    return { apiKey, secret };
  }

  /** Newest first: every key for admins, their department's for managers. */
  async list(scope: RequestScope): Promise<ApiKey[]> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    if (viewer.role === Role.MANAGER && !viewer.departmentId) return [];
    const where = viewer.role === Role.ADMIN ? {} : { departmentId: viewer.departmentId };
    return scope.em.find(ApiKey, where, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** Revoked at once: every process forgets the key and closes its sockets before this answers. */
  async revoke(scope: RequestScope, id: string): Promise<ApiKey> {
    const key = await inTransaction(scope.em, async (em) => {
      const key = await this.lockManaged(em, scope.viewer, id);
      key.revokedAt = new Date();
      key.revokedById = scope.viewer!.id;
      this.audit.record(em, scope, {
        action: 'api_key.revoke',
        targetType: 'api_key',
        targetId: key.id,
        summary: `API key "${key.name}" revoked`,
      });
      await em.flush();
      return key;
    });
    await this.sessions.revokeEverywhere(key.id);
    return key;
  }

  /** A new secret; the old one keeps working for API_KEY_ROTATION_OVERLAP_SECONDS. */
  async rotate(scope: RequestScope, id: string): Promise<{ apiKey: ApiKey; secret: string }> {
    const secret = newSecret();
    const apiKey = await inTransaction(scope.em, async (em) => {
      const key = await this.lockManaged(em, scope.viewer, id);
      if (key.expiresAt && key.expiresAt.getTime() <= Date.now())
        throw new Conflict(ConflictReason.INVALID_STATE, 'The key has expired; create a new one', { state: 'EXPIRED', action: 'rotate' });
      const now = new Date();
      key.previousSecretHash = key.secretHash;
      key.previousValidUntil = new Date(now.getTime() + this.rotationOverlapMs);
      key.secretHash = hashSecret(secret);
      key.prefix = secret.slice(0, API_KEY_PREFIX.length + 4);
      key.rotatedAt = now;
      this.audit.record(em, scope, {
        action: 'api_key.rotate',
        targetType: 'api_key',
        targetId: key.id,
        summary: `API key "${key.name}" rotated; the old secret works until ${key.previousValidUntil.toISOString()}`,
      });
      await em.flush();
      return key;
    });
    // Cached lookups of the old secret carry no overlap end yet: every process drops them (sockets stay open).
    await this.sessions.revokeEverywhere(rotationEventId(apiKey.id));
    return { apiKey, secret };
  }

  /** The key, locked, when the viewer manages it and it is not revoked. */
  private async lockManaged(em: EntityManager, viewer: Viewer | null, id: string): Promise<ApiKey> {
    const v = withRole(viewer, Role.ADMIN, Role.MANAGER);
    const key = isUuid(id) ? await em.findOne(ApiKey, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
    if (!key) throw new NotFound('API key', id);
    if (!managesDepartment(v, key.departmentId)) throw new Forbidden('Managers manage their own department’s keys only');
    if (key.revokedAt) throw new Conflict(ConflictReason.INVALID_STATE, 'The key has been revoked', { state: 'REVOKED', action: 'change' });
    return key;
  }
}
