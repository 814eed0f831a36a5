/**
 * Encryption at rest: the browser state of a session (cookies, storage, IndexedDB,
 * sessionStorage, and its identity: a proxy password is a credential) sealed with AES-256-GCM. Names, tags, expiry and metadata stay readable, so
 * `raptor list` works without the key; reading a session's state needs it.
 *
 * Keys: `RAPTOR_KEY` (32 bytes as 64 hex digits or base64), else `$RAPTOR_HOME/key` (mode 0600,
 * created by `raptor config set encryption on`). A key is known by its id, the first 16 hex
 * digits of its sha256, stored in every envelope: a wrong key is named, never decrypted to garbage
 * (GCM authenticates). Which key opens and seals what is decided in one place,
 * `src/crypto/key-policy.ts`; the key file is read and written only by `src/crypto/key-file.ts`.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { RaptorError } from '../core/errors.js';
import type { Envelope, SessionStorageMap, StorageState } from '../core/record.js';
import type { Identity } from '../core/identity.js';

export interface SealedState {
  storageState: StorageState;
  sessionStorage?: SessionStorageMap;
  identity?: Identity;
}

export interface Key {
  id: string;
  bytes: Buffer;
}

export function keyId(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export function parseKey(text: string, source: string): Key {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (bytes.length !== 32) {
    throw new RaptorError('CONFIG_INVALID', `${source} is not a 256-bit key: give 64 hex digits or 32 bytes in base64 (e.g. \`openssl rand -base64 32\`).`);
  }
  return { id: keyId(bytes), bytes };
}

export function newKey(): Key {
  const bytes = randomBytes(32);
  return { id: keyId(bytes), bytes };
}


export function seal(state: SealedState, key: Key): Envelope {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final()]);
  return { v: 1, alg: 'aes-256-gcm', kid: key.id, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Opens `envelope` with `key`, the one its `kid` names (the key policy picks it). */
export function open(envelope: Envelope, key: Key, name: string): SealedState {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(envelope.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8');
    return JSON.parse(text) as SealedState;
  } catch (error) {
    throw new RaptorError('INVALID_SESSION', `Session \`${name}\` does not decrypt with key ${key.id}: its encrypted state was altered or damaged.`, { cause: error });
  }
}
