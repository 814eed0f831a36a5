/**
 * What a crawl's page handler gets and may give back: the task (the page, its response, the
 * attempt, a way to add links), URLs as the crawl knows them (resolved, no fragment), and the
 * rule for results (small plain JSON, kept in the journal with the URL).
 */
import type { Page, Response } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import { sanitizeJson, type Json } from '../core/sanitize.js';

export interface PageTask {
  url: string;
  page: Page;
  response: Response | null;
  /** 1 on the first try. */
  attempt: number;
  /** Adds URLs (resolved against this page's URL, fragments dropped) unless already known. */
  enqueue(urls: string[]): number;
}

/** Handles one page; what it returns (small plain JSON) is kept as the URL's result. */
export type PageHandler = (task: PageTask) => Promise<Json | void>;

const MAX_RESULT_BYTES = 16 * 1024;

/** `https://a.test/x#y` -> `https://a.test/x`; relative URLs resolve against `base`. */
export function normalizeUrl(url: string, base?: string): string {
  const parsed = new URL(url, base);
  parsed.hash = '';
  return parsed.href;
}

/** The handler's result as it is journaled: plain JSON, small; anything else is the handler's error. */
export function checkResult(result: Json, url: string): Json {
  const { value, issues } = sanitizeJson(result);
  if (issues.length > 0 || value === undefined) throw new RaptorError('INVALID_INPUT', `The handler's result for ${url} is not plain JSON (${issues[0]?.message}).`);
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_RESULT_BYTES) {
    throw new RaptorError('INVALID_INPUT', `The handler's result for ${url} is over ${MAX_RESULT_BYTES / 1024} KiB; keep results small and store big data elsewhere.`);
  }
  return value;
}
