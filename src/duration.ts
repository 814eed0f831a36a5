/** Human durations (`500ms`, `30s`, `15m`, `12h`, `7d`, `2w`) to milliseconds. */
import { RaptorError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(value);
    if (match) return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
  }
  throw new RaptorError('INVALID_INPUT', `${what} \`${value}\` is not a duration. Use e.g. \`30s\`, \`12h\`, \`7d\`.`);
}
