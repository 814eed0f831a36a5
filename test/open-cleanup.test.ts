/**
 * `open()` on a directory that has seen everything: expired sessions are removed, corrupted
 * ones quarantined with a reason, valid ones kept, and nothing throws.
 */
import { mkdir, readdir, readFile, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionManager } from '../src/manager.js';
import { fileNameFor } from '../src/core/names.js';
import { newRecord, serializeRecord, type SessionRecord } from '../src/core/record.js';
import { createTempDir } from './helpers/temp-dir.js';
import { claimSessionsDir } from '../src/fs/territory.js';

const emptyState = { cookies: [], origins: [] };

function fileFor(record: SessionRecord): string {
  return serializeRecord({ ...record, revision: 1 });
}

describe('open() cleans a messy sessions directory', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let dir: string;
  const env = () => ({ ...process.env, RAPTOR_HOME: tmp.path });

  beforeEach(async () => {
    tmp = await createTempDir();
    dir = join(tmp.path, 'sessions');
    await mkdir(dir, { mode: 0o700 });
    claimSessionsDir(dir); // a directory raptor made (marked), then messed up: only then may it clean it
  });
  afterEach(async () => tmp.remove());

  it('removes expired, quarantines each kind of corruption with a reason, keeps every valid file', async () => {
    const valid = ['alpha', 'beta', 'Gamma Ray'];
    for (const name of valid) await writeFile(join(dir, fileNameFor(name)), fileFor(newRecord(name, emptyState)), { mode: 0o600 });
    await writeFile(join(dir, 'old.json'), fileFor(newRecord('old', emptyState, { expiresAt: '2020-01-01T00:00:00.000Z' })));
    const whole = fileFor(newRecord('torn', emptyState));
    await writeFile(join(dir, 'torn.json'), whole.slice(0, whole.length - 40));
    await writeFile(join(dir, 'wrong-schema.json'), JSON.stringify({ schemaVersion: 1, name: 'wrong-schema', tags: 'nope' }));
    await writeFile(join(dir, 'wrong-name.json'), fileFor(newRecord('someone-else', emptyState)));
    await writeFile(join(dir, 'empty.json'), '');
    await writeFile(join(tmp.path, 'outside.json'), fileFor(newRecord('link', emptyState)));
    await symlink(join(tmp.path, 'outside.json'), join(dir, 'link.json'));

    const manager = await SessionManager.open({ env: env() });
    const result = manager.startupCleanup!;
    await manager.close();

    expect(result.removed).toEqual(['old']);
    const quarantined = Object.fromEntries(result.quarantined.map((q) => [q.key, q.reason]));
    expect(Object.keys(quarantined).sort()).toEqual(['empty.json', 'link.json', 'torn.json', 'wrong-name.json', 'wrong-schema.json']);
    expect(quarantined['link.json']).toMatch(/symbolic link/);
    expect(quarantined['wrong-name.json']).toMatch(/belongs in `someone-else.json`/);
    expect(quarantined['empty.json']).toMatch(/empty|JSON/);
    expect(result.errors).toEqual([]);

    const left = (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
    expect(left).toEqual(valid.map(fileNameFor).sort());
    const reasons = (await readdir(join(dir, '.quarantine'))).filter((f) => f.endsWith('.reason.json'));
    expect(reasons).toHaveLength(5);
    const note = JSON.parse(await readFile(join(dir, '.quarantine', reasons[0]!), 'utf8'));
    expect(note).toMatchObject({ file: expect.any(String), reason: expect.any(String) });
    // The symlink's target outside the directory is untouched.
    expect(await readFile(join(tmp.path, 'outside.json'), 'utf8')).toContain('"link"');
  });

  it('keeps a file written by a newer raptor instead of quarantining it', async () => {
    const future = { ...JSON.parse(fileFor(newRecord('future', emptyState))), schemaVersion: 2 };
    await writeFile(join(dir, 'future.json'), JSON.stringify(future));
    const manager = await SessionManager.open({ env: env() });
    expect(manager.startupCleanup!.skipped.map((s) => s.key)).toEqual(['future.json']);
    await manager.close();
    expect(await readdir(dir)).toContain('future.json');
  });

  it('quarantines a session file over the 64 MiB limit without reading it', async () => {
    await writeFile(join(dir, 'huge.json'), '');
    await truncate(join(dir, 'huge.json'), 100 * 1024 * 1024);
    const manager = await SessionManager.open({ env: env() });
    expect(manager.startupCleanup!.quarantined).toEqual([{ key: 'huge.json', reason: expect.stringMatching(/over the 64 MiB limit/) }]);
    await manager.close();
  });

  it('sweeps stale temp files left by a crashed writer, but not fresh ones', async () => {
    const stale = join(dir, '.alpha.json.123.abcd.tmp');
    const fresh = join(dir, '.beta.json.456.ef01.tmp');
    await writeFile(stale, '{"half": ');
    await writeFile(fresh, '{"half": ');
    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(stale, old, old);
    const manager = await SessionManager.open({ env: env() });
    expect(manager.startupCleanup!.tempFiles).toBe(1);
    await manager.close();
    const left = await readdir(dir);
    expect(left).not.toContain('.alpha.json.123.abcd.tmp');
    expect(left).toContain('.beta.json.456.ef01.tmp');
  });

  it('does nothing with autoCleanup: false', async () => {
    await writeFile(join(dir, 'empty.json'), '');
    const manager = await SessionManager.open({ env: env(), autoCleanup: false });
    expect(manager.startupCleanup).toBeUndefined();
    await manager.close();
    expect(await readdir(dir)).toContain('empty.json');
  });
});
