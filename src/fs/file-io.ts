/**
 * The file operations the file store is built from, in one place: atomic replace, no-follow
 * reads, and the head-only read that lets `list()` skip the browser state.
 *
 * Atomic replace (DESIGN.md "Atomic"): write a temp file in the same directory, fsync it,
 * rename it over the target, fsync the directory. A crash at any instant leaves the old file
 * or the new one. Temp files start with `.` and end in `.tmp`: readers never see them.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../core/errors.js';
import { fsFault, mappingFaults } from './fs-errors.js';
import { decodeUtf8 } from './utf8.js';
import { MAX_FILE_BYTES, STATE_MARKER } from '../core/record.js';

export const TEMP_SUFFIX = '.tmp';

export function tempNameFor(fileName: string): string {
  return `.${fileName}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
}

/**
 * The write-side file operations, as one replaceable object. The default is `node:fs`; tests
 * inject a layer that records which writes were made durable, to simulate a power loss at any
 * instant (test/power-loss.test.ts). Reads stay direct: a crash changes what is on disk, not how
 * it is read.
 */
export interface DurableFs {
  /** Creates `path` (failing if it exists) with `text`, mode 0600. Not durable until `fsyncFile`. */
  createFile(path: string, text: string): Promise<void>;
  /** Makes the data of `path` durable. */
  fsyncFile(path: string): Promise<void>;
  /** Atomic within a directory. Not durable until `fsyncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** Returns false when there was nothing to remove. Not durable until `fsyncDir`. */
  unlink(path: string): Promise<boolean>;
  /** Makes the names in `dir` (creations, renames, removals) durable. */
  fsyncDir(dir: string): Promise<void>;
}

/**
 * `node:fs` for the store's writes, all on the main thread, fsyncs included. Each trip through
 * libuv's thread pool cost more here than the syscall it carried: a save made ~19 of them and
 * took 3.8 ms; with the metadata calls synchronous and the two fsyncs still in the pool, 1.4–2.1 ms;
 * all synchronous, 1.2–1.6 ms. The price is that the event loop waits for the disk during a
 * save's two flushes, as the crawl journal already does for its batched fdatasync: saves are
 * rare next to everything else a process does (see docs/architecture.md "Synchronous writes").
 * A full or read-only disk surfaces here as `DISK_FULL` / `READ_ONLY` (src/fs/fs-errors.ts).
 */
export const nodeFs: DurableFs = {
  async createFile(path, text) {
    mappingFaults(path, () => {
      // O_NOFOLLOW on top of O_EXCL: a name planted as a link fails instead of redirecting the write.
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeAllSync(fd, Buffer.from(text, 'utf8'));
      } finally {
        closeSync(fd);
      }
    });
  },
  fsyncFile: async (path) => mappingFaults(path, () => fsyncFileSync(path)),
  async rename(from, to) {
    mappingFaults(to, () => renameSync(from, to));
  },
  async unlink(path) {
    try {
      unlinkSync(path);
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw fsFault(error, path) ?? error;
    }
  },
  fsyncDir: async (dir) => mappingFaults(dir, () => fsyncDirSync(dir)),
};

/** fsync of the file at `path`: what was written to it survives power loss. Synchronous, faults as the OS reports them. */
export function fsyncFileSync(path: string): void {
  fsyncOpened(path, constants.O_RDONLY);
}

/**
 * fsync of a directory: a create, rename, link or unlink in it survives power loss (without
 * it, the entry can vanish although the file's own data was synced). Synchronous, for code that
 * must not yield between steps (the crawl journal); {@link syncDir} is the async, fault-mapped form.
 */
