/**
 * `FileSessionStore`: one JSON file per session in a directory (DESIGN.md "The session file").
 *
 * Files are 0600 in a 0700 directory, replaced atomically, never followed through symlinks.
 * Writers to one session serialize through a per-session lock file; `expectedRevision` turns a
 * lost update into `REVISION_CONFLICT`. Invalid files go to `.quarantine/` with a reason.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { watch as chokidarWatch } from 'chokidar';
import { RaptorError, errnoCode, isRaptorError } from '../core/errors.js';
import { claimSessionsDir, createFileExclusive, entryAt, ownSubdir } from '../fs/territory.js';
import { fileNameFor, isSessionFileName } from '../core/names.js';
import {
  NEWER_VERSION,
  parseRecordText,
  parseRecordValue,
  parseSummaryValue,
  serializeRecord,
  toSummary,
  type SessionRecord,
  type SessionSummary,
} from '../core/record.js';
import { nodeFs, readSessionFile, syncDir, writeFileAtomic, type DurableFs } from '../fs/file-io.js';
import { withLock } from '../fs/file-lock.js';
import { readJsonObjectSync } from '../fs/json-file.js';
import { fsFault, mappingFaults } from '../fs/fs-errors.js';
import { nextRevision } from './revision.js';
import { createLeaseHandle, leaseIsHeld, type LeaseState } from './lease.js';
import { parseJsonText } from '../core/json-error.js';
import {
  matchesFilter,
  type HeldLease,
  type Lease,
  type LeaseListing,
  type LeaseOptions,
  type PutOptions,
  type ScanEntry,
  type SessionFilter,
  type SessionStore,
  type StoreEvent,
  type StoreMaintenance,
  type SweepOptions,
  type SweepResult,
} from './types.js';

export interface FileStoreOptions {
  /** The sessions directory. Created (mode 0700) and marked when missing; a foreign non-empty one is `FOREIGN_DIRECTORY`. */
  dir: string;
  /** A lock untouched for this long is broken. @default 10_000 */
  lockStaleMs?: number;
  /** How long a writer waits for another writer of the same session before `LOCKED`. @default 60_000 */
  lockTimeoutMs?: number;
  /** The write-side file operations; replaced in tests to simulate power loss. @default node:fs */
  fs?: DurableFs;
}

export const QUARANTINE_DIR = '.quarantine';
/** Temp files younger than this may belong to a write in progress in another process. */
const TEMP_FILE_GRACE_MS = 60_000;
/** The temp names `tempNameFor` makes (`.<file>.json.<pid>.<hex>.tmp`, also for lease files): the only ones the sweep removes. */
const OWN_TEMP_FILE = /^\..+\.json(\.lease)?\.\d+\.[0-9a-f]+\.tmp$/;
const REASON_SUFFIX = '.reason.json';

export function createFileStore(options: FileStoreOptions): FileSessionStore {
  return new FileSessionStore(options);
}

/** Files can be damaged and leave temp files behind: the store has the maintenance capability. Its pool is the generic one (`pool.ts`). */
export class FileSessionStore implements SessionStore, StoreMaintenance, LeaseListing {
  readonly dir: string;
  readonly location: string;
  private readonly fs: DurableFs;
  private readonly lockOptions: { staleMs?: number; timeoutMs?: number };
  private readonly closers = new Set<() => Promise<void>>();

  constructor(options: FileStoreOptions) {
    this.dir = options.dir;
    this.location = options.dir;
    this.fs = options.fs ?? nodeFs;
    this.lockOptions = { staleMs: options.lockStaleMs, timeoutMs: options.lockTimeoutMs };
    ensureDir(this.dir);
  }

  async get(name: string): Promise<SessionRecord | undefined> {
    const fileName = fileNameFor(name);
    const read = this.read(fileName, false);
    if (read.kind === 'missing') return undefined;
    if (read.kind !== 'text') throw new RaptorError('INVALID_SESSION', `Session \`${name}\`: ${describe(read)}.`);
    return parseRecordText(read.text, fileName);
  }

  async put(record: SessionRecord, opts: PutOptions = {}): Promise<SessionRecord> {
    const fileName = fileNameFor(record.name);
    const checked = parseRecordValue(record);
    return this.locked(fileName, record.name, async () => {
      const stored = nextRevision(checked, await this.currentRevision(fileName, record.name), opts);
      await writeFileAtomic(this.dir, fileName, serializeRecord(stored), this.fs);
      return stored;
    });
  }

