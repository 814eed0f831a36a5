/**
 * Attack, class 5 (issue 9): faults of the user's machine are not bugs of raptor.
 *
 * A real 2 MiB tmpfs is raptor's home; it is filled to the last page, remounted read-only, and
 * a child runs under `ulimit -f`. Every writing command must then fail with a stable code
 * (`DISK_FULL`, `READ_ONLY`) and a way out, never `INTERNAL` or a stack trace, and leave behind
 * no temp file, no lock file and no damaged session. `doctor` must say when it cannot write.
 * A 0500 sessions directory is tested as `nobody` (root bypasses mode bits).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrawlJournal, readJournal } from '../../src/crawler/journal.js';
import { isRaptorError } from '../../src/core/errors.js';
import { acquireLock } from '../../src/fs/file-lock.js';
import { BIN, runCli, runCommand, type CliResult } from '../helpers/cli.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { SessionManager } from '../../src/manager.js';

const cookie = (name: string, value: string) => ({ name, value, domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' as const });
const stateWith = (bytes: number) => ({ cookies: [cookie('sid', 'x'.repeat(bytes))], origins: [] });

/** Tests that start processes: each takes 10+ s on a loaded 2-core machine. A bound, not a timing claim. */
const SPAWNING_TIMEOUT_MS = 240_000;

