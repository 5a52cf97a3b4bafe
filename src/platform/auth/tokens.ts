import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { Role } from './roles';

export interface TokenClaims {
  userId: string;
  role: Role;
  /** The user's `tokenVersion` when the token was issued; bumping it revokes every older token. */
  version: number;
}

const ISSUER = 'shiftdesk';

/** HS256 JWTs that expire. Verification failures of any kind are reported as `null`, never thrown. */
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

  async verify(token: string): Promise<(TokenClaims & { expiresAt: Date }) | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.ver !== 'number' || typeof payload.role !== 'string') return null;
      if (typeof payload.exp !== 'number') return null;
      return { userId: payload.sub, role: payload.role as Role, version: payload.ver, expiresAt: new Date(payload.exp * 1000) };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      throw err;
    }
  }
}

/** `Bearer <token>` → `<token>`; anything else → null. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1] : null;
}
