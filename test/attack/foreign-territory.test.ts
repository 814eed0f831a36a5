/**
 * Attack, class 1 (issue 9): foreign territory. A user (or something on their machine) points
 * raptor at directories it does not own, or plants links where raptor's own directories and
 * files should be. raptor must never write, move or delete a byte outside its territory: each
 * test snapshots the foreign files (type, bytes, mode, mtime, link target, without following
 * links) before the attack and asserts they are byte-for-byte unchanged and still where they were.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, link, lutimes, mkdir, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionManager } from '../../src/manager.js';
import { keyId, newKey } from '../../src/crypto/encryption.js';
import { readKeyFile, writeKeyFile } from '../../src/crypto/key-file.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { testBrowser } from '../helpers/env.js';

const DAY = 86_400_000;
const state = { cookies: [{ name: 'sid', value: 'v', domain: 'example.test', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' as const }], origins: [] };

/** Every entry under `root` as the OS has it, links not followed: what a user would diff. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const s = lstatSync(path);
      const key = relative(root, path);
      if (s.isSymbolicLink()) out[key] = `link -> ${readlinkSync(path)}`;
      else if (s.isDirectory()) {
        out[key] = `dir ${(s.mode & 0o777).toString(8)}`;
        walk(path);
      } else out[key] = `file ${(s.mode & 0o777).toString(8)} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(root);
  return out;
}

/** A foreign directory a user cares about: a small project, some files 40 days old. */
async function plantProject(dir: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'package.json'), '{ "name": "my-app", "version": "1.0.0" }\n');
  await writeFile(join(dir, 'README.md'), '# my app\n');
  await writeFile(join(dir, 'src', 'index.ts'), 'export const answer = 42;\n');
  await writeFile(join(dir, 'notes.json'), '{ "todo": ["ship"] }\n');
  const old = new Date(Date.now() - 40 * DAY);
  await writeFile(join(dir, 'old-invoice.pdf'), 'PDF bytes');
  await utimes(join(dir, 'old-invoice.pdf'), old, old);
  await utimes(join(dir, 'package.json'), old, old);
}

function errorCode(result: CliResult): string | undefined {
  try {
    return result.json<{ error?: { code: string } }>().error?.code;
  } catch {
    return undefined;
  }
}

