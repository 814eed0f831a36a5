/**
 * Encryption at rest: the browser state of a session (cookies, storage, IndexedDB,
 * sessionStorage) sealed with AES-256-GCM. Names, tags, expiry and metadata stay readable, so
 * `raptor list` works without the key; reading a session's state needs it.
 *
 * Keys: `RAPTOR_KEY` (32 bytes as 64 hex digits or base64), else `$RAPTOR_HOME/key` (mode 0600,
 * created by `raptor config set encryption on`). A key is known by its id, the first 16 hex
 * digits of its sha256, stored in every envelope: a wrong key is named, never decrypted to garbage
 * (GCM authenticates), and `raptor rekey` can find each session's key on a ring of old and new keys.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RaptorError, errnoCode } from './errors.js';
import { fsFault } from './fs/fs-errors.js';
import type { Envelope, SessionStorageMap, StorageState } from './record.js';

export interface SealedState {
  storageState: StorageState;
  sessionStorage?: SessionStorageMap;
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

export const KEY_FILE = 'key';
/** Written by `rekey` before any session is re-encrypted, renamed to `key` when all are done. */
export const NEXT_KEY_FILE = 'key.next';

async function readKeyFile(path: string): Promise<Key | undefined> {
  try {
    return parseKey(await readFile(path, 'utf8'), path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The key to encrypt with, plus every key that may still open older sessions. */
export interface KeyRing {
  current: Key | undefined;
  all: Key[];
}

export async function loadKeyRing(home: string, env: NodeJS.ProcessEnv = process.env): Promise<KeyRing> {
  const fromEnv = env['RAPTOR_KEY'] ? parseKey(env['RAPTOR_KEY'], 'RAPTOR_KEY') : undefined;
  const fromFile = await readKeyFile(join(home, KEY_FILE));
  const next = await readKeyFile(join(home, NEXT_KEY_FILE)); // an interrupted rekey: its key opens what it already did
  const current = fromEnv ?? fromFile;
  const all = [current, next, fromEnv ? fromFile : undefined].filter((k): k is Key => k !== undefined);
  return { current, all };
}

/** Writes `key` as the key file (0600, atomically): the file `name` in `home`. */
export async function writeKeyFile(home: string, key: Key, name = KEY_FILE): Promise<string> {
  const path = join(home, name);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, `${key.bytes.toString('base64')}\n`, { mode: 0o600, flag: 'w' });
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (error) {
    throw fsFault(error, path) ?? error; // a full or read-only disk is the user's to fix (src/fs/fs-errors.ts)
  }
  return path;
}

export function seal(state: SealedState, key: Key): Envelope {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final()]);
  return { v: 1, alg: 'aes-256-gcm', kid: key.id, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

export function open(envelope: Envelope, ring: KeyRing, name: string): SealedState {
  const key = ring.all.find((k) => k.id === envelope.kid);
  if (!key) {
    const have = ring.all.length === 0 ? 'no key is set' : `the key${ring.all.length > 1 ? 's' : ''} at hand ${ring.all.length > 1 ? 'are' : 'is'} ${ring.all.map((k) => k.id).join(', ')}`;
    throw new RaptorError(
      'ENCRYPTION_KEY',
      `Session \`${name}\` is encrypted with key ${envelope.kid}, and ${have}. Set RAPTOR_KEY to that key (or restore ~/.raptor/key); \`raptor list\` works without it.`,
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(envelope.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8');
    return JSON.parse(text) as SealedState;
  } catch (error) {
    throw new RaptorError('INVALID_SESSION', `Session \`${name}\` does not decrypt with key ${key.id}: its encrypted state was altered or damaged.`, { cause: error });
  }
}
