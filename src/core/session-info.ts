/** What `raptor info` shows of a session beyond its summary: counts and the earliest cookie expiry, never a value. */
import { toSummary, type SessionRecord, type SessionSummary } from './record.js';

export interface SessionInfo extends SessionSummary {
  cookies: number;
  origins: number;
  sessionStorageOrigins: number;
  /** Earliest expiry among persistent cookies (ISO), if any. */
  cookiesExpireAt: string | null;
  profileDir: string;
}

export function sessionInfo(record: SessionRecord, facts: { expired: boolean; profileDir: string }): SessionInfo {
  const persistent = record.storageState.cookies.filter((c) => c.expires !== -1).map((c) => c.expires);
  const { storageState, sessionStorage } = record;
  return {
    ...toSummary(record),
    expired: facts.expired,
    cookies: storageState.cookies.length,
    origins: storageState.origins.length,
    sessionStorageOrigins: Object.keys(sessionStorage ?? {}).length,
    cookiesExpireAt: persistent.length > 0 ? new Date(Math.min(...persistent) * 1000).toISOString() : null,
    profileDir: facts.profileDir,
  };
}
