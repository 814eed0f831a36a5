/**
 * The crawl's URL table: every URL with its state, attempts and result. Pure: it changes only
 * by applying journal events, so replaying the journal over a snapshot rebuilds it exactly.
 */
import type { Json } from '../core/sanitize.js';

export type UrlState = 'pending' | 'in-flight' | 'completed' | 'failed';

export interface UrlEntry {
  state: UrlState;
  attempts: number;
  /** What the caller's handler returned (small JSON), once completed. */
  result?: Json;
  error?: string;
}

/** One line of the journal. Short keys: the journal is written once per URL state change. */
export type CrawlEvent =
  | { t: 'add'; url: string }
  | { t: 'start'; url: string }
  | { t: 'done'; url: string; result?: Json }
  | { t: 'retry'; url: string; error: string }
  | { t: 'fail'; url: string; error: string }
  /** A URL that was in flight goes back to pending without counting an attempt (browser died, session blocked). */
  | { t: 'requeue'; url: string };

export interface Progress {
  total: number;
  pending: number;
  inFlight: number;
  completed: number;
  failed: number;
}

export class CrawlState {
  readonly urls = new Map<string, UrlEntry>();
  /** Pending URLs in discovery order; entries may be stale (state changed), checked on take. */
  private readonly queue: string[] = [];
  private head = 0;

  static fromSnapshot(urls: Record<string, UrlEntry>): CrawlState {
    const state = new CrawlState();
    for (const [url, entry] of Object.entries(urls)) {
      state.urls.set(url, { ...entry });
      if (entry.state === 'pending') state.queue.push(url);
    }
    return state;
  }

  /** Applies one event; returns false when it changes nothing (e.g. adding a known URL). */
  apply(event: CrawlEvent): boolean {
    const entry = this.urls.get(event.url);
    switch (event.t) {
      case 'add':
        if (entry) return false;
        this.urls.set(event.url, { state: 'pending', attempts: 0 });
        this.queue.push(event.url);
        return true;
      case 'start':
        if (!entry) return false;
        entry.state = 'in-flight';
        entry.attempts++;
        return true;
      case 'done':
        if (!entry) return false;
        entry.state = 'completed';
        if (event.result !== undefined) entry.result = event.result;
        delete entry.error;
        return true;
      case 'retry':
      case 'requeue':
        if (!entry) return false;
        entry.state = 'pending';
        if (event.t === 'retry') entry.error = event.error;
        else entry.attempts = Math.max(0, entry.attempts - 1);
        this.queue.push(event.url);
        return true;
      case 'fail':
        if (!entry) return false;
        entry.state = 'failed';
        entry.error = event.error;
        return true;
    }
  }

  /** After a crash: whatever was in flight goes back to pending (its attempt still counts). */
  recoverInFlight(): string[] {
    const recovered: string[] = [];
    for (const [url, entry] of this.urls) {
      if (entry.state === 'in-flight') {
        entry.state = 'pending';
        this.queue.push(url);
        recovered.push(url);
      }
    }
    return recovered;
  }

  /** The next pending URL, or undefined. Does not change its state (the caller journals `start`). */
  nextPending(): string | undefined {
    while (this.head < this.queue.length) {
      const url = this.queue[this.head++]!;
      if (this.urls.get(url)?.state === 'pending') return url;
    }
    this.queue.length = 0;
    this.head = 0;
    return undefined;
  }

  progress(): Progress {
    const progress: Progress = { total: this.urls.size, pending: 0, inFlight: 0, completed: 0, failed: 0 };
    for (const entry of this.urls.values()) {
      if (entry.state === 'pending') progress.pending++;
      else if (entry.state === 'in-flight') progress.inFlight++;
      else if (entry.state === 'completed') progress.completed++;
      else progress.failed++;
    }
    return progress;
  }

  toJSON(): Record<string, UrlEntry> {
    return Object.fromEntries(this.urls);
  }
}
