/**
 * kill -9 during writes: writer processes save, update and delete in a loop, announcing each
 * operation before it starts and acknowledging it when it returned. The test SIGKILLs them at
 * random moments and then checks the directory: no torn or unreadable file, no temp file counted
 * as a session, and every session exactly where the writers' last words put it: at its
 * acknowledged revision, or, for the one operation in flight at the kill, before or after it.
 *
 * The kill moments and each writer's choices come from one seed (`RAPTOR_SEED`, printed on failure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileStore } from '../src/store/file.js';
import { createTempDir } from './helpers/temp-dir.js';
import { testSeed } from './helpers/test-seed.js';

const KILLS = Number(process.env['RAPTOR_STRESS_KILLS'] ?? 30);
const WRITERS = 3;
const { random } = testSeed('RAPTOR_SEED');

type Line = { intent: 'put' | 'delete'; name: string } | { op: 'put' | 'delete'; name: string; revision: number };

/** What the writers said last about each session: the acknowledged revision (0 = deleted) and any operation in flight. */
interface Known {
  revision: number;
  inFlight?: 'put' | 'delete';
}

function startWriter(dir: string, w: number, known: Map<string, Known>): { child: ChildProcess; done: Promise<void>; writing: Promise<void> } {
  const seed = String(Math.floor(random() * 2 ** 31)); // a seed of its own, drawn from the test's
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/stress/writer.ts', 'churn', dir, `w${w}`, '6', '100000', '--seed', seed], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let started!: () => void;
  const writing = new Promise<void>((resolve) => (started = resolve));
  lines.on('line', (text) => {
    started();
    const line = JSON.parse(text) as Line;
    const entry = known.get(line.name) ?? { revision: 0 };
    if ('intent' in line) known.set(line.name, { revision: entry.revision, inFlight: line.intent });
    else known.set(line.name, { revision: line.revision });
  });
  return { child, writing, done: new Promise((resolve) => lines.once('close', resolve)) };
}

describe('kill -9 during writes', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let dir: string;
  beforeAll(async () => {
    tmp = await createTempDir('raptor-kill-');
    dir = join(tmp.path, 'sessions');
  });
  afterAll(async () => tmp?.remove());

  it(`survives ${KILLS} SIGKILLs of writers mid-operation with every acknowledged write intact`, async () => {
    const known = new Map<string, Known>();
    let kills = 0;
    let checked = 0;
    while (kills < KILLS) {
      const writers = Array.from({ length: WRITERS }, (_, w) => startWriter(dir, w, known));
      await Promise.race([Promise.all(writers.map((w) => w.writing)), new Promise((r) => setTimeout(r, 30_000))]);
      await new Promise((r) => setTimeout(r, random() * 400)); // a random moment while they write
      for (const { child } of writers) child.kill('SIGKILL');
      await Promise.all(writers.map((w) => w.done));
      kills += WRITERS;
      checked += await check(dir, known);
    }
    expect(checked).toBeGreaterThan(KILLS); // the writers really wrote between kills
  }, 120_000 + KILLS * 15_000); // scales with the kill count of `test:stress`
});

async function check(dir: string, known: Map<string, Known>): Promise<number> {
  const store = createFileStore({ dir });
  try {
    const invalid: string[] = [];
    const revisions = new Map<string, number>();
    for await (const entry of store.scan()) {
      if (entry.ok) revisions.set(entry.summary.name, entry.summary.revision);
      else invalid.push(`${entry.key}: ${entry.reason}`);
    }
    expect(invalid, 'torn or unreadable files').toEqual([]);
    const listed = [];
    for await (const summary of store.list()) listed.push(summary.name);
    expect(listed.sort()).toEqual([...revisions.keys()].sort()); // temp files are never sessions
    const files = (await readdir(dir)).filter((f) => !f.startsWith('.'));
    expect(files.sort()).toEqual([...revisions.keys()].map((n) => `${n}.json`).sort());
    for (const [name, { revision: acked, inFlight }] of known) {
      const actual = revisions.get(name) ?? 0;
      const allowed = new Set([acked]);
      if (inFlight === 'delete') allowed.add(0);
      if (inFlight === 'put') allowed.add(acked + 1);
      expect(allowed.has(actual), `${name}: acknowledged ${acked}, in flight ${inFlight ?? 'nothing'}, found ${actual}`).toBe(true);
      known.set(name, { revision: actual }); // the operation in flight is settled now, one way or the other
    }
    return known.size;
  } finally {
    await store.close();
  }
}