  async delete(name: string): Promise<boolean> {
    const fileName = fileNameFor(name);
    return this.locked(fileName, name, async () => {
      await unlinkIfExists(this.path(leaseFileName(fileName)));
      const existed = await this.fs.unlink(this.path(fileName));
      if (existed) await syncDir(this.dir, this.fs);
      return existed;
    });
  }

  async *list(filter?: SessionFilter): AsyncIterable<SessionSummary> {
    // Head only: the summary fields are validated, the browser state is not even decoded.
    // `get()` and `scan()` (startup cleanup) validate whole files.
    for await (const entry of this.entries(true)) {
      if (entry.ok && matchesFilter(entry.summary, filter)) yield entry.summary;
    }
  }

  scan(): AsyncIterable<ScanEntry> {
    return this.entries(false);
  }

  private async *entries(headOnly: boolean): AsyncIterable<ScanEntry> {
    const now = Date.now();
    let entries;
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (error) {
      throw unavailable(this.dir, error);
    }
    let n = 0;
    for (const entry of entries) {
      if (!isSessionFileName(entry.name)) continue;
      if (++n % 256 === 0) await yieldToLoop(); // keep the event loop responsive over 10,000 files
      if (entry.isSymbolicLink()) {
        yield { ok: false, key: entry.name, reason: 'is a symbolic link; raptor never follows links in its sessions directory' };
        continue;
      }
      yield this.scanOne(entry.name, now, headOnly);
    }
  }

  async quarantine(name: string, reason: string): Promise<void> {
    await this.quarantineEntry(fileNameFor(name), reason);
  }

  /** Moves `dir/key` (a file name from `scan()`) to `.quarantine/` next to a reason file. */
  async quarantineEntry(key: string, reason: string): Promise<void> {
    if (!isSessionFileName(key) || key.includes('/') || key.includes('\\')) {
      throw new RaptorError('INVALID_INPUT', `\`${key}\` is not a session file name.`);
    }
    // A `.quarantine` that is a link or a file is FOREIGN_DIRECTORY: nothing is moved into another directory.
    const qdir = mappingFaults(this.dir, () => ownSubdir(this.dir, QUARANTINE_DIR, { create: true })!);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = `${key}.${stamp}.${randomBytes(2).toString('hex')}`;
    try {
      await rename(this.path(key), join(qdir, target));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return; // already gone: someone else quarantined or deleted it
      throw unavailable(this.dir, error);
    }
    const note = { file: key, reason, quarantinedAt: new Date().toISOString() };
    const reasonFile = join(qdir, `${target}${REASON_SUFFIX}`);
    mappingFaults(reasonFile, () => createFileExclusive(reasonFile, `${JSON.stringify(note, null, 2)}\n`));
    await syncDir(qdir, this.fs);
    await syncDir(this.dir, this.fs);
  }

