/**
 * Tables for people line up in a terminal whatever the names are made of: CJK characters and
 * emoji take two columns, a combining accent none. Measured the way a terminal shows it
 * (`string-width`), not in UTF-16 units or code points.
 */
import stringWidth from 'string-width';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatTable } from '../src/cli/output.js';
import { runCliInProcess } from './helpers/cli-in-process.js';
import { createRaptorEnv } from './helpers/env.js';

const NAMES = ['会社-admin', '🦖-crawler', 'plain', 'e\u0301te-combining', '👩‍💻-dev'];

/** The display column each of `cells` starts at in `line` (cells are separated by 2+ spaces). */
function startColumns(line: string, cells: readonly string[]): number[] {
  let from = 0;
  return cells.map((cell) => {
    const at = line.indexOf(cell, from);
    expect(at, `${cell} in ${JSON.stringify(line)}`).toBeGreaterThanOrEqual(0);
    from = at + cell.length;
    return stringWidth(line.slice(0, at));
  });
}

describe('formatTable', () => {
  it('starts every column at the same display column, left and right aligned', () => {
    const rows = NAMES.map((name, i) => ({ name, tag: i % 2 ? '团队' : 'ops', size: '1'.repeat(i + 1) }));
    const text = formatTable(
      rows,
      [
        { header: 'NAME', value: (r) => r.name },
        { header: 'TAGS', value: (r) => r.tag },
        { header: 'SIZE', value: (r) => r.size, align: 'right' },
      ],
      { tty: true },
    );
    const [header, rule, ...lines] = text.split('\n');
    const tagsAt = startColumns(header!, ['NAME', 'TAGS'])[1];
    const widths = lines.map((line) => stringWidth(line));
    rows.forEach((row, i) => {
      expect(startColumns(lines[i]!, [row.name, row.tag])[1], lines[i]).toBe(tagsAt);
    });
    // Right-aligned: every row ends at the same column, and the rule is as wide as the table.
    expect(new Set([stringWidth(header!), ...widths]).size).toBe(1);
    expect(stringWidth(rule!)).toBe(stringWidth(header!));
  });
});

describe('raptor list', () => {
  let raptor: Awaited<ReturnType<typeof createRaptorEnv>>;
  beforeEach(async () => {
    raptor = await createRaptorEnv();
  });
  afterEach(() => raptor.dispose());

  it('lines up sessions named in CJK and emoji with the rest', async () => {
    for (const name of NAMES) await raptor.manager.save(name, { storageState: { cookies: [], origins: [] } }, { tags: ['t'] });
    const result = await runCliInProcess(['list'], { RAPTOR_HOME: raptor.home });
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(NAMES.length);
    const expected = startColumns(header!, ['NAME', 'TAGS', 'UPDATED', 'EXPIRES']);
    for (const row of rows) {
      const name = NAMES.find((n) => row.startsWith(n))!;
      expect(name, row).toBeDefined();
      expect(startColumns(row, [name, 't', 'just now', 'never']), row).toEqual(expected);
    }
  });
});
