/**
 * `/api/fleet`: the pool as a whole: free, leased, retired and expired counts (overall and per tag,
 * since pools are tags), each session's usage count and error score, and who holds a lease until
 * when. Never a lease token: `manager.leases()` does not have them.
 *
 * Leases on the file store change without a watch event, so while a page is connected the lease
 * listing is polled (`POLL_MS`) and a `fleet` event is published when it changed. Session changes
 * already reach the page as `session` events.
 */
import type { Hono } from 'hono';
import type { SessionSummary } from '../../core/record.js';
import type { HeldLease } from '../../store/types.js';
import { RETIRED_TAG, isAvailable, isRetired, poolStats } from '../../store/pool.js';
import type { DashboardContext } from '../context.js';

export const FLEET_POLL_MS = 2000;

export interface PoolCounts {
  /** The tag, or `null` for every session. */
  tag: string | null;
  total: number;
  free: number;
  leased: number;
  retired: number;
  expired: number;
}

export interface FleetSession {
  name: string;
  tags: string[];
  state: 'free' | 'leased' | 'retired' | 'expired';
  usageCount: number;
  maxUsageCount: number;
  errorScore: number;
  maxErrorScore: number;
  /** Logins by a lease holder that found it logged out (`manager.refreshLease`), and the last one's time. */
  refreshes: number;
  lastRefreshAt: string | null;
  retiredReason: string | null;
  lease: { owner: string; expiresAt: string } | null;
}

export interface FleetView {
  pools: PoolCounts[];
  sessions: FleetSession[];
  leases: HeldLease[];
}

export function fleetRoutes(app: Hono, ctx: DashboardContext): void {
  app.get('/api/fleet', async (c) => c.json(fleetView(ctx.index.all(), await ctx.manager.leases())));

  // Leases do not always come with a store event: look while someone watches, tell when they changed.
  let last = '[]';
  let busy = false;
  const poll = async (): Promise<void> => {
    if (busy || ctx.hub.watchers === 0) return;
    busy = true;
    try {
      const leases = await ctx.manager.leases();
      const text = JSON.stringify(leases);
      if (text !== last) {
        last = text;
        ctx.hub.publish({ type: 'fleet', data: { leases } });
      }
    } catch (error) {
      ctx.logger.warn({ err: error }, 'could not list the leases held');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), FLEET_POLL_MS);
  timer.unref();
  ctx.onClose(() => clearInterval(timer));
}

export function fleetView(summaries: SessionSummary[], leases: HeldLease[], now = Date.now()): FleetView {
  const held = new Map(leases.map((l) => [l.name, l]));
  const sessions = summaries.map((s): FleetSession => {
    const pool = poolStats(s.metadata);
    const lease = held.get(s.name);
    const state = isRetired(s) ? 'retired' : lease ? 'leased' : isAvailable(s, now) ? 'free' : 'expired';
    return {
      name: s.name,
      tags: s.tags,
      state,
      usageCount: pool.usageCount,
      maxUsageCount: pool.maxUsageCount,
      errorScore: pool.errorScore,
      maxErrorScore: pool.maxErrorScore,
      refreshes: pool.refreshes ?? 0,
      lastRefreshAt: pool.lastRefreshAt ?? null,
      retiredReason: pool.retiredReason ?? (state === 'retired' ? 'tagged' : null),
      lease: lease ? { owner: lease.owner, expiresAt: lease.expiresAt } : null,
    };
  });
  const counts = new Map<string | null, PoolCounts>();
  const count = (tag: string | null, session: FleetSession): void => {
    let entry = counts.get(tag);
    if (!entry) counts.set(tag, (entry = { tag, total: 0, free: 0, leased: 0, retired: 0, expired: 0 }));
    entry.total++;
    entry[session.state]++;
  };
  for (const session of sessions) {
    count(null, session);
    for (const tag of session.tags) if (tag !== RETIRED_TAG) count(tag, session);
  }
  if (!counts.has(null)) counts.set(null, { tag: null, total: 0, free: 0, leased: 0, retired: 0, expired: 0 });
  const pools = [...counts.values()].sort((a, b) => (a.tag === null ? -1 : b.tag === null ? 1 : a.tag < b.tag ? -1 : 1));
  return { pools, sessions, leases };
}
