/** Many copies of one session written straight to a directory, as raptor writes them: the 10,000-session stores of the benches. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileNameFor } from '../src/core/names.js';
import { serializeRecord, type SessionRecord } from '../src/core/record.js';

export async function writeSessionFiles(dir: string, record: SessionRecord, count: number, nameOf = (i: number) => `session-${i}`): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, (_, j) => {
        const name = nameOf(i + j);
        const copy = { ...record, name, cdpUrl: undefined, browserId: undefined } as SessionRecord;
        return writeFile(join(dir, fileNameFor(name)), serializeRecord(copy), { mode: 0o600 });
      }),
    );
  }
}
