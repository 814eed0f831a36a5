/**
 * The sessions the dashboard shows, held in memory and kept current by the store's change feed,
 * so a page of the table is a sort and a slice, not a read of every stored session: 10,000
 * sessions page in milliseconds. Summaries only: no storage state is ever loaded here.
 */
import type { SessionSummary } from '../core/record.js';
import type { SessionManager } from '../manager.js';
import { isRetired } from '../store/pool.js';
import type { StoreEvent } from '../store/types.js';
import { isRaptorError } from '../core/errors.js';

export type SessionStatus = 'valid' | 'expiring' | 'expired' | 'retired';
export const SORT_KEYS = ['name', 'expiresAt', 'updatedAt', 'bytes', 'revision'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface SessionQuery {
  /** Part of the name or a tag, case-insensitive. */
  search?: string;
  tag?: string;
  status?: SessionStatus;
  sort?: SortKey;
  descending?: boolean;
  offset?: number;
  limit?: number;
}

export interface SessionPage {
  total: number;
  offset: number;
  rows: SessionSummary[];
  /** Every tag in the store with its count, for the filter. */
  tags: Array<{ tag: string; count: number }>;
}

/** A session that expires within this is shown as expiring. */
export const EXPIRING_WITHIN_MS = 24 * 60 * 60 * 1000;
export const MAX_PAGE = 500;

export function statusOf(summary: SessionSummary, now = Date.now()): SessionStatus {
  if (isRetired(summary)) return 'retired';
  if (summary.expiresAt !== null) {
    const left = Date.parse(summary.expiresAt) - now;
    if (left <= 0) return 'expired';
    if (left <= EXPIRING_WITHIN_MS) return 'expiring';
  }
  return 'valid';
}

export class SessionIndex {
  private readonly byName = new Map<string, SessionSummary>();
  /** Names deleted while `load` ran: its listing may have read them just before. */
  private removedWhileLoading: Set<string> | undefined;

  constructor(private readonly manager: SessionManager) {}

  /**
   * Reads every summary once. Subscribe `apply` to `watch()` before, so nothing is missed: a
   * change applied during the load wins over the older summary the listing read.
   */
  async load(): Promise<void> {
    this.removedWhileLoading = new Set();
    try {
      for await (const summary of this.manager.list()) {
        const known = this.byName.get(summary.name);
        if (this.removedWhileLoading.has(summary.name) || (known && known.revision >= summary.revision)) continue;
        this.byName.set(summary.name, summary);
      }
    } finally {
      this.removedWhileLoading = undefined;
    }
  }

  get size(): number {
    return this.byName.size;
  }

  get(name: string): SessionSummary | undefined {
    return this.byName.get(name);
  }

  /** Every summary, unsorted: for views over the whole store (fleet counts, kept-alive browsers). */
  all(): SessionSummary[] {
    return [...this.byName.values()];
  }

  /** Brings one name up to date after a change event; returns what the table should show now. */
  async apply(event: StoreEvent): Promise<SessionSummary | undefined> {
    if (event.type !== 'put') {
      this.remove(event.name);
      return undefined;
    }
    try {
      const summary = await this.manager.head(event.name);
      this.byName.set(summary.name, summary);
      return summary;
    } catch (error) {
      // Deleted again before we read it, or unreadable: it is not a session to show.
      if (!isRaptorError(error)) throw error;
      this.remove(event.name);
      return undefined;
    }
  }

  private remove(name: string): void {
    this.byName.delete(name);
    this.removedWhileLoading?.add(name);
  }

  query(query: SessionQuery, now = Date.now()): SessionPage {
    const search = query.search?.trim().toLowerCase() ?? '';
    const matching = [...this.byName.values()].filter(
      (s) =>
        (search === '' || s.name.toLowerCase().includes(search) || s.tags.some((t) => t.toLowerCase().includes(search))) &&
        (query.tag === undefined || s.tags.includes(query.tag)) &&
        (query.status === undefined || statusOf(s, now) === query.status),
    );
    const key = query.sort ?? 'name';
    const direction = query.descending ? -1 : 1;
    matching.sort((a, b) => direction * compare(sortValue(a, key), sortValue(b, key)) || compare(a.name, b.name));
    const offset = Math.max(0, query.offset ?? 0);
    const limit = Math.min(MAX_PAGE, Math.max(1, query.limit ?? 50));
    return { total: matching.length, offset, rows: matching.slice(offset, offset + limit), tags: this.tagCounts() };
  }

  private tagCounts(): Array<{ tag: string; count: number }> {
    const counts = new Map<string, number>();
    for (const s of this.byName.values()) for (const tag of s.tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
    return [...counts].map(([tag, count]) => ({ tag, count })).sort((a, b) => compare(a.tag, b.tag));
  }
}

function sortValue(s: SessionSummary, key: SortKey): string | number {
  switch (key) {
    case 'name':
      return s.name;
    case 'expiresAt':
      return s.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(s.expiresAt);
    case 'updatedAt':
      return Date.parse(s.updatedAt);
    case 'bytes':
      return s.bytes ?? 0;
    case 'revision':
      return s.revision;
  }
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
