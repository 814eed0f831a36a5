/**
 * `/api/sessions`: the table, paged and filtered on the server (`SessionIndex`), with the live
 * browser and lease holder of the rows on the page only, so 10,000 sessions cost one page's probes.
 */
import type { Hono } from 'hono';
import { RaptorError } from '../../core/errors.js';
import type { SessionSummary } from '../../core/record.js';
import { poolStats } from '../../store/pool.js';
import type { HeldLease } from '../../store/types.js';
import type { DashboardContext } from '../context.js';
import { SORT_KEYS, statusOf, type SessionQuery, type SessionStatus, type SortKey } from '../session-index.js';
import type { BrowserState } from '../browser-probes.js';

const STATUSES: readonly SessionStatus[] = ['valid', 'expiring', 'expired', 'retired'];

/** One row as the page shows it: a summary's public fields, never metadata values it did not ask for. */
export interface SessionRow {
  name: string;
  browserType: string;
  tags: string[];
  status: SessionStatus;
  expiresAt: string | null;
  updatedAt: string;
  bytes: number | null;
  revision: number;
  /** `live`, `gone` (recorded, not answering), or `none` (no kept-alive browser recorded). */
  browser: BrowserState;
  usageCount: number;
  errorScore: number;
  /** Who holds the session's lease until when; `null` when free. Never the lease token. */
  lease: { owner: string; expiresAt: string } | null;
}

export function sessionRoutes(app: Hono, ctx: DashboardContext): void {

  app.get('/api/sessions', async (c) => {
    const page = ctx.index.query(parseQuery(new URL(c.req.url).searchParams));
    const [browsers, leases] = await Promise.all([ctx.probes.states(page.rows), ctx.manager.leases()]); // one listing per page, not per row
    const held = new Map(leases.map((l) => [l.name, l]));
    return c.json({ ...page, rows: page.rows.map((s) => toRow(s, browsers.get(s.name) ?? 'none', held.get(s.name))) });
  });

  // Every change in the store reaches every open page as the row it now is (or its removal).
  const stop = ctx.manager.watch((event) => {
    void ctx.index
      .apply(event)
      .then(async (summary) => {
        const browser = summary ? ((await ctx.probes.states([summary])).get(summary.name) ?? 'none') : 'none';
        ctx.hub.publish({ type: 'session', data: { event, row: summary ? toRow(summary, browser) : null, total: ctx.index.size } });
      })
      .catch((error: unknown) => ctx.logger.warn({ err: error, name: event.name }, 'could not refresh a session row'));
  });
  ctx.onClose(stop);
}

export function toRow(s: SessionSummary, browser: BrowserState, lease?: HeldLease): SessionRow {
  const pool = poolStats(s.metadata);
  return {
    name: s.name,
    browserType: s.browserType,
    tags: s.tags,
    status: statusOf(s),
    expiresAt: s.expiresAt,
    updatedAt: s.updatedAt,
    bytes: s.bytes ?? null,
    revision: s.revision,
    browser,
    usageCount: pool.usageCount,
    errorScore: pool.errorScore,
    lease: lease ? { owner: lease.owner, expiresAt: lease.expiresAt } : null,
  };
}

function parseQuery(params: URLSearchParams): SessionQuery {
  const query: SessionQuery = {};
  const search = params.get('q');
  if (search) query.search = search;
  const tag = params.get('tag');
  if (tag) query.tag = tag;
  const status = params.get('status');
  if (status) {
    if (!STATUSES.includes(status as SessionStatus)) throw new RaptorError('INVALID_INPUT', `status must be one of ${STATUSES.join(', ')}`);
    query.status = status as SessionStatus;
  }
  const sort = params.get('sort');
  if (sort) {
    if (!SORT_KEYS.includes(sort as SortKey)) throw new RaptorError('INVALID_INPUT', `sort must be one of ${SORT_KEYS.join(', ')}`);
    query.sort = sort as SortKey;
  }
  if (params.get('desc') === '1') query.descending = true;
  query.offset = integer(params.get('offset'), 0);
  query.limit = integer(params.get('limit'), 50);
  return query;
}

function integer(value: string | null, fallback: number): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new RaptorError('INVALID_INPUT', `expected a whole number, got \`${value.slice(0, 20)}\``);
  return n;
}
