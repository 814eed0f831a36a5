/**
 * What `validate()` checks beyond the schema: expiry, cookies, timestamps, the CDP URL.
 * Pure functions over a record, so the CLI, the manager and the test fixtures share one rule set.
 */
import type { Issue } from './errors.js';
import { BROWSER_TYPES, isCdpUrl, isExpired, type SessionRecord } from './record.js';

/** `live`: the recorded browser answers; `none`: none is recorded (information, not an issue). */
export type LiveBrowserStatus = 'live' | 'none' | 'gone' | 'replaced' | 'unverified';

export interface ValidationResult {
  name: string;
  valid: boolean;
  expired: boolean;
  issues: Issue[];
  /** With `live`: what answers at the recorded CDP URL. */
  browser?: { status: LiveBrowserStatus; message: string };
}

/** Clock skew tolerated before a timestamp counts as "in the future". */
const FUTURE_SLACK_MS = 5 * 60_000;

/** True when the session is past `expiresAt`, or untouched for longer than `maxAgeMs`. */
export function sessionExpired(record: { expiresAt: string | null; updatedAt: string }, maxAgeMs?: number, now = Date.now()): boolean {
  if (isExpired(record.expiresAt, now)) return true;
  return maxAgeMs !== undefined && now - Date.parse(record.updatedAt) > maxAgeMs;
}

export function checkRecord(record: SessionRecord, options: { maxAgeMs?: number; now?: number } = {}): Issue[] {
  const now = options.now ?? Date.now();
  const issues: Issue[] = [];
  const add = (code: string, path: string, message: string): void => void issues.push({ code, path, message });

  if (!BROWSER_TYPES.includes(record.browserType)) add('BROWSER_TYPE', 'browserType', `unknown browser type \`${record.browserType}\``);
  if (record.cdpUrl !== undefined && !isCdpUrl(record.cdpUrl)) add('CDP_URL', 'cdpUrl', 'is not an http(s):// or ws(s):// URL');
  if (record.cdpUrl !== undefined && record.browserType !== 'chromium') {
    add('CDP_URL', 'cdpUrl', `CDP reattachment needs Chromium; a ${record.browserType} session restores by relaunch only`);
  }

  const created = Date.parse(record.createdAt);
  const updated = Date.parse(record.updatedAt);
  const accessed = Date.parse(record.lastAccessedAt);
  if (updated < created) add('TIMESTAMPS', 'updatedAt', 'is earlier than createdAt');
  for (const [path, at] of [['createdAt', created], ['updatedAt', updated], ['lastAccessedAt', accessed]] as const) {
    if (at > now + FUTURE_SLACK_MS) add('TIMESTAMPS', path, 'is in the future; is the clock of the machine that wrote it right?');
  }

  if (isExpired(record.expiresAt, now)) add('EXPIRED', 'expiresAt', `expired at ${record.expiresAt}`);
  else if (sessionExpired(record, options.maxAgeMs, now)) add('EXPIRED', 'updatedAt', 'not updated within maxAge');

  // Persistent cookies all past their expiry mean the site will see a logged-out browser.
  const cookies = record.storageState.cookies;
  const persistent = cookies.filter((c) => c.expires !== -1);
  if (persistent.length > 0 && persistent.length === cookies.length && persistent.every((c) => c.expires * 1000 <= now)) {
    add('COOKIES_EXPIRED', 'storageState.cookies', `all ${cookies.length} cookies have expired`);
  }
  return issues;
}

/** Issue codes that mean "expired" rather than "broken". */
export const EXPIRY_CODES = new Set(['EXPIRED', 'COOKIES_EXPIRED']);
