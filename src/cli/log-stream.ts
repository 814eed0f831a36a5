/**
 * pino writes JSON lines; at a terminal (or in a pipe without `--json`) a person reads them.
 * This stream turns each line into `raptor: warn: <msg> (key=value, ...)`. With `--json` the
 * CLI passes stderr through untouched so machines get pino's JSON.
 */
import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export function humanLogStream(target: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const lines = String(chunk).split('\n').filter((line) => line !== '');
      target.write(lines.map(formatLine).join(''));
      callback();
    },
  });
}

export function formatLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${line}\n`; // not pino JSON: pass it through as it came
  }
  const level = LEVELS[entry['level'] as number] ?? String(entry['level']);
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `raptor: ${level}: ${String(entry['msg'] ?? '')}${fields.length > 0 ? ` (${fields.join(', ')})` : ''}\n`;
}
