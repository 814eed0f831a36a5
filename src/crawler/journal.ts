/**
 * The crawl journal: what a kill -9 at any instant cannot corrupt, and a frozen owner cannot overwrite.
 *
 * - Every URL state change is one NDJSON line appended with a single `write()` to an O_APPEND
 *   file. A killed process loses nothing it wrote (the kernel has it); `fdatasync` runs every
 *   `fsyncEvery` lines or `fsyncMs`, so power loss costs at most that small batch.
 * - A torn last line (power loss mid-write) is tolerated: it is dropped and cut off on open.
 * - Compaction writes the whole URL table to a snapshot (temp, fsync, rename, dir fsync) under a
 *   new generation, then starts the journal of that generation and deletes the old one. Readers
 *   take the snapshot's generation and replay only that journal, so a crash at any point of a
 *   compaction leaves either the old pair or the new one, never a mix.
 * - Fencing (fence.ts): the files of each owner epoch have their own names, `snapshot-e<E>.json`
 *   and `journal-e<E>-<generation>.ndjson` (epoch 0 is the layout from before fencing:
 *   `snapshot.json`, `journal-<generation>.ndjson`). Readers take the newest epoch that has a
 *   snapshot. A taker writes its epoch's snapshot before anything else, so whatever an owner that
 *   lost the crawl still writes lands in an older epoch's files, which nobody reads: a stale
 *   snapshot can never replace a newer one, and a stale line can never enter the table.
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { RaptorError, errnoCode } from '../core/errors.js';
import { appendWholeSync } from '../fs/append-whole.js';
import { fsyncDirSync, fsyncFileSync } from '../fs/file-io.js';
import { fsFault, mappingFaults } from '../fs/fs-errors.js';
import { CrawlState, type CrawlEvent, type Progress, type UrlEntry } from './state.js';

/** The snapshot file of epoch 0 (crawls from before fencing, and journals opened without an owner). */
export const SNAPSHOT_FILE = 'snapshot.json';
const SNAPSHOT = /^snapshot(?:-e(\d+))?\.json$/;
const JOURNAL = /^journal-(?:e(\d+)-)?(\d+)\.ndjson$/;

interface Snapshot {
  version: 1;
  /** The owner epoch that wrote it (absent before fencing: 0). */
  epoch?: number;
  generation: number;
  savedAt: string;
  urls: Record<string, UrlEntry>;
}

export interface JournalOptions {
  /** fdatasync after this many lines. @default 64 */
  fsyncEvery?: number;
  /** ... or after this long with unsynced lines. @default 200 */
  fsyncMs?: number;
}

/** The owner's epoch and its check (fence.ts); every write of the journal runs `check()` first. */
export interface JournalFence {
  readonly epoch: number;
  check(): void;
}

export interface LoadedJournal {
  state: CrawlState;
  /** The owner epoch whose files were read. */
  epoch: number;
  generation: number;
  /** Lines replayed from the journal on top of the snapshot. */
  replayed: number;
  /** True when a torn last line was found (and cut off, when opened for writing). */
  tornLine: boolean;
}

export const snapshotName = (epoch: number): string => (epoch === 0 ? SNAPSHOT_FILE : `snapshot-e${epoch}.json`);
const journalName = (epoch: number, generation: number): string => (epoch === 0 ? `journal-${generation}.ndjson` : `journal-e${epoch}-${generation}.ndjson`);

/** The newest epoch that has a snapshot; epoch 0 needs none (its journal-0 may stand alone). */
function latestEpoch(dir: string): number {
  let latest = 0;
  for (const name of listDir(dir)) {
    const match = SNAPSHOT.exec(name);
    if (match?.[1]) latest = Math.max(latest, Number(match[1]));
  }
  return latest;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

function readSnapshot(dir: string, epoch: number): Snapshot | undefined {
  const path = join(dir, snapshotName(epoch));
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new RaptorError('JOURNAL_CORRUPT', `The crawl snapshot ${path} cannot be read (${(error as Error).message}). Restart the crawl with \`mode: 'restart'\`.`, { cause: error });
  }
}

/** When the newest snapshot was saved and the progress it holds (no journal replay): where a monitor's time series can start. */
export function readSnapshotProgress(dir: string): { savedAt: string; progress: Progress } | undefined {
  const snapshot = readSnapshot(dir, latestEpoch(dir));
  return snapshot && { savedAt: snapshot.savedAt, progress: CrawlState.fromSnapshot(snapshot.urls).progress() };
}

