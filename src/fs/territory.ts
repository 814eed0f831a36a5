/**
 * Territory (DESIGN.md "Territory"): the one place that decides whether raptor may create,
 * write, move or delete at a path. raptor touches only
 * - a sessions directory it created, that carries its marker file, or that it adopted (see
 *   `claimSessionsDir`);
 * - its own named subdirectories (`.quarantine`, `profiles`, `crawls`, `locks`, a profile or a
 *   crawl), and only when they are real directories: a symbolic link or a file in their place is
 *   refused, never followed;
 * - files it creates itself, always with O_EXCL | O_NOFOLLOW, so a name planted as a link
 *   beforehand cannot redirect a write.
 *
 * Races between a check and the operation: Node has no `renameat`/`unlinkat`, so a path checked
 * here could in theory be swapped for a link before the rename. Every directory raptor writes in
 * is 0700 and the user's own, so only the user (or root) can do that swap; file *contents* are
 * never written through a path that could be a link (O_EXCL | O_NOFOLLOW creates, then rename).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RaptorError, errnoCode } from '../core/errors.js';
import { fsyncDirSync, fsyncFileSync } from './file-io.js';

/** The marker file that makes a directory raptor's: `{ "raptor": "sessions", "version": 1, "markedAt": … }`. */
export const MARKER_FILE = '.raptor-sessions';
const QUARANTINE = '.quarantine';
/** Files a desktop drops into any directory it shows; they do not make a directory foreign. */
const DESKTOP_LITTER = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini']);
/** Lock, lease, break-lock and temp files raptor leaves beside a session file (`.<file>.json.lock`, …). */
const RAPTOR_DOTFILE = /^\..+\.json\.(lock|lease|lock\.break|(lease\.)?\d+\.[0-9a-f]+\.tmp)$/;
/** A marker being written (`writeMarker`), or what a crash left of one. */
const MARKER_TEMP = /^\.raptor-sessions\.\d+\.[0-9a-f]+\.tmp$/;
const MAX_LISTED = 3;

export type EntryKind = 'missing' | 'file' | 'dir' | 'symlink' | 'other';

/** What is at `path` itself, never following a link (lstat). */
export function entryAt(path: string): { kind: EntryKind; stats?: Stats } {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  const kind: EntryKind = stats.isSymbolicLink() ? 'symlink' : stats.isDirectory() ? 'dir' : stats.isFile() ? 'file' : 'other';
  return { kind, stats };
}

/**
 * Makes `dir` usable as a sessions directory or refuses with `FOREIGN_DIRECTORY`:
 * - missing: created (0700, parents as needed) and marked;
 * - marked: used;
 * - empty: marked;
 * - not marked but holding only what raptor writes (session files that are raptor records,
 *   `.quarantine/`, lock/lease/temp files): adopted, i.e. marked, so sessions saved by a raptor
 *   from before markers are not locked out;
 * - anything else (a project, a home directory): refused, naming what is foreign, untouched.
 * `dir` itself may be a symbolic link the user chose (another disk); what it points at must pass.
 * Marking is best effort on a read-only directory: raptor cannot change it there anyway.
 */
export function claimSessionsDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOTDIR') throw notADirectory(dir, error);
    throw error;
  }
  if (isMarked(dir)) return; // the common case: one open, no listing of 10,000 names
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOTDIR') throw notADirectory(dir, error);
    throw error;
  }
  if (names.includes(MARKER_FILE)) {
    if (isMarker(join(dir, MARKER_FILE))) return;
    throw foreign(dir, [`${MARKER_FILE} (not raptor's marker file)`]);
  }
  const strangers = names.filter((name) => !isRaptorEntry(dir, name));
  if (strangers.length > 0) throw foreign(dir, strangers);
  writeMarker(dir);
}

/** True when `dir` carries raptor's marker (a regular file with raptor's JSON body). */
export function isMarked(dir: string): boolean {
  return isMarker(join(dir, MARKER_FILE));
}

function isMarker(path: string): boolean {
  // Hard links allowed: the marker appears by linking its written temp file into place (`writeMarker`).
  const text = readOwnFile(path, 4096, { hardLinks: 'allow' });
  if (text === undefined) return false;
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === 'object' && body !== null && (body as { raptor?: unknown }).raptor === 'sessions';
  } catch {
    return false; // not JSON: not raptor's marker
  }
}

/**
 * Writes the marker so that it appears whole or not at all: written and synced under a temp name,
 * then hard-linked into place (a link fails if the name exists, like O_EXCL). Created in place, it
 * was an empty file for a moment, and a second process opening the same new directory then (the
 * workers of a Playwright run do) refused it as a stranger's.
 */