/** A stack frame line, as node prints them: what a user must never see for a fault of their disk. */
const STACK = /\n\s+at .+[:(]/;

function expectFault(result: CliResult, code: 'DISK_FULL' | 'READ_ONLY', wayOut: RegExp): void {
  const context = `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, context).toBe(1);
  const error = result.json<{ error: { code: string; message: string } }>().error;
  expect(error.code, context).toBe(code);
  expect(error.message).toMatch(wayOut);
  expect(error.message).not.toMatch(/bug in raptor/);
  expect(result.stderr, context).not.toMatch(STACK);
}

/** Every file under `dir` whose name says it is a temp or lock file: what a failed write must not leave. */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tmp$|\.lock$|\.break$|\.tmp-/.test(entry.name)) found.push(path);
    }
  };
  if (existsSync(dir)) walk(dir);
  return found;
}

/** Writes a filler file until the file system has no page left. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; ) {
      try {
        if (writeSync(fd, chunk, 0, size) < size) size = Math.floor(size / 2);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

function mountTmpfs(dir: string, size = '2m'): void {
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`mount tmpfs failed (this test needs root): ${mounted.stderr}`);
}

function unmount(dir: string): void {
  // Lazy: a child that still holds a file open must not leave the mount behind.
  spawnSync('umount', ['-l', dir]);
}

describe('a full disk (2 MiB tmpfs as RAPTOR_HOME)', { timeout: SPAWNING_TIMEOUT_MS }, () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let mnt: string;
  let home: string;
  let sealedHome: string;
  let stateFile: string;
  let bigStateFile: string;
  let bundleFile: string;
  let oldExport: string;
  let exportHome: string;
  let filler: string | undefined;
  const before = new Map<string, Buffer>();
  const cli = (args: string[], at = home) => runCliInProcess(['--json', ...args], { RAPTOR_HOME: at });
  /** The built CLI in its own process, as a user runs it: once per fault, so the real stderr is checked too. */
  const realCli = (args: string[], at = home) => runCli(['--json', ...args], { env: { RAPTOR_HOME: at }, timeoutMs: 60_000 });

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-full-');
    mnt = join(tmp.path, 'mnt');
    await mkdir(mnt);
    mountTmpfs(mnt);
    home = join(mnt, 'home');
    sealedHome = join(mnt, 'sealed');
    stateFile = join(tmp.path, 'state.json');
    bigStateFile = join(tmp.path, 'big-state.json');
    bundleFile = join(tmp.path, 'bundle.ndjson');
    await writeFile(stateFile, JSON.stringify(stateWith(200)));
    await writeFile(bigStateFile, JSON.stringify(stateWith(64 * 1024)));
    for (const name of ['alpha', 'beta']) expect((await cli(['save', name, '--from', stateFile, '--tag', 'kept'])).code).toBe(0);
    const exported = await cli(['export', '--all', '--out', join(tmp.path, 'export.ndjson')]);
    expect(exported.code, exported.stderr).toBe(0);
    await writeFile(bundleFile, readFileSync(join(tmp.path, 'export.ndjson'), 'utf8').replaceAll('"alpha"', '"gamma"').replaceAll('"beta"', '"delta"'));
    // A second home with encryption on, for `rekey`.
    expect((await cli(['config', 'set', 'encryption', 'on'], sealedHome)).code).toBe(0);
    expect((await cli(['save', 'sealed', '--from', stateFile], sealedHome)).code).toBe(0);
    // An earlier export on the same disk: a failed export over it (--force) must leave it whole.
    // A home to export from, with a session too big for the page an earlier, small export holds.
    exportHome = join(mnt, 'exporting');
    expect((await cli(['save', 'small', '--from', stateFile], exportHome)).code).toBe(0);
    expect((await cli(['save', 'wide', '--from', bigStateFile], exportHome)).code).toBe(0);
    oldExport = join(mnt, 'exports', 'old.json');
    await mkdir(join(mnt, 'exports'));
    expect((await cli(['export', 'small', '--out', oldExport], exportHome)).code).toBe(0);
    before.set(oldExport, readFileSync(oldExport));
    for (const dir of [join(home, 'sessions'), join(sealedHome, 'sessions')]) {
      for (const name of readdirSync(dir)) before.set(join(dir, name), readFileSync(join(dir, name)));
    }
  }, 120_000);

  afterAll(async () => {
    if (mnt) unmount(mnt);
    await tmp?.remove();
  });

  /** What was saved before the disk filled up is still there, byte for byte, and nothing was left behind. */
  function expectNothingLostOrLeft(): void {
    for (const [path, bytes] of before) expect(readFileSync(path).equals(bytes), `${path} changed`).toBe(true);
    expect(leftovers(mnt)).toEqual([]);
  }

  it('fills the disk: every writing command fails with DISK_FULL and a way out, nothing lost, nothing left', async () => {
    filler = fill(mnt);
    const wayOut = /free (some )?space|RAPTOR_HOME/;
    expectFault(await realCli(['save', 'gamma', '--from', stateFile]), 'DISK_FULL', wayOut);
    expectFault(await cli(['save', 'alpha', '--from', stateFile, '--tag', 'new']), 'DISK_FULL', wayOut);
    expectFault(await cli(['import', bundleFile]), 'DISK_FULL', wayOut);
    expectFault(await cli(['import', stateFile, '--name', 'epsilon']), 'DISK_FULL', wayOut);
    expectFault(await cli(['config', 'set', 'headless', 'false']), 'DISK_FULL', wayOut);
    expectFault(await cli(['config', 'set', 'encryption', 'on']), 'DISK_FULL', wayOut);
    expectFault(await cli(['rekey'], sealedHome), 'DISK_FULL', wayOut);
    // Exports: no truncated file where there was none, and the earlier export untouched.
    expectFault(await cli(['export', '--all', '--out', oldExport, '--force'], exportHome), 'DISK_FULL', wayOut);
    expectFault(await cli(['export', 'wide', '--out', oldExport, '--force'], exportHome), 'DISK_FULL', wayOut);
    expectFault(await cli(['export', '--all', '--out', join(mnt, 'exports', 'new.ndjson')], exportHome), 'DISK_FULL', wayOut);
    expectFault(await cli(['export', 'wide', '--format', 'playwright', '--out', join(mnt, 'exports', 'new.json')], exportHome), 'DISK_FULL', wayOut);
    expect(readdirSync(join(mnt, 'exports'))).toEqual(['old.json']);
    expectNothingLostOrLeft();
    // Reading still works on a full disk.
    const listed = await cli(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json<{ sessions: { name: string }[] }>().sessions.map((s) => s.name).sort()).toEqual(['alpha', 'beta']);
  });

  it('a disk with a little space left: the lock fits, the session does not', async () => {
    unlinkSync(filler!);
    filler = fill(mnt);
    unlinkSync(filler);
    // Leave 16 KiB: enough for a lock file and a small session, not for a 64 KiB one.
    filler = join(mnt, 'filler');
    const room = statfsFree(mnt) - 16 * 1024;
    writeFileSync(filler, Buffer.alloc(Math.max(0, room), 1));
    expectFault(await cli(['save', 'alpha', '--from', bigStateFile]), 'DISK_FULL', /free (some )?space|RAPTOR_HOME/);
    expectFault(await cli(['save', 'zeta', '--from', bigStateFile]), 'DISK_FULL', /free (some )?space|RAPTOR_HOME/);
    expectNothingLostOrLeft();
  });

  it('after space is freed, the next save goes through at once: no empty lock file holds it up', async () => {
    unlinkSync(filler!);
    filler = undefined;
    expect(leftovers(mnt)).toEqual([]);
    const saved = await cli(['save', 'gamma', '--from', stateFile]);
    expect(saved.code, saved.stderr).toBe(0);
    const again = await cli(['save', 'alpha', '--from', stateFile]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ session: { revision: number } }>().session.revision).toBe(2);
    expect(leftovers(mnt)).toEqual([]);
  });

  it('the crawl journal on a full disk: DISK_FULL, and every acknowledged append survives whole', async () => {
    const dir = join(mnt, 'crawl');
    const { journal } = await CrawlJournal.open(dir, { fsyncEvery: 1 });
    const acknowledged: string[] = [];
    const add = (url: string): void => {
      journal.append({ t: 'add', url });
      acknowledged.push(url);
    };
    for (let i = 0; i < 20; i++) add(`https://app.test/before/${i}`);
    filler = fill(mnt);
    let failure: unknown;
    // The journal's last page may still hold a few lines; append until the disk says no.
    for (let i = 0; i < 5_000 && failure === undefined; i++) {
      try {
        add(`https://app.test/full/${i}/${'p'.repeat(100)}`);
      } catch (error) {
        failure = error;
      }
    }
    expect(isRaptorError(failure, 'DISK_FULL'), String(failure)).toBe(true);
    const compacted = await journal.compact().then(() => undefined, (error: unknown) => error);
    expect(isRaptorError(compacted, 'DISK_FULL'), String(compacted)).toBe(true);
    unlinkSync(filler);
    filler = undefined;
    expect(leftovers(dir)).toEqual([]);
    const loaded = readJournal(dir); // throws JOURNAL_CORRUPT if a torn line was left in the middle
    for (const url of acknowledged) expect(loaded.state.toJSON()[url], url).toBeDefined();
    await journal.close().catch(() => undefined);
  });
});

