export { Crawl } from './crawl.js';
export { normalizeUrl } from './page-task.js';
export { crawlDirFor } from '../env/paths.js';
export type { CrawlOptions } from './crawl.js';
export type { PageHandler, PageTask } from './page-task.js';
export { inspectCrawl, listCrawls } from './inspect.js';
export type { CrawlReport, CrawlStatus, Recommendation } from './inspect.js';
export type { Progress, UrlEntry, UrlState } from './state.js';
export type { Heartbeat } from './owner.js';
