/**
 * Every crawl under `$RAPTOR_HOME/crawls`, sampled about once a second while a page watches the
 * crawls view, with a bounded time series per crawl since the dashboard first saw it.
 *
 * Cost: `inspectCrawl` replays the whole journal and probes the session's browser; a 1-second
 * sampler does that only when something that changes the report happens (first sight, the
 * heartbeat's status, owner, epoch or the owner's liveness change) and every `FULL_EVERY_MS`
 * otherwise. Between those a sample is the heartbeat (which carries the owner's progress) and a
 * stat of the owner lock: a few hundred bytes read whatever the journal's size.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, isRaptorError } from '../core/errors.js';
import type { Logger } from '../env/log.js';
import { CRAWL_FILES, crawlsDirIn } from '../env/paths.js';
import { isStale } from '../fs/file-lock.js';
import { inspectCrawl, type CrawlReport } from '../crawler/inspect.js';
import { readSnapshotProgress } from '../crawler/journal.js';
import { readHeartbeat, type Heartbeat } from '../crawler/owner.js';
import type { Progress } from '../crawler/state.js';
import type { SessionManager } from '../manager.js';

/** One sample: the time (ms since the epoch) and what the crawl said then. */
export interface CrawlPoint {
  t: number;
  completed: number;
  pending: number;
  inFlight: number;
  failed: number;
  /** Pages finished per minute over the last minute of samples; null until two samples span a second. */
  ppm: number | null;
  health: number | null;
  heartbeatAgeMs: number | null;
}

export interface CrawlView {
  report: CrawlReport;
  series: CrawlPoint[];
}

/** An hour of 1-second samples per crawl. */
export const MAX_POINTS = 3600;
const FULL_EVERY_MS = 30_000;
const RATE_WINDOW_MS = 60_000;

interface Tracked {
  report: CrawlReport;
  signature: string;
  fullAt: number;
  series: CrawlPoint[];
}

export class CrawlSampler {
  private readonly crawls = new Map<string, Tracked>();
  /** How many journal replays (`inspectCrawl`) the sampler ran: the cost the tests and the bench can see. */
  fullInspections = 0;

  constructor(
    private readonly manager: SessionManager,
    private readonly logger: Logger,
  ) {}

  views(): CrawlView[] {
    return [...this.crawls.values()].map(({ report, series }) => ({ report, series }));
  }

  /** Samples every crawl once; returns each crawl's report and the point just added. */
  async sample(now = Date.now()): Promise<{ report: CrawlReport; point: CrawlPoint }[]> {
    const root = crawlsDirIn(this.manager.paths.home);
    const stems = await readdir(root).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return [] as string[];
      throw error;
    });
    const seen = new Set<string>();
    const out: { report: CrawlReport; point: CrawlPoint }[] = [];
    for (const stem of stems.sort()) {
      const dir = join(root, stem);
      try {
        const sampled = await this.sampleOne(dir, stem, now);
        if (!sampled) continue;
        seen.add(dir);
        out.push(sampled);
      } catch (error) {
        seen.add(dir); // keep what is known; the next tick tries again
        this.logger.warn({ crawl: stem, err: (error as Error).message }, 'crawl sample failed');
      }
    }
    for (const dir of this.crawls.keys()) if (!seen.has(dir)) this.crawls.delete(dir);
    return out;
  }

  private async sampleOne(dir: string, stem: string, now: number): Promise<{ report: CrawlReport; point: CrawlPoint } | undefined> {
    if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) return undefined;
    const heartbeat = await readHeartbeat(dir);
    const intervalMs = heartbeat?.intervalMs ?? 1000;
    const lockPath = join(dir, CRAWL_FILES.ownerLock);
    const locked = await stat(lockPath).then(() => true, () => false);
    const ownerAlive = locked && !(await isStale(lockPath, 3 * intervalMs));
    const signature = [heartbeat?.status, heartbeat?.pid, heartbeat?.epoch, heartbeat?.startedAt, ownerAlive].join('|');
    let tracked = this.crawls.get(dir);

    let report: CrawlReport;
    if (!tracked || tracked.signature !== signature || now - tracked.fullAt >= FULL_EVERY_MS) {
      const full = await this.inspect(heartbeat?.session ?? stem);
      if (!full) return undefined;
      report = full;
      if (!tracked) {
        tracked = { report, signature, fullAt: now, series: seed(dir, heartbeat) };
        this.crawls.set(dir, tracked);
      }
      tracked.signature = signature;
      tracked.fullAt = now;
    } else {
      report = cheap(tracked.report, heartbeat, ownerAlive, now);
    }
    // While it runs, the heartbeat's progress is what the owner says each beat; the journal, read
    // at a different instant, would make the curve step back and forth between the two.
    if (report.status === 'running' && heartbeat) report = { ...report, progress: heartbeat.progress };
    tracked.report = report;
    const point = pointOf(now, report.progress, report.health, report.heartbeatAgeMs, tracked.series);
    push(tracked.series, point);
    return { report, point };
  }

  private async inspect(session: string): Promise<CrawlReport | undefined> {
    this.fullInspections++;
    try {
      return await inspectCrawl(this.manager, session);
    } catch (error) {
      if (isRaptorError(error, 'NOT_FOUND')) return undefined; // removed meanwhile
      throw error;
    }
  }
}

