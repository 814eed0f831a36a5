/**
 * What commands hand back to `main`, and the small formatting kit they use to build it:
 * aligned tables, relative times, sizes. A table is padded text, measured in terminal columns
 * (`string-width`), so names in CJK or with emoji line up with the rest.
 *
 * A command never writes to stdout itself (`watch` streams through `CliContext.emit`);
 * `main` prints one `CommandOutput`: its `data` as one JSON document with `--json`,
 * else its `text`.
 */
import stringWidth from 'string-width';

/** How human output will be shown. */
export interface View {
  /** stdout is a terminal: tables get a rule under the header. */
  tty: boolean;
}

export interface CommandOutput {
  /** The one JSON document printed with `--json`. Omitted: print nothing (`watch`, which streamed). */
  data?: unknown;
  /** Human output for stdout; built only when `--json` is off. */
  text?: (view: View) => string;
  /**
   * Exit code of a command that ran but whose answer is a failure (`validate` found an
   * invalid session, `doctor` a failed check). Its output is still printed.
   */
  exitCode?: number;
  /**
   * The output is credentials by request (`show --reveal`, `export`): `main` prints it as it is.
   * Any other output has the credentials of every URL in it redacted on the way out.
   */
  reveals?: boolean;
}

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  /** @default 'left' */
  align?: 'left' | 'right';
}

/** Left/right aligned columns separated by two spaces; on a TTY a rule under the header. */
export function formatTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], view: View): string {
  const cells = rows.map((row) => columns.map((column) => oneLine(column.value(row))));
  const widths = columns.map((column, i) => Math.max(width(column.header), ...cells.map((line) => width(line[i]!))));
  const render = (line: string[]): string =>
    line
      .map((cell, i) => (columns[i]!.align === 'right' ? padStart(cell, widths[i]!) : padEnd(cell, widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [render(columns.map((c) => c.header))];
  if (view.tty) lines.push(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const line of cells) lines.push(render(line));
  return lines.join('\n');
}

/** `key: value` lines with the keys padded to one width. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const keyWidth = Math.max(0, ...fields.map(([key]) => width(key)));
  return fields.map(([key, value]) => `${padEnd(`${key}:`, keyWidth + 1)}  ${value}`).join('\n');
}

/** `3m ago`, `in 2d`, `just now`. Relative to `now` so tests can pin it. */
export function relativeTime(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const delta = at - now;
  const abs = Math.abs(delta);
  if (abs < 45_000) return 'just now';
  const units: [number, string][] = [
    [604_800_000, 'w'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
  ];
  const [size, unit] = units.find(([ms]) => abs >= ms) ?? [60_000, 'm'];
  const amount = `${Math.round(abs / size)}${unit}`;
  return delta < 0 ? `${amount} ago` : `in ${amount}`;
}

/** `expiresAt` for humans: `never`, `in 3d`, `expired 2h ago`. */
export function formatExpiry(expiresAt: string | null, now = Date.now()): string {
  if (expiresAt === null) return 'never';
  const relative = relativeTime(expiresAt, now);
  return Date.parse(expiresAt) <= now ? `expired ${relative}` : relative;
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** `Examples:` block for `--help`: each entry is a command line and what it does. */
export function examples(entries: readonly (readonly [string, string])[]): string {
  const commandWidth = Math.max(...entries.map(([command]) => width(command)));
  return `\nExamples:\n${entries.map(([command, what]) => `  $ ${padEnd(command, commandWidth)}  # ${what}`).join('\n')}\n`;
}

/** Names in human messages are quoted the way errors quote them. */
export function quote(name: string): string {
  return `\`${name}\``;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}

/**
 * Columns `text` takes in a terminal: East Asian wide characters and emoji take two, combining
 * marks and zero-width joiners none. `String#padEnd` counts UTF-16 units, which is neither.
 */
function width(text: string): number {
  return stringWidth(text);
}

function padEnd(text: string, columns: number): string {
  return text + ' '.repeat(Math.max(0, columns - width(text)));
}

function padStart(text: string, columns: number): string {
  return ' '.repeat(Math.max(0, columns - width(text))) + text;
}