  async lease(name: string, opts: LeaseOptions): Promise<Lease | undefined> {
    const fileName = fileNameFor(name);
    const state = await this.locked(fileName, name, async () => {
      if (!(await this.exists(fileName))) {
        throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${this.dir} to lease. Run \`raptor list\`.`);
      }
      const held = await this.readLease(fileName);
      if (held && leaseIsHeld(held)) return undefined;
      const next: LeaseState = {
        owner: opts.owner,
        token: randomBytes(8).toString('hex'),
        expiresAt: new Date(Date.now() + opts.ttlMs).toISOString(),
      };
      await writeFileAtomic(this.dir, leaseFileName(fileName), JSON.stringify(next));
      return next;
    });
    if (!state) return undefined;
    return createLeaseHandle(name, state, opts.ttlMs, {
      replace: (expected, next) =>
        this.locked(fileName, name, async () => {
          if ((await this.readLease(fileName))?.token !== expected.token) return false;
          if (next) await writeFileAtomic(this.dir, leaseFileName(fileName), JSON.stringify(next));
          else await unlinkIfExists(this.path(leaseFileName(fileName)));
          return true;
        }),
    });
  }

  /** The `.<file>.lease` files whose lease has not expired, named by their session's head. */
  async heldLeases(): Promise<HeldLease[]> {
    const now = Date.now();
    const held: HeldLease[] = [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      throw unavailable(this.dir, error);
    }
    for (const leaseName of names) {
      if (!leaseName.startsWith('.') || !leaseName.endsWith(LEASE_SUFFIX)) continue;
      const fileName = leaseName.slice(1, -LEASE_SUFFIX.length);
      if (!isSessionFileName(fileName)) continue;
      let state: LeaseState | undefined;
      try {
        state = await this.readLease(fileName);
      } catch {
        continue; // a lease file planted as a link or gone meanwhile is no lease anyone holds
      }
      if (!state || typeof state.owner !== 'string' || typeof state.expiresAt !== 'string' || !leaseIsHeld(state, now)) continue;
      const entry = this.scanOne(fileName, now);
      if (!entry.ok) continue;
      held.push({ name: entry.summary.name, owner: state.owner, expiresAt: state.expiresAt });
    }
    return held;
  }

  watch(onChange: (event: StoreEvent) => void): () => void {
    const names = new Map<string, string>(); // file name -> session name, to name deletions
    const watcher = chokidarWatch(this.dir, {
      depth: 0,
      ignoreInitial: false,
      ignored: (path, stats) => stats?.isFile() === true && !isSessionFileName(path.slice(path.lastIndexOf('/') + 1)),
      awaitWriteFinish: false,
    });
    let ready = false;
    const onWrite = (path: string): void => {
      const fileName = path.slice(path.lastIndexOf('/') + 1);
      if (!isSessionFileName(fileName)) return;
      const entry = this.scanOne(fileName, Date.now());
      if (!entry.ok) return;
      names.set(fileName, entry.summary.name);
      if (ready) onChange({ type: 'put', name: entry.summary.name, revision: entry.summary.revision });
    };
    watcher.on('add', onWrite);
    watcher.on('change', onWrite);
    watcher.on('ready', () => (ready = true));
    watcher.on('unlink', (path) => {
      const fileName = path.slice(path.lastIndexOf('/') + 1);
      const name = names.get(fileName);
      if (name === undefined) return;
      names.delete(fileName);
      onChange({ type: 'delete', name });
    });
    const close = (): Promise<void> => watcher.close();
    this.closers.add(close);
    return () => {
      this.closers.delete(close);
      void close();
    };
  }

  /**
   * Removes stale temp files and purges old quarantine entries, lstat-based: only regular files
   * named as raptor names its temp files, and only quarantine entries with a reason file (what
   * raptor itself moved there), counted from when they were quarantined. Links are unlinked, never
   * followed; directories and files without a reason are left alone. A `.quarantine` that is a
   * link or a file is `FOREIGN_DIRECTORY` (cleanup reports it).
   */
  async sweep(opts: SweepOptions): Promise<SweepResult> {
    const now = Date.now();
    let tempFiles = 0;
    for (const name of await readdir(this.dir)) {
      if (!OWN_TEMP_FILE.test(name)) continue;
      const { kind, stats } = entryAt(this.path(name));
      if (kind !== 'file' || now - stats!.mtimeMs < TEMP_FILE_GRACE_MS) continue;
      tempFiles++;
      if (!opts.dryRun) await unlinkIfExists(this.path(name));
    }
    let purgedQuarantine = 0;
    const qdir = ownSubdir(this.dir, QUARANTINE_DIR);
    for (const name of qdir ? await readdir(qdir) : []) {
      if (name.endsWith(REASON_SUFFIX)) continue;
      const reason = entryAt(join(qdir!, `${name}${REASON_SUFFIX}`));
      if (reason.kind !== 'file' || now - reason.stats!.mtimeMs < opts.quarantineRetentionMs) continue;
      const { kind } = entryAt(join(qdir!, name));
      if (kind !== 'file' && kind !== 'symlink') continue; // raptor moves session files here, never directories it would have to recurse into
      purgedQuarantine++;
      if (!opts.dryRun) {
        await unlinkIfExists(join(qdir!, name));
        await unlinkIfExists(join(qdir!, `${name}${REASON_SUFFIX}`));
      }
    }
    return { tempFiles, purgedQuarantine };
  }

  async close(): Promise<void> {
    await Promise.all([...this.closers].map((close) => close()));
    this.closers.clear();
  }

  private scanOne(fileName: string, now: number, headOnly = true): ScanEntry {
    let read;
    try {
      read = this.read(fileName, headOnly);
    } catch (error) {
      return { ok: false, key: fileName, reason: `cannot be read: ${(error as Error).message}` };
    }
    if (read.kind === 'missing') return { ok: false, key: fileName, reason: 'disappeared while reading' };
    if (read.kind === 'symlink' || read.kind === 'not-a-file' || read.kind === 'too-large' || read.kind === 'hard-link' || read.kind === 'not-utf8') {
      return { ok: false, key: fileName, reason: describe(read) };
    }
    if (read.kind === 'head' && !read.whole) {
      return { ok: false, key: fileName, reason: 'is truncated (it does not end with `}`)' };
    }
    try {
      const fields =
        read.kind === 'head' ? parseSummaryValue(parseJsonText(read.text), fileName) : parseRecordText(read.text, fileName);
      return { ok: true, key: fileName, summary: toSummary(fields, read.bytes, now) };
    } catch (error) {
      // parseJsonText's message names a position, never the text (a reason file outlives the file).
      if (error instanceof SyntaxError) return { ok: false, key: fileName, reason: `is not valid JSON (${error.message})` };
      if (!isRaptorError(error)) throw error;
      const newerVersion = error.issues.some((issue) => issue.code === NEWER_VERSION);
      return { ok: false, key: fileName, reason: error.message, ...(newerVersion ? { newerVersion } : {}) };
    }
  }

  private read(fileName: string, headOnly: boolean): ReturnType<typeof readSessionFile> {
    try {
      return readSessionFile(this.path(fileName), headOnly);
    } catch (error) {
      throw unavailable(this.dir, error);
    }
  }

  /** The stored revision, 0 when absent. An invalid file in the way is quarantined, never overwritten. */
  private async currentRevision(fileName: string, name: string): Promise<number> {
    const entry = this.scanOne(fileName, Date.now());
    if (entry.ok) return entry.summary.revision;
    if (entry.reason === 'disappeared while reading') return 0;
    if (entry.newerVersion) {
      throw new RaptorError('INVALID_SESSION', `Session \`${name}\` was written by a newer raptor; upgrade raptor-sessions before changing it.`);
    }
    await this.quarantineEntry(fileName, `replaced by a new save: ${entry.reason}`);
    return 0;
  }

  private async readLease(fileName: string): Promise<LeaseState | undefined> {
    // Torn by a crash: no lease. Planted as a link: FOREIGN_DIRECTORY, never read through.
    return readJsonObjectSync(this.path(leaseFileName(fileName)), { noFollow: true }) as LeaseState | undefined;
  }

  private async exists(fileName: string): Promise<boolean> {
    return this.read(fileName, true).kind !== 'missing';
  }

  private locked<T>(fileName: string, name: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.path(`.${fileName}.lock`), fn, { ...this.lockOptions, what: `Session \`${name}\`` });
  }

  private path(fileName: string): string {
    return join(this.dir, fileName);
  }
}

