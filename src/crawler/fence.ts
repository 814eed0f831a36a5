/**
 * Fencing: the crawl's epoch, so that an owner that lost the crawl can never write to it.
 *
 * The lock alone cannot stop a frozen owner (SIGSTOP, a hung VM, a laptop lid): once its lock
 * goes stale a taker breaks it, and when the old owner wakes up it still believes it owns the
 * crawl. So every takeover bumps the crawl's epoch in `epoch` (written atomically while holding
 * the owner lock), every owner remembers the epoch it took, and checks it before each write
 * (journal line, snapshot, heartbeat, tab list, session state). An owner that sees a newer epoch
 * stops with `OWNERSHIP_LOST`. The journal and snapshot files also carry the epoch in their names
 * (see journal.ts), so even a write that slipped between the check and the `write()` lands in
 * files the readers of a newer epoch ignore.
 */
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RaptorError, errnoCode } from '../core/errors.js';
import { fsyncDirSync, fsyncFileSync } from '../fs/file-io.js';

export const EPOCH_FILE = 'epoch';
/** Any file name that carries an epoch: `snapshot-e3.json`, `journal-e3-7.ndjson`. */
const EPOCH_IN_NAME = /^(?:snapshot|journal)-e(\d+)[.-]/;

/** The epoch in `dir`: the highest of the epoch file and of the epochs in the file names (a lost epoch file never lets it go back). */
export function currentEpoch(dir: string): number {
  let epoch = 0;
  try {
    const recorded = Number.parseInt(readFileSync(join(dir, EPOCH_FILE), 'utf8'), 10);
    if (Number.isSafeInteger(recorded)) epoch = recorded;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  for (const name of readdirSync(dir)) {
    const match = EPOCH_IN_NAME.exec(name);
    if (match) epoch = Math.max(epoch, Number(match[1]));
  }
  return epoch;
}

/** Takes the next epoch. The caller holds the owner lock, so no two takers bump at once. */
export function bumpEpoch(dir: string): number {
  const next = currentEpoch(dir) + 1;
  const temp = join(dir, `.${EPOCH_FILE}.${process.pid}.tmp`);
  writeFileSync(temp, `${next}\n`, { mode: 0o600 });
  fsyncFileSync(temp);
  renameSync(temp, join(dir, EPOCH_FILE));
  fsyncDirSync(dir);
  return next;
}

/** What an owner checks before every write. Synchronous, so the check and the write it guards run with nothing in between. */
export class Fence {
  private lost: RaptorError | undefined;

  constructor(
    readonly dir: string,
    readonly epoch: number,
    private readonly session: string,
  ) {}

  /** True once this owner has seen a newer epoch. */
  get isLost(): boolean {
    return this.lost !== undefined;
  }

  /** Throws `OWNERSHIP_LOST` when another process took the crawl over since this owner took it. */
  check(): void {
    if (this.lost) throw this.lost;
    let now: number;
    try {
      now = Number.parseInt(readFileSync(join(this.dir, EPOCH_FILE), 'utf8'), 10);
    } catch (error) {
      // The crawl directory was removed or restarted under us: that is a takeover too.
      if (errnoCode(error) !== 'ENOENT') throw error;
      now = Number.NaN;
    }
    if (now === this.epoch) return;
    this.lost = new RaptorError(
      'OWNERSHIP_LOST',
      `Another process took over the crawl of \`${this.session}\` (epoch ${Number.isNaN(now) ? 'unknown' : now}, this process had ${this.epoch}), most likely because this one stopped answering for longer than 3 heartbeats. This process (pid ${process.pid}) stopped before writing anything more; the new owner carries on. See \`raptor crawl status ${this.session}\`.`,
    );
    throw this.lost;
  }
}