/** Reads snapshot + journal without changing anything: for `inspect()` and for `open`. */
export function readJournal(dir: string): LoadedJournal & { goodBytes: number } {
  // The owner may compact (or a taker may start a new epoch) between reading the snapshot and
  // its journal; then the pair read does not match and is read again. Compactions are seconds
  // apart, so a second read nearly always matches.
  for (let attempt = 0; attempt < 20; attempt++) {
    const loaded = readPair(dir);
    if (loaded) return loaded;
  }
  throw new RaptorError('JOURNAL_CORRUPT', `The crawl files in ${dir} kept changing while being read (20 tries). Run it again; if it persists, restart the crawl with \`mode: 'restart'\`.`);
}

function readPair(dir: string): (LoadedJournal & { goodBytes: number }) | undefined {
  const epoch = latestEpoch(dir);
  const snapshot = readSnapshot(dir, epoch);
  if (epoch > 0 && !snapshot) return undefined; // replaced by a newer epoch meanwhile
  const generation = snapshot?.generation ?? 0;
  const journalPath = join(dir, journalName(epoch, generation));
  let text = '';
  try {
    text = readFileSync(journalPath, 'utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    // No journal: a compaction switched files after the snapshot was read, or it holds no line yet.
    if (latestEpoch(dir) !== epoch || (readSnapshot(dir, epoch)?.generation ?? 0) !== generation) return undefined;
  }
  const state = CrawlState.fromSnapshot(snapshot?.urls ?? {});
  let replayed = 0;
  let offset = 0;
  let tornLine = false;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    const line = end < 0 ? text.slice(offset) : text.slice(offset, end);
    let event: CrawlEvent | undefined;
    try {
      event = JSON.parse(line) as CrawlEvent;
    } catch {
      event = undefined;
    }
    if (end < 0 || !event) {
      if (end < 0 || text.indexOf('\n', end + 1) < 0) {
        tornLine = true; // the last line, cut short by a crash: everything before it is whole
        break;
      }
      throw new RaptorError('JOURNAL_CORRUPT', `Line ${replayed + 1} of ${journalPath} is not JSON, and it is not the last line. Restart the crawl with \`mode: 'restart'\`.`);
    }
    state.apply(event);
    replayed++;
    offset = end + 1;
  }
  return { state, epoch, generation, replayed, tornLine, goodBytes: Buffer.byteLength(text.slice(0, offset)) };
}

export class CrawlJournal {
  private fd: number;
  private unsynced = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Lines appended while a compaction writes its snapshot; they go into the next journal too. */
  private compacting: string[] | undefined;

  private constructor(
    readonly dir: string,
    readonly state: CrawlState,
    private readonly epoch: number,
    private generation: number,
    fd: number,
    private readonly options: Required<JournalOptions>,
    private readonly fence: JournalFence | undefined,
  ) {
    this.fd = fd;
  }

