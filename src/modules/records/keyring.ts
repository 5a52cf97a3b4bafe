import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The master keys (ENCRYPTION_KEYS): `k1:<base64 of 32 bytes>,k2:<…>;current=k2`. Ids are 1–32 letters,
 * digits, `_` or `-`; without `;current=`, the last key listed is current. Master keys only wrap the per-subject
 * data keys (data-keys.ts); new data keys are wrapped with the current one, rotation re-wraps the others.
 */
export interface Keyring {
  currentId: string;
  keys: ReadonlyMap<string, Buffer>;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const KEY_BYTES = 32;

/** Parses a keyring; any problem is an Error whose message says what is wrong (never echoing key material). */
export function parseKeyring(value: string): Keyring {
  const [list, ...options] = value.trim().split(';');
  const keys = new Map<string, Buffer>();
  for (const entry of list.split(',').map((s) => s.trim())) {
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`each key must be written id:<base64 of ${KEY_BYTES} bytes>, comma-separated`);
    const id = entry.slice(0, colon).trim();
    const material = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new Error(`key id "${id.slice(0, 40)}" must be 1–32 letters, digits, _ or -`);
    if (keys.has(id)) throw new Error(`key id ${id} is listed twice`);
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) throw new Error(`key ${id} must be ${KEY_BYTES} bytes in base64 (openssl rand -base64 ${KEY_BYTES})`);
    keys.set(id, key);
  }
  let currentId = [...keys.keys()].pop()!;
  for (const option of options) {
    const [name, v, extra] = option.split('=').map((s) => s.trim());
    if (name !== 'current' || !v || extra !== undefined)
      throw new Error(`unknown option "${option.trim().slice(0, 40)}" (only current=<key id>)`);
    if (!keys.has(v)) throw new Error(`the current key ${v} is not in the keyring (${[...keys.keys()].join(', ')})`);
    currentId = v;
  }
  return Object.freeze({ currentId, keys });
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM: iv ‖ tag ‖ ciphertext, bound to `aad` (a ciphertext moved to another row or key fails to open). */
export function encrypt(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Opens what `encrypt` wrote; throws when the ciphertext, its aad or the key is not the one it was sealed with. */
export function decrypt(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}
