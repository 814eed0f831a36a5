/**
 * Time limits, on one clock. Every "give up after N ms" in raptor is measured here, on
 * `performance.now()`: a monotonic clock that an NTP step, a suspended laptop's wall-clock
 * jump or a user changing the date cannot move. `Date.now()` stays where a time is a moment
 * (updatedAt, expiresAt, a lock file's mtime), never for how long something may take.
 *
 * Modelled on Playwright's `raceAgainstDeadline` (utils/isomorphic/timeoutRunner.ts): a
 * deadline is a value passed down, so a wait that has several steps shares one budget.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface Deadline {
  /** The budget it was created with, for messages ("within 5000 ms"). */
  readonly ms: number;
  /** Milliseconds left, never below 0. */
  remaining(): number;
  expired(): boolean;
}

/** A deadline `ms` from now. */
export function deadline(ms: number): Deadline {
  const end = performance.now() + ms;
  return {
    ms,
    remaining: () => Math.max(0, end - performance.now()),
    expired: () => performance.now() >= end,
  };
}

/**
 * `work`'s result, or, once `limit` (ms, or what is left of a deadline) has passed, what
 * `onTimeout` returns; `onTimeout` throws to fail instead. The timer is cleared as soon as
 * either side settles, so a finished call leaves nothing behind that keeps the process alive.
 * `work` itself is not cancelled: a caller that can stop it (close a page, abort a fetch) does so.
 */
export async function withTimeout<T, R = never>(work: PromiseLike<T> | T, limit: number | Deadline, onTimeout: () => R): Promise<T | R> {
  const ms = typeof limit === 'number' ? limit : limit.remaining();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<R>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([Promise.resolve(work), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return sleepFor(ms);
}