  /**
   * Opens (or creates) the journal in `dir` for writing; the caller must own the crawl. With a
   * `fence` whose epoch is newer than the files', this is a takeover: the new epoch starts with a
   * snapshot of what was read, and the older epochs' files are deleted once it is in place.
   */
  static async open(dir: string, options: JournalOptions = {}, fence?: JournalFence): Promise<{ journal: CrawlJournal; loaded: LoadedJournal }> {
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
      throw fsFault(error, dir) ?? error;
    });
    fence?.check();
    const loaded = readJournal(dir);
    const epoch = fence?.epoch ?? loaded.epoch;
    if (epoch < loaded.epoch) {
      throw new RaptorError('OWNERSHIP_LOST', `The crawl in ${dir} belongs to a newer owner (epoch ${loaded.epoch}, this one has ${epoch}); this process stopped before writing.`);
    }
    let generation = loaded.generation;
    let fd: number;
    if (epoch === loaded.epoch) {
      const path = join(dir, journalName(epoch, generation));
      fd = mappingFaults(path, () => openSync(path, 'a', 0o600));
      if (loaded.tornLine) {
        ftruncateSync(fd, loaded.goodBytes);
        fdatasyncSync(fd);
      }
    } else {
      generation = loaded.generation + 1;
      const path = join(dir, journalName(epoch, generation));
      fd = mappingFaults(path, () => openSync(path, 'w', 0o600));
      fdatasyncSync(fd);
      const temp = join(dir, `.${snapshotName(epoch)}.${process.pid}.tmp`);
      writeFileSync(temp, JSON.stringify(snapshotOf(loaded.state, epoch, generation)), { mode: 0o600 });
      fsyncFileSync(temp);
      fence?.check();
      renameSync(temp, join(dir, snapshotName(epoch)));
      fsyncDirSync(dir);
    }
    for (const name of readdirSync(dir)) {
      const journal = JOURNAL.exec(name);
      const snapshot = SNAPSHOT.exec(name);
      // Journals of another generation: left by an interrupted compaction. Files of an older epoch: superseded by ours.
      const stale = journal
        ? Number(journal[1] ?? 0) !== epoch || Number(journal[2]) !== generation
        : snapshot
          ? Number(snapshot[1] ?? 0) !== epoch
          : name.startsWith('.snapshot') && name.endsWith('.tmp'); // a snapshot a crash left half-written
      if (stale) unlinkIfThere(join(dir, name));
    }
    const journal = new CrawlJournal(dir, loaded.state, epoch, generation, fd, { fsyncEvery: options.fsyncEvery ?? 64, fsyncMs: options.fsyncMs ?? 200 }, fence);
    return { journal, loaded: { ...loaded, epoch, generation } };
  }

  /** Applies `event` and appends it. Synchronous, so no other event can slip in between (nor between the fence check and the write). */
  append(event: CrawlEvent): boolean {
    if (this.closed) throw new RaptorError('INVALID_INPUT', 'The crawl journal is closed.');
    this.fence?.check();
    if (!this.state.apply(event)) return false;
    const line = `${JSON.stringify(event)}\n`;
    appendWholeSync(this.fd, line, join(this.dir, journalName(this.epoch, this.generation)));
    this.compacting?.push(line);
    if (++this.unsynced >= this.options.fsyncEvery) this.sync();
    else this.timer ??= setTimeout(() => this.sync(), this.options.fsyncMs).unref();
    return true;
  }

  sync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unsynced === 0 || this.closed) return;
    mappingFaults(join(this.dir, journalName(this.epoch, this.generation)), () => fdatasyncSync(this.fd));
    this.unsynced = 0;
  }

  /**
   * Writes the whole table as a new snapshot generation and starts a new journal. Events
   * appended while the snapshot is being written are kept aside and copied into the new
   * journal, so the switch itself (write those lines, rename the snapshot, swap files) is one
   * synchronous step that no append can interleave with.
   */
  async compact(): Promise<void> {
    if (this.compacting || this.closed) return;
    this.fence?.check();
    this.sync();
    const next = this.generation + 1;
    // Serialized now, synchronously: the table keeps changing while the file is written.
    const text = JSON.stringify(snapshotOf(this.state, this.epoch, next));
    this.compacting = [];
    const temp = join(this.dir, `.${snapshotName(this.epoch)}.${process.pid}.tmp`);
    const nextPath = join(this.dir, journalName(this.epoch, next));
    let started: number | undefined; // the next journal, until the snapshot names it
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // From here on, synchronous: no append can run until the switch is complete. The owner
      // may have been frozen during the awaits above and lost the crawl meanwhile: check first.
      this.fence?.check();
      const fd = openSync(nextPath, 'w', 0o600);
      started = fd;
      if (this.compacting.length > 0) appendWholeSync(fd, this.compacting.join(''), nextPath);
      fdatasyncSync(fd);
      renameSync(temp, join(this.dir, snapshotName(this.epoch)));
      started = undefined;
      fsyncDirSync(this.dir);
      const old = this.fd;
      // Switch before cleaning up: the old journal going missing must never leave appends on a closed fd.
      this.fd = fd;
      this.generation = next;
      this.unsynced = 0;
      closeSync(old);
      unlinkIfThere(join(this.dir, journalName(this.epoch, next - 1)));
    } catch (error) {
      // Nothing switched: the old snapshot and journal stay current. Remove what this attempt made.
      if (started !== undefined) {
        closeSync(started);
        unlinkQuietly(nextPath);
      }
      throw fsFault(error, join(this.dir, snapshotName(this.epoch))) ?? error;
    } finally {
      this.compacting = undefined;
      unlinkIfThere(temp);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.compact();
      this.sync();
    } finally {
      this.abandon();
    }
  }

  /** Closes the file without writing anything more: for an owner that lost the crawl. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    closeSync(this.fd);
  }
}

function snapshotOf(state: CrawlState, epoch: number, generation: number): Snapshot {
  return { version: 1, ...(epoch === 0 ? {} : { epoch }), generation, savedAt: new Date().toISOString(), urls: state.toJSON() };
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}