describe('attack: foreign territory', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let home: string;
  let foreignDir: string;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli([...args, '--json'], { env: { RAPTOR_HOME: home, RAPTOR_BROWSER: testBrowser(), ...env } });
  const sessions = () => join(home, 'sessions');

  beforeEach(async () => {
    tmp = await createTempDir('raptor-attack-territory-');
    home = join(tmp.path, 'home');
    foreignDir = join(tmp.path, 'victim');
    await plantProject(foreignDir);
  });
  afterEach(async () => {
    await tmp.remove();
  });

  async function seedSessions(names: string[]): Promise<void> {
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home }, autoCleanup: false });
    try {
      for (const name of names) await manager.save(name, { storageState: state });
    } finally {
      await manager.close();
    }
  }

  it('`--dir` at a project: every command that writes refuses with FOREIGN_DIRECTORY and the project stays byte-for-byte', async () => {
    const stateFile = join(tmp.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(state));
    const before = snapshot(foreignDir);
    const commands = [
      ['list'],
      ['clean'],
      ['save', 'x', '--from', stateFile],
      ['import', stateFile, '--name', 'y'],
      ['rm', 'package'],
      ['stats'],
    ];
    // All at once, as several terminals or CI jobs would: each must refuse on its own (and the run stays short).
    const results = await Promise.all(commands.map((args) => cli([...args, '--dir', foreignDir])));
    for (const [i, result] of results.entries()) {
      const args = commands[i];
      expect({ args, code: errorCode(result) }, result.stdout + result.stderr).toEqual({ args, code: 'FOREIGN_DIRECTORY' });
      expect(result.stdout).toMatch(/README\.md/); // names what is foreign…
      expect(result.stdout).toMatch(/empty or new directory/); // …and the way out
    }
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('a RAPTOR_HOME that is a project: its own sessions/, config.json and profiles file are never touched', async () => {
    await mkdir(join(foreignDir, 'sessions'));
    await writeFile(join(foreignDir, 'sessions', 'talk.json'), '{ "title": "my slides" }\n');
    await writeFile(join(foreignDir, 'config.json'), '{ "eslint": true }\n');
    await writeFile(join(foreignDir, 'profiles'), 'a file named profiles\n');
    const before = snapshot(foreignDir);
    const commands = [['list'], ['clean'], ['config', 'set', 'headless', 'false']];
    const results = await Promise.all(commands.map((args) => runCli([...args, '--json'], { env: { RAPTOR_HOME: foreignDir } })));
    for (const [i, result] of results.entries()) {
      const args = commands[i];
      expect({ args, code: errorCode(result) }, result.stdout + result.stderr).toEqual({ args, code: 'FOREIGN_DIRECTORY' });
    }
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('the sessions dir as a link: to a foreign dir it is refused, to a raptor dir it works', async () => {
    await mkdir(home, { recursive: true });
    await symlink(foreignDir, sessions());
    const before = snapshot(foreignDir);
    const refused = await cli(['clean']);
    expect(errorCode(refused), refused.stdout).toBe('FOREIGN_DIRECTORY');
    expect(snapshot(foreignDir)).toEqual(before);

    const elsewhere = join(tmp.path, 'other-disk', 'sessions');
    await rm(sessions());
    await seedSessions(['a']);
    await mkdir(join(tmp.path, 'other-disk'));
    await import('node:fs/promises').then((fs) => fs.rename(sessions(), elsewhere));
    await symlink(elsewhere, sessions());
    const listed = await cli(['list']);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    expect(listed.json<{ sessions: { name: string }[] }>().sessions.map((s) => s.name)).toEqual(['a']);
  });

  it('a `.quarantine` that is a link: nothing is moved into or purged in its target, and the command does not crash', async () => {
    await seedSessions(['good']);
    await writeFile(join(sessions(), 'broken.json'), '{ not json');
    await symlink(foreignDir, join(sessions(), '.quarantine'));
    const before = snapshot(foreignDir);

    const listed = await cli(['list']);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    expect(listed.json<{ sessions: { name: string }[] }>().sessions.map((s) => s.name)).toEqual(['good']);
    expect(snapshot(foreignDir)).toEqual(before);

    const cleaned = await cli(['clean']);
    expect(cleaned.code).toBe(1); // something could not be cleaned: said, not hidden
    const report = cleaned.json<{ errors: { key: string; message: string }[] }>();
    expect(report.errors.map((e) => e.message).join('\n')).toMatch(/\.quarantine.*symbolic link/);
    expect(snapshot(foreignDir)).toEqual(before);
    expect(existsSync(join(sessions(), 'broken.json'))).toBe(true); // left where it was: nothing lost either
  });

  it('a `.quarantine` that is a file: cleanup reports it and leaves both the file and the invalid session in place', async () => {
    await seedSessions(['good']);
    await writeFile(join(sessions(), 'broken.json'), '{ not json');
    await writeFile(join(sessions(), '.quarantine'), 'mine\n');
    const cleaned = await cli(['clean']);
    expect(cleaned.code, cleaned.stdout).toBe(1);
    expect(cleaned.json<{ errors: unknown[] }>().errors.length).toBeGreaterThan(0);
    expect(await readFile(join(sessions(), '.quarantine'), 'utf8')).toBe('mine\n');
    expect(await readFile(join(sessions(), 'broken.json'), 'utf8')).toBe('{ not json');
  });

  it('purging `.quarantine` deletes only what raptor put there (reason file present), and never follows a link', async () => {
    await seedSessions(['good']);
    const q = join(sessions(), '.quarantine');
    await mkdir(q);
    const old = new Date(Date.now() - 40 * DAY);
    // A file the user dropped in by hand: no reason file, so not raptor's to delete.
    await writeFile(join(q, 'keep-me.txt'), 'mine');
    await utimes(join(q, 'keep-me.txt'), old, old);
    // A link dressed up as a quarantined entry, pointing at a foreign directory and a foreign file.
    await symlink(foreignDir, join(q, 'dir.json.2026-01-01.ab12'));
    await writeFile(join(q, 'dir.json.2026-01-01.ab12.reason.json'), '{}');
    await symlink(join(foreignDir, 'package.json'), join(q, 'pkg.json.2026-01-01.cd34'));
    await writeFile(join(q, 'pkg.json.2026-01-01.cd34.reason.json'), '{}');
    for (const name of ['dir.json.2026-01-01.ab12', 'pkg.json.2026-01-01.cd34']) await lutimes(join(q, name), old, old);
    for (const name of ['dir.json.2026-01-01.ab12.reason.json', 'pkg.json.2026-01-01.cd34.reason.json']) await utimes(join(q, name), old, old);
    const before = snapshot(foreignDir);

    const cleaned = await cli(['clean']);
    expect(cleaned.code, cleaned.stdout).toBe(0);
    expect(snapshot(foreignDir)).toEqual(before);
    expect(await readFile(join(q, 'keep-me.txt'), 'utf8')).toBe('mine');
  });

  it('an invalid file last modified 40 days ago is quarantined, and kept for the retention period from *now*', async () => {
    await seedSessions(['good']);
    await writeFile(join(sessions(), 'old-broken.json'), '{ "half": ');
    const old = new Date(Date.now() - 40 * DAY);
    await utimes(join(sessions(), 'old-broken.json'), old, old);
    const cleaned = await cli(['clean']);
    expect(cleaned.code, cleaned.stdout).toBe(0);
    const kept = (await readdir(join(sessions(), '.quarantine'))).filter((n) => n.startsWith('old-broken.json') && !n.endsWith('.reason.json'));
    expect(kept).toHaveLength(1);
    expect(await readFile(join(sessions(), '.quarantine', kept[0]!), 'utf8')).toBe('{ "half": ');
  });

  it('an unmarked sessions dir from an older raptor is adopted; one with a foreign file in it is refused', async () => {
    await seedSessions(['alpha', 'beta']);
    const marker = readdirSync(sessions()).find((n) => n.startsWith('.raptor'));
    if (marker) await rm(join(sessions(), marker)); // as an older raptor left it
    await mkdir(join(sessions(), '.quarantine'));
    await writeFile(join(sessions(), '.alpha.json.lock.break'), '');
    const adopted = await cli(['list']);
    expect(adopted.code, adopted.stdout + adopted.stderr).toBe(0);
    expect(adopted.json<{ sessions: { name: string }[] }>().sessions.map((s) => s.name).sort()).toEqual(['alpha', 'beta']);

    const legacy = join(tmp.path, 'legacy');
    await mkdir(legacy);
    for (const name of ['alpha.json', 'beta.json']) await writeFile(join(legacy, name), await readFile(join(sessions(), name)));
    await writeFile(join(legacy, 'package.json'), '{ "name": "my-app" }\n');
    const before = snapshot(legacy);
    const refused = await cli(['clean', '--dir', legacy]);
    expect(errorCode(refused), refused.stdout).toBe('FOREIGN_DIRECTORY');
    expect(refused.stdout).toMatch(/package\.json/);
    expect(snapshot(legacy)).toEqual(before);
  });

  it('a session file that is a link to a file outside is never read, and a save replaces the link, not its target', async () => {
    await seedSessions(['real']);
    const outside = join(foreignDir, 'stolen.json');
    await writeFile(outside, await readFile(join(sessions(), 'real.json'))); // a valid record: only the link is wrong
    await symlink(outside, join(sessions(), 'linked.json'));
    const before = snapshot(foreignDir);
    const shown = await cli(['show', 'linked']);
    expect(shown.code).not.toBe(0);
    const stateFile = join(tmp.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(state));
    const saved = await cli(['save', 'linked', '--from', stateFile]);
    expect(saved.code, saved.stdout + saved.stderr).toBe(0);
    expect(lstatSync(join(sessions(), 'linked.json')).isSymbolicLink()).toBe(false);
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('a session file with a second hard link is not read as a session, and a save never writes through it', async () => {
    await seedSessions(['shared']);
    const outside = join(foreignDir, 'hard.json');
    await link(join(sessions(), 'shared.json'), outside);
    const before = snapshot(foreignDir);
    const shown = await cli(['show', 'shared']);
    expect(errorCode(shown), shown.stdout).toBe('INVALID_SESSION');
    expect(shown.stdout).toMatch(/hard link/);
    const stateFile = join(tmp.path, 'state.json');
    await writeFile(stateFile, JSON.stringify({ cookies: [], origins: [] }));
    const saved = await cli(['save', 'shared', '--from', stateFile]);
    expect(saved.code, saved.stdout + saved.stderr).toBe(0);
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('a lock file planted as a link is refused, not broken, and its target is not touched', async () => {
    await seedSessions(['locked']);
    const lockPath = join(sessions(), '.locked.json.lock');
    await symlink(join(foreignDir, 'package.json'), lockPath);
    const old = new Date(Date.now() - DAY);
    await lutimes(lockPath, old, old);
    const before = snapshot(foreignDir);
    const stateFile = join(tmp.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(state));
    const saved = await cli(['save', 'locked', '--from', stateFile]);
    expect(errorCode(saved), saved.stdout + saved.stderr).toBe('FOREIGN_DIRECTORY');
    expect(lstatSync(lockPath).isSymbolicLink()).toBe(true);
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('a stale temp file that is a link is left alone by the sweep; a stale temp file raptor wrote is removed', async () => {
    await seedSessions(['t']);
    const old = new Date(Date.now() - DAY);
    const planted = join(sessions(), '.t.json.123.deadbeef.tmp');
    await symlink(join(foreignDir, 'package.json'), planted);
    await lutimes(planted, old, old);
    const stale = join(sessions(), '.t.json.124.cafebabe.tmp');
    await writeFile(stale, '{');
    await utimes(stale, old, old);
    const before = snapshot(foreignDir);
    const cleaned = await cli(['clean']);
    expect(cleaned.code, cleaned.stdout).toBe(0);
    expect(cleaned.json<{ tempFiles: number }>().tempFiles).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(lstatSync(planted).isSymbolicLink()).toBe(true);
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('`profiles/` as a link or polluted with files: clean does not crash, and the link target stays intact', async () => {
    await seedSessions(['p']);
    const fakeHome = join(tmp.path, 'fake-user-home');
    await mkdir(join(fakeHome, '.config', 'chromium'), { recursive: true });
    await writeFile(join(fakeHome, '.bashrc'), 'export PATH\n');
    await writeFile(join(fakeHome, '.config', 'chromium', 'Cookies'), 'real cookies');
    await symlink(fakeHome, join(home, 'profiles'));
    const beforeHome = snapshot(fakeHome);
    const linked = await cli(['clean']);
    expect(linked.stdout).not.toMatch(/ENOTDIR|INTERNAL/);
    expect(linked.json<{ errors: { message: string }[] }>().errors.map((e) => e.message).join('\n')).toMatch(/profiles.*symbolic link/);
    expect(snapshot(fakeHome)).toEqual(beforeHome);

    await rm(join(home, 'profiles'));
    await mkdir(join(home, 'profiles'));
    await writeFile(join(home, 'profiles', 'notes.txt'), 'not a profile');
    await symlink(fakeHome, join(home, 'profiles', 'gone')); // a profile name of a session that does not exist
    await symlink(fakeHome, join(home, 'profiles', 'p')); // the profile of an existing session
    const polluted = await cli(['clean']);
    expect(polluted.stdout).not.toMatch(/ENOTDIR|INTERNAL/);
    expect(await readFile(join(home, 'profiles', 'notes.txt'), 'utf8')).toBe('not a profile');
    const removed = await cli(['rm', 'p']);
    expect(removed.stdout).not.toMatch(/INTERNAL/);
    expect(snapshot(fakeHome)).toEqual(beforeHome);
    expect(lstatSync(join(home, 'profiles', 'gone')).isSymbolicLink()).toBe(true);
  });

  it('`crawls/` and `crawls/<stem>` as links: cleanup never removes or reads through them', async () => {
    await seedSessions(['c']);
    await mkdir(join(home, 'crawls'), { recursive: true });
    await symlink(foreignDir, join(home, 'crawls', 'c'));
    await symlink(foreignDir, join(home, 'crawls', 'gone'));
    const before = snapshot(foreignDir);
    const cleaned = await cli(['clean']);
    expect(cleaned.stdout).not.toMatch(/INTERNAL/);
    expect(snapshot(foreignDir)).toEqual(before);
    expect(lstatSync(join(home, 'crawls', 'gone')).isSymbolicLink()).toBe(true);

    await rm(join(home, 'crawls'), { recursive: true });
    await symlink(foreignDir, join(home, 'crawls'));
    const again = await cli(['clean']);
    expect(again.stdout).not.toMatch(/INTERNAL/);
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('a key temp file planted as a link is never written through', async () => {
    await mkdir(home, { recursive: true });
    const key = newKey();
    const planted = join(home, `key.${process.pid}.${keyId(key.bytes).slice(0, 6)}.tmp`); // the name raptor's key writer uses
    await symlink(join(foreignDir, 'README.md'), planted);
    const before = snapshot(foreignDir);
    await writeKeyFile(join(home, 'key'), key).catch(() => undefined); // succeeding or refusing are both fine; writing through is not
    expect(snapshot(foreignDir)).toEqual(before);
  });

  it('a `key` file that is a link or a hard link is refused, never used', async () => {
    await mkdir(home, { recursive: true });
    const keyText = `${newKey().bytes.toString('base64')}\n`;
    await writeFile(join(foreignDir, 'secret.key'), keyText);
    await symlink(join(foreignDir, 'secret.key'), join(home, 'key'));
    await chmod(join(foreignDir, 'secret.key'), 0o600); // only the link may be wrong with it
    const viaLink = await readKeyFile(join(home, 'key'));
    expect(viaLink.state, JSON.stringify(viaLink)).toBe('unusable');
    await rm(join(home, 'key'));
    await link(join(foreignDir, 'secret.key'), join(home, 'key'));
    const viaHardLink = await readKeyFile(join(home, 'key'));
    expect(viaHardLink.state, JSON.stringify(viaHardLink)).toBe('unusable');
    expect(viaHardLink.state === 'unusable' && viaHardLink.problem).toMatch(/hard links/);
  });

  it('a kept-alive browser never writes its `raptor-browser.json` through a link planted in its profile', async () => {
    const profile = join(home, 'profiles', 'kept');
    await mkdir(profile, { recursive: true });
    await symlink(join(foreignDir, 'notes.json'), join(profile, 'raptor-browser.json'));
    const before = snapshot(foreignDir);
    try {
      const launched = await cli(['launch', 'kept'], {});
      expect(launched.stdout).not.toMatch(/INTERNAL/);
      expect(snapshot(foreignDir)).toEqual(before);
    } finally {
      await cli(['stop', 'kept']);
    }
    expect(snapshot(foreignDir)).toEqual(before);
  }, 60_000);
});