/** A report refreshed from the heartbeat alone: what changes second to second. */
function cheap(previous: CrawlReport, heartbeat: Heartbeat | undefined, ownerAlive: boolean, now: number): CrawlReport {
  if (!heartbeat) return previous;
  const at = Date.parse(heartbeat.at);
  return {
    ...previous,
    lastHeartbeat: heartbeat.at,
    heartbeatAgeMs: Number.isNaN(at) ? null : now - at,
    health: heartbeat.health,
    owner: previous.owner && { ...previous.owner, alive: ownerAlive },
  };
}

/** What the crawl's files tell about its past at first sight: the snapshot's progress when it was saved, and the last heartbeat's. */
function seed(dir: string, heartbeat: Heartbeat | undefined): CrawlPoint[] {
  const series: CrawlPoint[] = [];
  let snapshot: ReturnType<typeof readSnapshotProgress>;
  try {
    snapshot = readSnapshotProgress(dir);
  } catch {
    snapshot = undefined; // a corrupt snapshot: the report says so, the series starts now
  }
  const beatAt = heartbeat ? Date.parse(heartbeat.at) : NaN;
  const snapAt = snapshot ? Date.parse(snapshot.savedAt) : NaN;
  if (snapshot && !Number.isNaN(snapAt) && (Number.isNaN(beatAt) || snapAt < beatAt)) push(series, pointOf(snapAt, snapshot.progress, null, null, series));
  if (heartbeat && !Number.isNaN(beatAt)) push(series, pointOf(beatAt, heartbeat.progress, heartbeat.health, 0, series));
  return series;
}

function pointOf(t: number, progress: Progress | null, health: number | null, heartbeatAgeMs: number | null, series: readonly CrawlPoint[]): CrawlPoint {
  const p = progress ?? { total: 0, pending: 0, inFlight: 0, completed: 0, failed: 0 };
  return { t, completed: p.completed, pending: p.pending, inFlight: p.inFlight, failed: p.failed, ppm: rate(series, t, p.completed), health, heartbeatAgeMs };
}

function rate(series: readonly CrawlPoint[], t: number, completed: number): number | null {
  let from: CrawlPoint | undefined;
  for (let i = series.length - 1; i >= 0; i--) {
    const point = series[i]!;
    if (t - point.t > RATE_WINDOW_MS) break;
    from = point;
  }
  if (!from || t - from.t < 1000) return null;
  return Math.max(0, ((completed - from.completed) * 60_000) / (t - from.t));
}

function push(series: CrawlPoint[], point: CrawlPoint): void {
  series.push(point);
  if (series.length > MAX_POINTS) series.splice(0, series.length - MAX_POINTS);
}
