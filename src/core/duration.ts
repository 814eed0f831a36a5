/** Human durations (`500ms`, `30s`, `15m`, `12h`, `7d`, `2w`) to milliseconds. */
import { RaptorError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The longest duration raptor takes: an expiry computed from it must still be a date (a `--ttl` of 1e20 days is not). */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

export function parseDuration(value: string | number, what = 'duration'): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) ms = value;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(value);
    if (match) ms = Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
  }
  if (ms !== undefined && ms > MAX_DURATION_MS) {
    throw new RaptorError('INVALID_INPUT', `${what} \`${value}\` is longer than 100 years, the longest raptor takes. Use e.g. \`30d\`, or no expiry at all.`);
  }
  if (ms !== undefined) return ms;
  throw new RaptorError('INVALID_INPUT', `${what} \`${value}\` is not a duration. Use e.g. \`30s\`, \`12h\`, \`7d\`.`);
}
