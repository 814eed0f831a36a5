/** `raptor stats`: how many sessions a store holds, how big, how many expired, invalid or with a live browser. */
import type { SessionSummary } from '../core/record.js';
import { sessionExpired } from '../core/validate.js';
import { PROBE_CONCURRENCY, type BrowserCheck } from '../browser/identity.js';
import { mapLimit } from '../core/map-limit.js';
import { scanStore } from '../store/capabilities.js';
import type { SessionStore } from '../store/types.js';

export interface Stats {
  count: number;
  bytes: number;
  expired: number;
  invalid: number;
  /** Sessions whose recorded browser answers right now. */
  live: number;
}

export interface StatsContext {
  /** Sessions not updated for this long count as expired. */
  maxAgeMs?: number;
  /** Checks a session's recorded browser; `same` counts it as live. */
  probe(summary: SessionSummary): Promise<BrowserCheck | undefined>;
}

export async function storeStats(store: SessionStore, ctx: StatsContext): Promise<Stats> {
  const stats: Stats = { count: 0, bytes: 0, expired: 0, invalid: 0, live: 0 };
  const withBrowser: SessionSummary[] = [];
  for await (const entry of scanStore(store)) {
    if (!entry.ok) {
      stats.invalid++;
      continue;
    }
    stats.count++;
    stats.bytes += entry.summary.bytes ?? 0;
    if (sessionExpired(entry.summary, ctx.maxAgeMs)) stats.expired++;
    if (entry.summary.cdpUrl) withBrowser.push(entry.summary);
  }
  // A few at a time: a store of thousands of sessions must not open thousands of sockets at once.
  const checks = await mapLimit(withBrowser, PROBE_CONCURRENCY, (summary) => ctx.probe(summary));
  stats.live = checks.filter((check) => check?.status === 'same').length;
  return stats;
}