function writeMarker(dir: string): void {
  const body = `${JSON.stringify({ raptor: 'sessions', version: 1, markedAt: new Date().toISOString() })}\n`;
  const temp = join(dir, `${MARKER_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    createFileExclusive(temp, body);
    // Durable like a session file: a power loss must not turn a raptor directory back into an unmarked one.
    fsyncFileSync(temp);
    try {
      linkSync(temp, join(dir, MARKER_FILE));
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error; // EEXIST: another process marked it at the same instant
    }
    fsyncDirSync(dir);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return; // read-only: nothing will be written here either
    throw error;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // never created (read-only), or already gone
    }
  }
}

/** An entry an older raptor could have written in a sessions directory. */
function isRaptorEntry(dir: string, name: string): boolean {
  if (DESKTOP_LITTER.has(name)) return true;
  const { kind } = entryAt(join(dir, name));
  if (kind === 'missing') return true; // gone since the listing (a marker's temp file, a lock): nothing there to object to
  if (name === QUARANTINE) return kind === 'dir';
  if (kind !== 'file') return false;
  if (RAPTOR_DOTFILE.test(name) || MARKER_TEMP.test(name)) return true;
  if (name.startsWith('.') || !name.endsWith('.json')) return false;
  return looksLikeRecord(readOwnFile(join(dir, name), 64 * 1024));
}

/**
 * A raptor session file, or what a crash or a full disk leaves of one: raptor writes
 * `schemaVersion` first, so even a torn file starts `{ "schemaVersion":`; an empty file is what a
 * power loss leaves of a new one. Enough to tell them from `package.json` or any other JSON.
 */
function looksLikeRecord(head: string | undefined): boolean {
  return head !== undefined && (head.length === 0 || /^\s*\{\s*"schemaVersion"\s*:/.test(head));
}

/**
 * The subdirectory `name` of one of raptor's directories, as a real directory: created 0700 when
 * missing and `create` is set (undefined when missing and not created). A link or a file in its
 * place is `FOREIGN_DIRECTORY`: raptor never follows it and never removes it.
 */
export function ownSubdir(parent: string, name: string, options: { create?: boolean } = {}): string | undefined {
  const path = join(parent, name);
  const { kind } = entryAt(path);
  if (kind === 'dir') return path;
  if (kind === 'missing') {
    if (!options.create) return undefined;
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      return ownSubdir(parent, name); // created meanwhile by another process: check what it is
    }
    return path;
  }
  throw notOwnDirectory(path, kind);
}

/** `ownSubdir` for a chain of names under `base` (created with its parents when missing; `base` is the user's choice). */
export function ownDirs(base: string, names: string[]): string {
  mkdirSync(base, { recursive: true, mode: 0o700 });
  let dir = base;
  for (const name of names) dir = ownSubdir(dir, name, { create: true })!;
  return dir;
}

/**
 * Removes the directory `parent/name` and what is in it when it is a real directory (links inside
 * are unlinked, never followed). A link or a file there is left alone and reported. False when
 * there was nothing to remove.
 */
export async function removeOwnTree(parent: string, name: string): Promise<boolean> {
  const path = join(parent, name);
  const { kind } = entryAt(path);
  if (kind === 'missing') return false;
  if (kind !== 'dir') throw notOwnDirectory(path, kind);
  await rm(path, { recursive: true, force: true });
  return true;
}

/** Creates `path` with `text`, mode 0600, failing when anything (a file, a link, even a dangling one) has that name. */
export function createFileExclusive(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a small file of raptor's own (a marker, a lock, `raptor-browser.json`, the key) without
 * following a link, and only when it is a regular file with one name: a link or a hard link in its
 * place is `FOREIGN_DIRECTORY`. Undefined when missing. `hardLinks: 'allow'` is for files raptor
 * only reads and never writes through (a lock appears by hard-linking its whole body into place).
 */
export function readOwnFile(path: string, maxBytes = 1024 * 1024, options: { hardLinks?: 'refuse' | 'allow' } = {}): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw notOwnFile(path, 'is a symbolic link');
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notOwnFile(path, 'is not a regular file');
    if (stats.nlink > 1 && options.hardLinks !== 'allow') throw notOwnFile(path, `has ${stats.nlink} hard links`);
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(stats.size, 1)));
    let offset = 0;
    while (offset < buffer.length) {
      const got = readSync(fd, buffer, offset, buffer.length - offset, offset);
      if (got === 0) break;
      offset += got;
    }
    return buffer.toString('utf8', 0, offset);
  } finally {
    closeSync(fd);
  }
}

function foreign(dir: string, strangers: string[]): RaptorError {
  const shown = strangers.slice(0, MAX_LISTED).map((s) => `\`${s}\``).join(', ');
  const more = strangers.length > MAX_LISTED ? ` and ${strangers.length - MAX_LISTED} more` : '';
  return new RaptorError(
    'FOREIGN_DIRECTORY',
    `\`${dir}\` is not a raptor sessions directory: it holds ${shown}${more}, which raptor did not write, and no \`${MARKER_FILE}\` marker. ` +
      'raptor never moves or deletes files it did not create. Point `--dir` (or RAPTOR_SESSIONS_DIR) at an empty or new directory, ' +
      'or, if this is an old raptor sessions directory, move those entries out and run the command again.',
  );
}

function notADirectory(dir: string, cause: unknown): RaptorError {
  return new RaptorError('STORE_UNAVAILABLE', `\`${dir}\` is not a directory. Point \`--dir\` (or RAPTOR_SESSIONS_DIR) at a directory.`, { cause });
}

function notOwnDirectory(path: string, kind: EntryKind): RaptorError {
  const what = kind === 'symlink' ? 'a symbolic link' : kind === 'file' ? 'a file' : 'not a directory';
  return new RaptorError(
    'FOREIGN_DIRECTORY',
    `\`${path}\` is ${what}, not a directory raptor made; raptor never follows links out of its own directories and left it untouched. ` +
      'Move it away (raptor recreates the directory when it needs it).',
  );
}

function notOwnFile(path: string, what: string): RaptorError {
  return new RaptorError(
    'FOREIGN_DIRECTORY',
    `\`${path}\` ${what}; raptor reads and replaces only files it wrote itself and left it untouched. Replace it by a plain copy (\`cp --remove-destination\`) or move it away.`,
  );
}
