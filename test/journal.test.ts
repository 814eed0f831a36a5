/**
 * The crawl journal on its own: replay rebuilds the table, a torn last line is tolerated and cut
 * off, a corrupt line in the middle is reported, and a compaction interrupted at any point
 * leaves a readable, complete crawl.
 */
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { CrawlJournal, readJournal } from '../src/crawler/journal.js';
import { createTempDir } from './helpers/temp-dir.js';

describe('crawl journal', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  beforeEach(async () => {
    tmp = await createTempDir('raptor-journal-');
  });
  afterEach(async () => tmp.remove());

  async function writeSome(dir: string): Promise<void> {
    const { journal } = await CrawlJournal.open(dir);
    for (const url of ['a', 'b', 'c']) journal.append({ t: 'add', url });
    journal.append({ t: 'start', url: 'a' });
    journal.append({ t: 'done', url: 'a', result: { n: 1 } });
    journal.append({ t: 'start', url: 'b' });
    journal.sync();
    // no close(): like a process killed here
  }

  it('replays to the exact table, and in-flight URLs of a crash go back to pending', async () => {
    await writeSome(tmp.path);
    const { state, replayed } = readJournal(tmp.path);
    expect(replayed).toBe(6);
    expect(state.urls.get('a')).toEqual({ state: 'completed', attempts: 1, result: { n: 1 } });
    expect(state.recoverInFlight()).toEqual(['b']);
    expect(state.progress()).toEqual({ total: 3, pending: 2, inFlight: 0, completed: 1, failed: 0 });
  });

  it('tolerates a torn last line and cuts it off before appending', async () => {
    await writeSome(tmp.path);
    await appendFile(join(tmp.path, 'journal-0.ndjson'), '{"t":"done","url":"b"'); // power loss mid-line
    expect(readJournal(tmp.path)).toMatchObject({ tornLine: true, replayed: 6 });
    const { journal } = await CrawlJournal.open(tmp.path);
    journal.append({ t: 'done', url: 'b' });
    await journal.close();
    const reopened = readJournal(tmp.path);
    expect(reopened.tornLine).toBe(false);
    expect(reopened.state.urls.get('b')?.state).toBe('completed');
  });

  it('reports a corrupt line before the last one as JOURNAL_CORRUPT', async () => {
    await writeSome(tmp.path);
    const path = join(tmp.path, 'journal-0.ndjson');
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[2] = '{"t":"add","url":'; // flipped bits in the middle
    await writeFile(path, lines.join('\n'));
    let error: unknown;
    try {
      readJournal(tmp.path);
    } catch (e) {
      error = e;
    }
    expect(isRaptorError(error, 'JOURNAL_CORRUPT')).toBe(true);
  });

  it('compacts into a snapshot and a fresh journal, keeping lines appended meanwhile', async () => {
    const { journal } = await CrawlJournal.open(tmp.path);
    for (let i = 0; i < 100; i++) journal.append({ t: 'add', url: `u${i}` });
    const compaction = journal.compact();
    journal.append({ t: 'start', url: 'u0' }); // lands while the snapshot is being written
    await compaction;
    journal.append({ t: 'done', url: 'u0' });
    journal.sync();
    expect((await readdir(tmp.path)).sort()).toEqual(['journal-1.ndjson', 'snapshot.json']);
    const { state, generation } = readJournal(tmp.path);
    expect(generation).toBe(1);
    expect(state.urls.get('u0')).toEqual({ state: 'completed', attempts: 1 });
    expect(state.urls.size).toBe(100);
    await journal.close();
  });

  it('ignores journals an interrupted compaction left behind', async () => {
    await writeSome(tmp.path);
    await writeFile(join(tmp.path, 'journal-1.ndjson'), '{"t":"start","url":"a"}\n'); // new journal, snapshot never renamed
    await writeFile(join(tmp.path, '.snapshot.json.123.tmp'), '{"half":');
    const { journal, loaded } = await CrawlJournal.open(tmp.path);
    expect(loaded.generation).toBe(0);
    expect(loaded.state.urls.get('a')?.attempts).toBe(1);
    expect((await readdir(tmp.path)).sort()).toEqual(['journal-0.ndjson']);
    await journal.close();
  });
});
