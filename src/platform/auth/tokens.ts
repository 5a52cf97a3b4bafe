import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { Role } from './roles';

export interface TokenClaims {
  userId: string;
  role: Role;
  /** The user's `tokenVersion` when the token was issued; bumping it revokes every older token. */
  version: number;
}

const ISSUER = 'shiftdesk';

/** HS256 JWTs that expire. Verification failures of any kind are reported as a problem, never thrown. */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttl: string,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(claims: TokenClaims): Promise<{ token: string; expiresAt: Date }> {
    const token = await new SignJWT({ role: claims.role, ver: claims.version })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(this.ttl)
      .sign(this.key);
    const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER });
    return { token, expiresAt: new Date((payload.exp ?? 0) * 1000) };
  }

  /** The token's claims, or why it was refused: an expired one was signed by us, unlike an invalid one. Never throws for a bad token. */
  async verify(token: string): Promise<{ claims: VerifiedToken } | { problem: 'EXPIRED' | 'INVALID' }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.ver !== 'number' || typeof payload.role !== 'string')
        return { problem: 'INVALID' };
      if (typeof payload.exp !== 'number') return { problem: 'INVALID' };
      return { claims: { userId: payload.sub, role: payload.role as Role, version: payload.ver, expiresAt: new Date(payload.exp * 1000) } };
    } catch (err) {
      // jose checks the signature before the claims, so JWTExpired means one of ours that ran out.
      if (err instanceof joseErrors.JWTExpired) return { problem: 'EXPIRED' };
      if (err instanceof joseErrors.JOSEError) return { problem: 'INVALID' };
      throw err;
    }
  }
}

export type VerifiedToken = TokenClaims & { expiresAt: Date };

/**
 * What an Authorization header (or the connection_init `authorization`) holds: no credentials at all
 * (absent or blank), a bearer token, or something else, which is a client mistake worth naming.
 */
export function parseAuthorization(header: unknown): { token: string } | { token: null; wrongScheme: boolean } {
  if (header === undefined || header === null || (typeof header === 'string' && header.trim() === ''))
    return { token: null, wrongScheme: false };
  const token = bearerToken(header);
  if (token) return { token };
  // "Bearer" with something that is no token after it (e.g. the playground's placeholder): the scheme is
  // right and the token is not, which verification reports as INVALID.
  if (typeof header === 'string' && /^Bearer\s/i.test(header.trim())) return { token: header.trim().slice(7).trim() };
  return { token: null, wrongScheme: true };
}

/** `Bearer <token>` → `<token>`; anything else → null. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1] : null;
}
