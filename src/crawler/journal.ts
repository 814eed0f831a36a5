/**
 * The crawl journal: what a kill -9 at any instant cannot corrupt.
 *
 * - Every URL state change is one NDJSON line appended with a single `write()` to an O_APPEND
 *   file. A killed process loses nothing it wrote (the kernel has it); `fdatasync` runs every
 *   `fsyncEvery` lines or `fsyncMs`, so power loss costs at most that small batch.
 * - A torn last line (power loss mid-write) is tolerated: it is dropped and cut off on open.
 * - Compaction writes the whole URL table to `snapshot.json` (temp, fsync, rename, dir fsync)
 *   under a new generation, then starts `journal-<generation>.ndjson` and deletes the old one.
 *   Readers take the snapshot's generation and replay only that journal, so a crash at any
 *   point of a compaction leaves either the old pair or the new one, never a mix.
 */
import { closeSync, constants, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { RaptorError, errnoCode } from '../errors.js';
import { appendWholeSync } from '../fs/append-whole.js';
import { fsFault, mappingFaults } from '../fs/fs-errors.js';
import { CrawlState, type CrawlEvent, type UrlEntry } from './state.js';

export const SNAPSHOT_FILE = 'snapshot.json';
const JOURNAL = /^journal-(\d+)\.ndjson$/;

interface Snapshot {
  version: 1;
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

export interface LoadedJournal {
  state: CrawlState;
  generation: number;
  /** Lines replayed from the journal on top of the snapshot. */
  replayed: number;
  /** True when a torn last line was found (and cut off, when opened for writing). */
  tornLine: boolean;
}

const journalName = (generation: number): string => `journal-${generation}.ndjson`;

/** Reads snapshot + journal without changing anything: for `inspect()` and for `open`. */
export function readJournal(dir: string): LoadedJournal & { goodBytes: number } {
  let snapshot: Snapshot | undefined;
  try {
    snapshot = JSON.parse(readFileSync(join(dir, SNAPSHOT_FILE), 'utf8')) as Snapshot;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') {
      throw new RaptorError('JOURNAL_CORRUPT', `The crawl snapshot in ${dir} cannot be read (${(error as Error).message}). Restart the crawl with \`mode: 'restart'\`.`, { cause: error });
    }
  }
  const generation = snapshot?.generation ?? 0;
  const state = CrawlState.fromSnapshot(snapshot?.urls ?? {});
  let text = '';
  try {
    text = readFileSync(join(dir, journalName(generation)), 'utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
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
      throw new RaptorError('JOURNAL_CORRUPT', `Line ${replayed + 1} of ${join(dir, journalName(generation))} is not JSON, and it is not the last line. Restart the crawl with \`mode: 'restart'\`.`);
    }
    state.apply(event);
    replayed++;
    offset = end + 1;
  }
  return { state, generation, replayed, tornLine, goodBytes: Buffer.byteLength(text.slice(0, offset)) };
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
    private generation: number,
    fd: number,
    private readonly options: Required<JournalOptions>,
  ) {
    this.fd = fd;
  }

  /** Opens (or creates) the journal in `dir` for writing; the caller must own the crawl. */
  static async open(dir: string, options: JournalOptions = {}): Promise<{ journal: CrawlJournal; loaded: LoadedJournal }> {
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
      throw fsFault(error, dir) ?? error;
    });
    const loaded = readJournal(dir);
    const path = join(dir, journalName(loaded.generation));
    const fd = mappingFaults(path, () => openSync(path, 'a', 0o600));
    if (loaded.tornLine) {
      ftruncateSync(fd, loaded.goodBytes);
      fdatasyncSync(fd);
    }
    for (const name of readdirSync(dir)) {
      const match = JOURNAL.exec(name);
      // Older: left by a compaction that crashed after its snapshot. Newer: by one that crashed before it.
      if (match && Number(match[1]) !== loaded.generation) unlinkSync(join(dir, name));
      if (name.startsWith(`.${SNAPSHOT_FILE}.`)) unlinkSync(join(dir, name)); // a snapshot a crash left half-written
    }
    const journal = new CrawlJournal(dir, loaded.state, loaded.generation, fd, { fsyncEvery: options.fsyncEvery ?? 64, fsyncMs: options.fsyncMs ?? 200 });
    return { journal, loaded };
  }

  /** Applies `event` and appends it. Synchronous, so no other event can slip in between. */
  append(event: CrawlEvent): boolean {
    if (this.closed) throw new RaptorError('INVALID_INPUT', 'The crawl journal is closed.');
    if (!this.state.apply(event)) return false;
    const line = `${JSON.stringify(event)}\n`;
    appendWholeSync(this.fd, line, join(this.dir, journalName(this.generation)));
    this.compacting?.push(line);
    if (++this.unsynced >= this.options.fsyncEvery) this.sync();
    else this.timer ??= setTimeout(() => this.sync(), this.options.fsyncMs).unref();
    return true;
  }

  sync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unsynced === 0 || this.closed) return;
    mappingFaults(join(this.dir, journalName(this.generation)), () => fdatasyncSync(this.fd));
    this.unsynced = 0;
  }

  /**
   * Writes the whole table as a new snapshot generation and starts a new journal. Events
   * appended while the snapshot is being written are kept aside and copied into the new
   * journal, so the switch itself (write those lines, rename the snapshot, swap files) is one
   * synchronous step that no append can interleave with.
   */
  async compact(): Promise<void> {
    if (this.compacting) return;
    this.sync();
    const next = this.generation + 1;
    // Serialized now, synchronously: the table keeps changing while the file is written.
    const snapshot: Snapshot = { version: 1, generation: next, savedAt: new Date().toISOString(), urls: this.state.toJSON() };
    const text = JSON.stringify(snapshot);
    this.compacting = [];
    const temp = join(this.dir, `.${SNAPSHOT_FILE}.${process.pid}.tmp`);
    let started: number | undefined; // the next journal, until the snapshot names it
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // From here on, synchronous: no append can run until the switch is complete.
      const fd = openSync(join(this.dir, journalName(next)), 'w', 0o600);
      started = fd;
      if (this.compacting.length > 0) appendWholeSync(fd, this.compacting.join(''), join(this.dir, journalName(next)));
      fdatasyncSync(fd);
      renameSync(temp, join(this.dir, SNAPSHOT_FILE));
      started = undefined;
      fsyncDirSync(this.dir);
      closeSync(this.fd);
      unlinkSync(join(this.dir, journalName(this.generation)));
      this.fd = fd;
      this.generation = next;
      this.unsynced = 0;
    } catch (error) {
      // Nothing switched: the old snapshot and journal stay current. Remove what this attempt made.
      if (started !== undefined) {
        closeSync(started);
        unlinkQuietly(join(this.dir, journalName(next)));
      }
      unlinkQuietly(temp);
      throw fsFault(error, join(this.dir, SNAPSHOT_FILE)) ?? error;
    } finally {
      this.compacting = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.compact();
    this.sync();
    this.closed = true;
    closeSync(this.fd);
  }
}

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}
