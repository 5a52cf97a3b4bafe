import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LocalSecrets {
  jwtSecret: string;
  pgPassword: string;
  /** The keyring used when ENCRYPTION_KEYS is unset, in its format (records/keyring.ts): one 32-byte key, k1. */
  encryptionKeys: string;
}

/** Secrets generated once on first start and kept in DATA_DIR, so restarts keep tokens and the database valid. */
export function loadLocalSecrets(dataDir: string): LocalSecrets {
  const file = path.join(dataDir, 'secrets.json');
  mkdirSync(dataDir, { recursive: true });
  const existing: Partial<LocalSecrets> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const secrets: LocalSecrets = {
    jwtSecret: existing.jwtSecret ?? randomBytes(48).toString('base64url'),
    pgPassword: existing.pgPassword ?? randomBytes(24).toString('base64url'),
    encryptionKeys: existing.encryptionKeys ?? `k1:${randomBytes(32).toString('base64')}`,
  };
  if (
    existing.jwtSecret !== secrets.jwtSecret ||
    existing.pgPassword !== secrets.pgPassword ||
    existing.encryptionKeys !== secrets.encryptionKeys
  ) {
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}

/** A generated first-admin password, kept until a start has completed (see app.ts). */
export interface KeptAdminPassword {
  email: string;
  password: string;
}

export function firstAdminPasswordFile(dataDir: string): string {
  return path.join(dataDir, 'first-admin-password.json');
}

/** Written (mode 0600, via a rename so it is whole or absent) before the account is committed. */
export function keepFirstAdminPassword(dataDir: string, kept: KeptAdminPassword): void {
  const file = firstAdminPasswordFile(dataDir);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(kept), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function readKeptFirstAdminPassword(dataDir: string): KeptAdminPassword | null {
  try {
    const kept = JSON.parse(readFileSync(firstAdminPasswordFile(dataDir), 'utf8')) as Partial<KeptAdminPassword>;
    return typeof kept.email === 'string' && typeof kept.password === 'string' ? { email: kept.email, password: kept.password } : null;
  } catch {
    return null;
  }
}

export function forgetFirstAdminPassword(dataDir: string): void {
  rmSync(firstAdminPasswordFile(dataDir), { force: true });
}
