import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LocalSecrets {
  jwtSecret: string;
  pgPassword: string;
}

/** Secrets generated once on first start and kept in DATA_DIR, so restarts keep tokens and the database valid. */
export function loadLocalSecrets(dataDir: string): LocalSecrets {
  const file = path.join(dataDir, 'secrets.json');
  mkdirSync(dataDir, { recursive: true });
  const existing: Partial<LocalSecrets> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const secrets: LocalSecrets = {
    jwtSecret: existing.jwtSecret ?? randomBytes(48).toString('base64url'),
    pgPassword: existing.pgPassword ?? randomBytes(24).toString('base64url'),
  };
  if (existing.jwtSecret !== secrets.jwtSecret || existing.pgPassword !== secrets.pgPassword) {
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}