function statfsFree(path: string): number {
  const out = spawnSync('stat', ['-f', '-c', '%a %S', path], { encoding: 'utf8' }).stdout.trim().split(' ').map(Number);
  return out[0]! * out[1]!;
}

describe('a file-size limit (ulimit -f, EFBIG)', { timeout: SPAWNING_TIMEOUT_MS }, () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-efbig-');
  });
  afterAll(async () => tmp?.remove());

  it('a save over the limit is DISK_FULL naming the limit, and the session before it is whole', async () => {
    const home = join(tmp.path, 'home');
    const small = join(tmp.path, 'small.json');
    const big = join(tmp.path, 'big.json');
    await writeFile(small, JSON.stringify(stateWith(10)));
    await writeFile(big, JSON.stringify(stateWith(8 * 1024)));
    expect((await runCliInProcess(['save', 'alpha', '--from', small], { RAPTOR_HOME: home })).code).toBe(0);
    const file = join(home, 'sessions', 'alpha.json');
    const bytes = readFileSync(file);
    // 4 blocks of 1 KiB: the lock and the small session fit, the 8 KiB one does not. node ignores SIGXFSZ and sees EFBIG.
    const result = await runShell(`ulimit -f 4; exec "${process.execPath}" "${BIN}" --json save alpha --from "${big}"`, { RAPTOR_HOME: home });
    expect(result.signal).toBeNull();
    expectFault(result, 'DISK_FULL', /ulimit|file.size limit/i);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(leftovers(home)).toEqual([]);
  });
});