const LEASE_SUFFIX = '.lease';

function leaseFileName(fileName: string): string {
  return `.${fileName}${LEASE_SUFFIX}`;
}

/** The sessions directory, created and marked, or adopted, or refused when foreign (src/fs/territory.ts). */
function ensureDir(dir: string): void {
  try {
    claimSessionsDir(dir);
  } catch (error) {
    if (isRaptorError(error)) throw error;
    throw unavailable(dir, error);
  }
}

function describe(read: { kind: string; bytes?: number; links?: number }): string {
  switch (read.kind) {
    case 'symlink':
      return 'is a symbolic link; raptor never follows links in its sessions directory';
    case 'not-a-file':
      return 'is not a regular file';
    case 'hard-link':
      return `has ${read.links} hard links; raptor never reads or rewrites a session file that shares its bytes with another path (copy it with \`cp\` to make it a file of its own)`;
    case 'too-large':
      return `is ${((read.bytes ?? 0) / 1048576).toFixed(0)} MiB, over the 64 MiB limit`;
    case 'not-utf8':
      return 'is not valid UTF-8 text (raptor never guesses what damaged bytes meant)';
    default:
      return read.kind;
  }
}

function unavailable(dir: string, cause: unknown): RaptorError {
  const fault = fsFault(cause, dir);
  if (fault) return fault;
  return new RaptorError('STORE_UNAVAILABLE', `Cannot use the sessions directory \`${dir}\`: ${(cause as Error).message}. Check it exists and is yours (\`raptor doctor\`).`, { cause });
}

/** Removes a lease or temp file; false when it was already gone. Not a session write, so not through `this.fs`. */
const unlinkIfExists = (path: string): Promise<boolean> => nodeFs.unlink(path);
