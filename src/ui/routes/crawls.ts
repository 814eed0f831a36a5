/**
 * `/api/crawls`: every crawl's report and its time series, and a `crawls` event each second
 * while some page watches.
 *
 * Who watches: each `GET /api/crawls` holds an interest for `INTEREST_MS`; the crawls view asks
 * again every 10 s (which also resynchronizes it after an SSE reconnect). The event hub has no
 * per-type subscriptions, and a lease ends by itself when a tab is closed or put to sleep, so the
 * sampler stops reading the home within seconds of the last page leaving, without a goodbye.
 */
import type { Hono } from 'hono';
import type { DashboardContext } from '../context.js';
import { CrawlSampler } from '../crawl-sampler.js';

export const INTEREST_MS = 15_000;
const SAMPLE_MS = 1000;

export function crawlRoutes(app: Hono, ctx: DashboardContext): void {
  const sampler = new CrawlSampler(ctx.manager, ctx.logger);
  let interestUntil = 0;
  /** True while a tick runs or is scheduled: one loop at a time. */
  let active = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** The first tick of the current loop: every answer waits for it. */
  let ready: Promise<void> = Promise.resolve();

  const tick = async (): Promise<void> => {
    try {
      const samples = await sampler.sample();
      ctx.hub.publish({ type: 'crawls', data: { at: new Date().toISOString(), crawls: samples } });
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message }, 'crawl sampler failed');
    }
  };
  const schedule = (): void => {
    if (stopped || Date.now() > interestUntil) {
      active = false;
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      void tick().finally(schedule);
    }, SAMPLE_MS);
  };

  app.get('/api/crawls', async (c) => {
    interestUntil = Date.now() + INTEREST_MS;
    if (!active && !stopped) {
      // Nobody watched until now: the answer already has every crawl as it is (seeded from its files at first sight).
      active = true;
      ready = tick().then(schedule);
    }
    await ready;
    const session = c.req.query('session');
    const views = sampler.views().filter((v) => session === undefined || v.report.session === session);
    return c.json({ crawls: views, sampleMs: SAMPLE_MS, fullInspections: sampler.fullInspections });
  });

  ctx.onClose(() => {
    stopped = true;
    if (timer) clearTimeout(timer);
  });
}