export function fsyncDirSync(dir: string): void {
  fsyncOpened(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

function fsyncOpened(path: string, flags: number): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `writeSync` may write less than asked; a session file is written whole or the save fails. */
function writeAllSync(fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Writes `text` to `dir/fileName` atomically and durably, mode 0600: temp file, fsync, rename,
 * directory fsync. Each of the two fsyncs is needed; test/power-loss.test.ts shows what breaks
 * without either.
 */
export async function writeFileAtomic(dir: string, fileName: string, text: string, fs: DurableFs = nodeFs): Promise<void> {
  const tempPath = join(dir, tempNameFor(fileName));
  try {
    await fs.createFile(tempPath, text);
    await fs.fsyncFile(tempPath);
    await fs.rename(tempPath, join(dir, fileName));
  } catch (error) {
    await fs.unlink(tempPath).catch(() => false); // the write already failed; report that error, not this one
    throw fsFault(error, join(dir, fileName)) ?? error;
  }
  await fs.fsyncDir(dir);
}

/** fsync a directory so a rename or unlink in it survives power loss (DISK_FULL / READ_ONLY mapped). */
export function syncDir(dir: string, fs: DurableFs = nodeFs): Promise<void> {
  return fs.fsyncDir(dir);
}

export type ReadResult =
  | { kind: 'missing' }
  | { kind: 'symlink' }
  | { kind: 'not-a-file' }
  /** A second name for the same file exists elsewhere: raptor never reads or shares such a file (territory). */
  | { kind: 'hard-link'; links: number }
  | { kind: 'too-large'; bytes: number }
  /** Bytes that are not UTF-8: refused, never decoded to U+FFFD. */
  | { kind: 'not-utf8'; bytes: number }
  | { kind: 'text'; text: string; bytes: number }
  /** Only the summary fields, as a JSON object; `whole` is false when the file does not end in `}`. */
  | { kind: 'head'; text: string; bytes: number; whole: boolean };

const CHUNK = 64 * 1024;
const MARKER_BYTES = Buffer.from(STATE_MARKER, 'utf8');
/** One read buffer for all synchronous reads: they cannot interleave, and 10,000 allocations add up. */
const shared = Buffer.allocUnsafe(CHUNK);

/**
 * Reads a session file without following symlinks. With `headOnly`, returns only the summary
 * fields: the text up to where the browser state starts (`STATE_MARKER`) closed into an object,
 * plus whether the file's last bytes close the object (to tell a torn file from a whole one).
 *
 * Synchronous on purpose: for thousands of small files, a few syscalls on the main thread are
 * several times faster than the same work bounced through libuv's thread pool. Files that fit
 * in one 64 KiB read (nearly all) cost open + read + close; only larger ones are stat'ed.
 */
export function readSessionFile(path: string, headOnly: boolean): ReadResult {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'symlink' };
    throw error;
  }
  try {
    const opened = fstatSync(fd);
    if (opened.isFile() && opened.nlink > 1) return { kind: 'hard-link', links: opened.nlink };
    let n: number;
    try {
      n = readSync(fd, shared, 0, CHUNK, 0);
    } catch (error) {
      if (errnoCode(error) === 'EISDIR' || errnoCode(error) === 'EAGAIN') return { kind: 'not-a-file' };
      throw error;
    }
    if (n < CHUNK) {
      if (n === 0 && !fstatSync(fd).isFile()) return { kind: 'not-a-file' }; // a FIFO or device reads as empty
      const text = decodeUtf8(shared.subarray(0, n));
      if (text === undefined) return { kind: 'not-utf8', bytes: n };
      return headOnly ? headOf(text, n, text.trimEnd().endsWith('}')) : { kind: 'text', text, bytes: n };
    }
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { kind: 'not-a-file' };
    if (stats.size > MAX_FILE_BYTES) return { kind: 'too-large', bytes: stats.size };
    if (headOnly) {
      const chunks: Buffer[] = [Buffer.from(shared.subarray(0, n))];
      let offset = n;
      for (;;) {
        // Found in bytes, decoded up to and including the (ASCII) marker: a chunk boundary may
        // split a character, the marker's end never does.
        const bytes = Buffer.concat(chunks);
        const at = bytes.indexOf(MARKER_BYTES);
        if (at >= 0 || offset >= stats.size) {
          const head = decodeUtf8(at >= 0 ? bytes.subarray(0, at + MARKER_BYTES.length) : bytes);
          if (head === undefined) return { kind: 'not-utf8', bytes: stats.size };
          const tail = Buffer.allocUnsafe(2);
          const t = readSync(fd, tail, 0, 2, Math.max(0, stats.size - 2));
          return headOf(head, stats.size, tail.toString('latin1', 0, t).trimEnd().endsWith('}'));
        }
        const next = Buffer.allocUnsafe(CHUNK);
        const got = readSync(fd, next, 0, CHUNK, offset);
        if (got === 0) return { kind: 'head', text: '{}', bytes: stats.size, whole: false }; // shrank while read: torn
        chunks.push(next.subarray(0, got));
        offset += got;
      }
    }
    const buffer = Buffer.allocUnsafe(stats.size);
    let offset = 0;
    while (offset < stats.size) {
      const got = readSync(fd, buffer, offset, stats.size - offset, offset);
      if (got === 0) break;
      offset += got;
    }
    const text = decodeUtf8(buffer.subarray(0, offset));
    return text === undefined ? { kind: 'not-utf8', bytes: stats.size } : { kind: 'text', text, bytes: stats.size };
  } finally {
    closeSync(fd);
  }
}

/** The summary part of `text`: everything before the browser state, closed into an object. */
function headOf(text: string, bytes: number, whole: boolean): ReadResult {
  const at = text.indexOf(STATE_MARKER);
  if (at < 0) return { kind: 'text', text, bytes }; // not raptor's own layout: the caller parses it all
  return { kind: 'head', text: `${text.slice(0, at).replace(/,\s*$/, '')}\n}`, bytes, whole };
}