describe('a read-only file system (tmpfs remounted ro)', { timeout: SPAWNING_TIMEOUT_MS }, () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let mnt: string;
  let home: string;
  let stateFile: string;
  const cli = (args: string[]) => runCliInProcess(['--json', ...args], { RAPTOR_HOME: home });

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-ro-');
    mnt = join(tmp.path, 'mnt');
    await mkdir(mnt);
    mountTmpfs(mnt);
    home = join(mnt, 'home');
    stateFile = join(tmp.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(stateWith(100)));
    expect((await cli(['save', 'alpha', '--from', stateFile])).code).toBe(0);
    // An invalid file the startup cleanup would like to quarantine, and cannot.
    writeFileSync(join(home, 'sessions', 'broken.json'), '{"schemaVersion": 1, "name": "broken"', { mode: 0o600 });
    const remounted = spawnSync('mount', ['-o', 'remount,ro', mnt], { encoding: 'utf8' });
    expect(remounted.status, remounted.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    if (mnt) unmount(mnt);
    await tmp?.remove();
  });

  it('every writing command fails with READ_ONLY and a way out; reading still works', async () => {
    const wayOut = /read-only|RAPTOR_HOME|--dir/;
    expectFault(await runCli(['--json', 'save', 'alpha', '--from', stateFile], { env: { RAPTOR_HOME: home } }), 'READ_ONLY', wayOut);
    expectFault(await cli(['save', 'beta', '--from', stateFile]), 'READ_ONLY', wayOut);
    expectFault(await cli(['import', stateFile, '--name', 'gamma']), 'READ_ONLY', wayOut);
    expectFault(await cli(['config', 'set', 'headless', 'false']), 'READ_ONLY', wayOut);
    expectFault(await cli(['rm', 'alpha']), 'READ_ONLY', wayOut);
    const listed = await cli(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).not.toMatch(STACK);
    expect(listed.json<{ sessions: { name: string }[] }>().sessions.map((s) => s.name)).toEqual(['alpha']);
    const shown = await cli(['show', 'alpha']);
    expect(shown.code, shown.stderr).toBe(0);
  });

  it('the library opens a read-only home (its startup cleanup cannot write, and says so in the log) and reads from it', async () => {
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home } });
    try {
      const names: string[] = [];
      for await (const summary of manager.list()) names.push(summary.name);
      expect(names).toEqual(['alpha']);
      expect((await manager.get('alpha')).storageState.cookies).toHaveLength(1);
    } finally {
      await manager.close();
    }
  });

  it('doctor says it cannot write to the sessions directory, and exits non-zero', async () => {
    const result = await runCliInProcess(['doctor', '--json'], { RAPTOR_HOME: home });
    expect(result.code).toBe(1);
    const checks = result.json<{ checks: { id: string; status: string; message: string }[] }>().checks;
    const failed = checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.message).join('\n')).toMatch(/cannot write|read-only/i);
  });
});

