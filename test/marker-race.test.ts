/**
 * Many processes open one new sessions directory at the same instant (Playwright Test's workers
 * do, each with its manager): every one of them must find it raptor's. Seen in CI: a worker read
 * the marker another had created but not yet written, took the empty file for a stranger's and
 * refused the directory with FOREIGN_DIRECTORY.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { createTempDir } from './helpers/temp-dir.js';

const PROCESSES = 6;
const DIRS = Number(process.env['RAPTOR_MARKER_DIRS'] ?? 300);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

it(`${PROCESSES} processes claiming the same ${DIRS} new directories at once: every claim succeeds`, async () => {
  const tmp = await createTempDir('raptor-marker-race-');
  cleanups.push(tmp.remove);
  const go = join(tmp.path, 'go');
  const runs = Array.from({ length: PROCESSES }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/territory/claim-worker.ts'), tmp.path, String(DIRS), go], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    return new Promise<{ failures: string[] }>((resolve, reject) =>
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { failures: string[] }) : reject(new Error(`worker exited ${code}: ${err}`)))),
    );
  });
  await new Promise((resolve) => setTimeout(resolve, 2000)); // every worker loaded and polling
  await writeFile(go, '');
  const failures = (await Promise.all(runs)).flatMap((r) => r.failures);
  expect(failures).toEqual([]);
}, 120_000);
