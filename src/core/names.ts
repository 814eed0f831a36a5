/**
 * Session name -> file name. Deterministic, case-collision-safe, and never leaves the directory.
 *
 * - A name that is already safe maps to itself: `acme-admin` -> `acme-admin.json`.
 * - Any other name maps to `<slug>--<8 hex of sha256(name)>.json`: `Acme Admin` -> `acme-admin--1f2e3d4c.json`.
 *
 * Safe names never end in `--` + 8 hex digits, so the two forms cannot collide. Safe names
 * are lowercase ASCII and hashed slugs are too, so case-insensitive file systems see no twins.
 * Nothing here touches the file system.
 */
import { createHash } from 'node:crypto';
import { RaptorError } from './errors.js';

export const MAX_NAME_LENGTH = 200;
const MAX_SAFE_LENGTH = 100;
const MAX_SLUG_LENGTH = 60;
const SAFE_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const HASH_SUFFIX = /--[0-9a-f]{8}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** Windows device names, reserved with any extension (`con.txt` too). */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/;

/** Throws `INVALID_NAME` unless `name` is 1–200 characters without control characters. */
export function assertValidName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new RaptorError('INVALID_NAME', 'A session name cannot be empty. Use e.g. `acme-admin`.');
  }
  if ([...name].length > MAX_NAME_LENGTH) {
    throw new RaptorError(
      'INVALID_NAME',
      `Session name is ${[...name].length} characters long; the limit is ${MAX_NAME_LENGTH}. Use a shorter name.`,
    );
  }
  if (CONTROL_CHARS.test(name)) {
    throw new RaptorError('INVALID_NAME', 'Session names cannot contain control characters (newlines, tabs, NUL, ...).');
  }
  if (!name.isWellFormed()) {
    throw new RaptorError('INVALID_NAME', 'Session name contains a lone UTF-16 surrogate; it is not valid text.');
  }
}

/** True when `name` is its own file name (no hashing needed). */
export function isSafeName(name: string): boolean {
  return (
    name.length <= MAX_SAFE_LENGTH &&
    SAFE_NAME.test(name) &&
    !name.endsWith('.') &&
    !HASH_SUFFIX.test(name) &&
    !RESERVED.test(name.split('.')[0] ?? '')
  );
}

function slugOf(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+/, '')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/[-._]+$/, '');
  return slug === '' || RESERVED.test(slug.split('.')[0] ?? '') ? 'session' : slug;
}

/** The file name (without directory) that stores session `name`. Throws `INVALID_NAME`. */
export function fileNameFor(name: string): string {
  assertValidName(name);
  if (isSafeName(name)) return `${name}.json`;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8);
  return `${slugOf(name)}--${hash}.json`;
}

/** `acme-admin.json` -> `acme-admin`: the stem used for profile dirs and lock files. */
export function stemFor(name: string): string {
  return fileNameFor(name).slice(0, -'.json'.length);
}

/** True for a file name that could hold a session (not a temp, lock or hidden file). */
export function isSessionFileName(fileName: string): boolean {
  return fileName.endsWith('.json') && !fileName.startsWith('.') && fileName.length > '.json'.length;
}
