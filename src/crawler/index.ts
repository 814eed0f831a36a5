export { Crawl, normalizeUrl } from './crawl.js';
export { crawlDirFor } from '../env/paths.js';
export type { CrawlOptions, PageHandler, PageTask } from './crawl.js';
export { inspectCrawl, listCrawls } from './inspect.js';
export type { CrawlReport, CrawlStatus, Recommendation } from './inspect.js';
export type { Progress, UrlEntry, UrlState } from './state.js';
export type { Heartbeat } from './owner.js';