describe('a 0500 sessions directory, as a user who is not root', { timeout: SPAWNING_TIMEOUT_MS }, () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let home: string;
  let stateFile: string;
  const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0 && spawnSync('id', ['nobody']).status === 0;

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-0500-');
    chmodSync(tmp.path, 0o755); // nobody must reach the home inside it
    home = join(tmp.path, 'home');
    stateFile = join(tmp.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(stateWith(100)), { mode: 0o644 });
    expect((await runCliInProcess(['save', 'alpha', '--from', stateFile], { RAPTOR_HOME: home })).code).toBe(0);
    const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout);
    const nogroup = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout);
    // Everything raptor made there (the session, the directory's marker) is the user's, as a home of their own would be.
    spawnSync('chown', ['-R', `${nobody}:${nogroup}`, home]);
    chmodSync(join(home, 'sessions'), 0o500);
  });
  afterAll(async () => tmp?.remove());

  const asNobody = (args: string[]) =>
    runCommand('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, BIN, ...args], { env: { RAPTOR_HOME: home, HOME: home }, timeoutMs: 60_000 });

  it.runIf(hasSetpriv)('save is READ_ONLY (not writable by this user) with a way out; list works', async () => {
    const bytes = readFileSync(join(home, 'sessions', 'alpha.json'));
    expectFault(await asNobody(['--json', 'save', 'beta', '--from', stateFile]), 'READ_ONLY', /permission|chmod|RAPTOR_HOME|--dir/i);
    expectFault(await asNobody(['--json', 'save', 'alpha', '--from', stateFile]), 'READ_ONLY', /permission|chmod|RAPTOR_HOME|--dir/i);
    expect(readFileSync(join(home, 'sessions', 'alpha.json')).equals(bytes)).toBe(true);
    const listed = await asNobody(['--json', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(leftovers(home)).toEqual([]);
  });

  it.runIf(hasSetpriv)('doctor fails the sessions directory check: it cannot write there', async () => {
    const result = await asNobody(['doctor', '--json']);
    expect(result.code, result.stderr).toBe(1);
    const failed = result.json<{ checks: { status: string; message: string }[] }>().checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.message).join('\n')).toMatch(/cannot write/i);
  });
});

describe('lock files that are empty or unreadable (a crash or ENOSPC between create and write)', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-lock-');
  });
  afterAll(async () => tmp?.remove());

  const aged = (path: string, text: string, ageMs: number): void => {
    writeFileSync(path, text);
    const at = new Date(Date.now() - ageMs);
    utimesSync(path, at, at);
  };

  it.each([
    ['empty', ''],
    ['torn', '{"pid": 12'],
    ['not JSON at all', '\u0000\u0000\u0000'],
  ])('a %s lock file a few seconds old is broken at once, not after the 10 s stale period', async (_, text) => {
    const path = join(tmp.path, `${Math.random().toString(16).slice(2)}.lock`);
    aged(path, text, 5_000);
    // 3 s is far more than breaking needs, and far less than the 10 s staleness raptor used to wait for.
    const release = await acquireLock(path, { timeoutMs: 3_000 });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await release();
    expect(existsSync(path)).toBe(false);
  });

  it('an empty lock file created just now is respected: it may be a writer between create and write', async () => {
    const path = join(tmp.path, 'fresh.lock');
    aged(path, '', 0);
    const error = await acquireLock(path, { timeoutMs: 300 }).then(() => undefined, (e: unknown) => e);
    expect(isRaptorError(error, 'LOCKED')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});

describe('the errno mapping itself (faults a test cannot cause here)', () => {
  it('maps EDQUOT, ENOSPC and EFBIG to DISK_FULL, EROFS/EACCES/EPERM to READ_ONLY, EIO to STORE_UNAVAILABLE', async () => {
    const { fsError } = await import('../../src/fs/fs-errors.js');
    const errno = (code: string) => Object.assign(new Error(`${code}: fake, write`), { code });
    expect(fsError(errno('EDQUOT'), '/x/y').code).toBe('DISK_FULL');
    expect(fsError(errno('EDQUOT'), '/x/y').message).toMatch(/quota/);
    expect(fsError(errno('ENOSPC'), '/x/y').code).toBe('DISK_FULL');
    expect(fsError(errno('EFBIG'), '/x/y').code).toBe('DISK_FULL');
    expect(fsError(errno('EROFS'), '/x/y').code).toBe('READ_ONLY');
    expect(fsError(errno('EACCES'), '/x/y').code).toBe('READ_ONLY');
    expect(fsError(errno('EPERM'), '/x/y').code).toBe('READ_ONLY');
    expect(fsError(errno('EIO'), '/x/y').code).toBe('STORE_UNAVAILABLE');
  });
});

function runShell(script: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runCommand('bash', ['-c', script], { env, timeoutMs: 60_000 });
}

