/**
 * Concurrent writers in separate processes, through the public API: no update is ever lost.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionManager } from '../src/manager.js';
import { createTempDir } from './helpers/temp-dir.js';

const PROCESSES = 8;
const UPDATES = Number(process.env['RAPTOR_STRESS_UPDATES'] ?? 200);

function runWriter(args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/stress/writer.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

describe('concurrent writers in separate processes', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let dir: string;
  beforeAll(async () => {
    tmp = await createTempDir('raptor-concurrent-');
    dir = join(tmp.path, 'sessions');
  });
  afterAll(async () => tmp?.remove());

  it(`${PROCESSES} processes × ${UPDATES} read-modify-write updates of one session lose nothing`, async () => {
    const manager = await SessionManager.open({ dir, autoCleanup: false });
    const created = await manager.save('counter', { storageState: { cookies: [], origins: [] } }, { metadata: { count: 0 } });
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => runWriter(['counter', dir, 'counter', String(UPDATES)])));
    const applied = results.reduce((sum, r) => sum + r.applied, 0);
    const final = await manager.get('counter');
    await manager.close();
    expect(applied).toBe(PROCESSES * UPDATES);
    expect(final.metadata['count']).toBe(applied);
    expect(final.revision).toBe(created.revision + applied);
  }, 240_000);

  it(`${PROCESSES} processes creating and deleting their own sessions in one directory`, async () => {
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, p) => runWriter(['create-delete', dir, `p${p}`, String(Math.ceil(UPDATES / 2))])));
    const expected = results.flatMap((r) => r.kept as string[]).map((name) => `${name}.json`).sort();
    const files = (await readdir(dir)).filter((f) => f.startsWith('p') && f.endsWith('.json')).sort();
    expect(files).toEqual(expected);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  }, 240_000);
});
