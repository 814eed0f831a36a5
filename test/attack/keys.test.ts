/**
 * Attack, class "keys" (issue 9 §3): a wrong, missing or damaged key never re-seals, clobbers
 * or locks out a session. Only `raptor rekey` changes the key a session is sealed with.
 *
 * The story: a user turns encryption on, saves two logins, and then something is off with the
 * key — it is missing, a different RAPTOR_KEY is exported, the key file was replaced, truncated,
 * emptied, filled with garbage, made 0644 or turned into a symlink, or RAPTOR_KEY and the key file
 * differ. Under each condition every command runs. Afterwards the right key must still open every
 * session byte for byte, sealed with the key id it had, and nothing may have been deleted or
 * quarantined, except by `rm`. Metadata-only commands (list, stats, clean, stop, rm, crawl status)
 * must work without the key. Then: kept-alive browsers stopped and removed under a wrong key,
 * pool leases under a wrong key, an interrupted rekey followed by a wrong key, and a full disk
 * while the key file is written.
 */
import { execFileSync } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as runInProcess } from '../../src/cli/main.js';
import { SessionManager } from '../../src/manager.js';
import { newRecord } from '../../src/core/record.js';
import { createFileStore } from '../../src/store/file.js';
import type { SessionStore } from '../../src/store/types.js';
import { cleanEnv, ensureBuilt, runCli, type CliResult } from '../helpers/cli.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { testSeed } from '../helpers/test-seed.js';

const { seed: SEED, random } = testSeed('RAPTOR_KEYS_SEED');
const token = (prefix: string) => `${prefix}-${Math.floor(random() * 2 ** 48).toString(36)}${Math.floor(random() * 2 ** 48).toString(36)}`;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

const SECRET_A = token('sid-alpha');
const SECRET_B = token('tok-beta');
const stateOf = (secret: string) => ({
  cookies: [{ name: 'sid', value: secret, domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' as const }],
  origins: [{ origin: 'https://app.test', localStorage: [{ name: 'token', value: `ls-${secret}` }] }],
});
const STATES: Record<string, ReturnType<typeof stateOf>> = { alpha: stateOf(SECRET_A), beta: stateOf(SECRET_B) };
// alpha has no sessionStorage, so `save alpha --from <its state>` with the right key rewrites it unchanged.
const SESSION_STORAGE: Record<string, Record<string, Record<string, string>> | undefined> = { alpha: undefined, beta: { 'https://app.test': { tab: `ss-${SECRET_B}` } } };
const sealedAs = (name: string) => ({ storageState: STATES[name], ...(SESSION_STORAGE[name] ? { sessionStorage: SESSION_STORAGE[name] } : {}) });

const keyText = (key: Buffer) => key.toString('base64');
const kidOf = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 16);
const OTHER_KEY = bytes(32); // a valid key that sealed nothing here

interface Run extends CliResult {
  error?: { code: string; message: string };
}

/** The CLI in this process (same code path as bin/raptor, without a process start per command). */
async function raptorIn(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => new Writable({ write: (chunk, _e, done) => (append(String(chunk)), done()) });
  const io = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: cleanEnv(env) };
  const code = await runInProcess(['node', 'raptor', ...args], io);
  return withError({ code, signal: null, stdout, stderr, json: () => JSON.parse(stdout) });
}

/** The built CLI in a child process, as a user runs it. */
async function raptorBin(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  return withError(await runCli(args, { env, timeoutMs: 60_000 }));
}

function withError(run: CliResult): Run {
  try {
    const parsed = JSON.parse(run.stdout) as { error?: Run['error'] };
    return parsed.error ? { ...run, error: parsed.error } : run;
  } catch {
    return run;
  }
}

/** Decrypts an envelope with node's crypto directly, independently of raptor's own code. */
function decrypt(envelope: { kid: string; iv: string; tag: string; data: string }, key: Buffer): unknown {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
  return JSON.parse(Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8'));
}

/** A raptor home with encryption on (key file created by raptor) and two saved logins. */
async function createHome(prefix: string, names = ['alpha', 'beta']) {
  const tmp = await createTempDir(prefix);
  const env: NodeJS.ProcessEnv = { RAPTOR_HOME: tmp.path };
  const on = await raptorIn(env, ['config', 'set', 'encryption', 'on']);
  expect(on.code, on.stderr).toBe(0);
  const key = Buffer.from((await readFile(join(tmp.path, 'key'), 'utf8')).trim(), 'base64');
  const manager = await SessionManager.open({ env: cleanEnv(env), autoCleanup: false });
  for (const name of names) {
    const secret = name in STATES ? name : 'alpha';
    await manager.save(name, { storageState: STATES[secret]!, ...(SESSION_STORAGE[secret] ? { sessionStorage: SESSION_STORAGE[secret] } : {}) }, { tags: ['pool'] });
  }
  await manager.close();
  const file = (name: string) => join(tmp.path, 'sessions', `${name}.json`);
  const raw = async (name: string) => JSON.parse(await readFile(file(name), 'utf8'));
  const kid = kidOf(key);
  /** What a key finds in the file: the key id it is sealed with and the decrypted state. */
  const sealed = async (name: string, withKey: Buffer = key) => {
    const record = await raw(name);
    const envelope = record.storageState.encrypted;
    const kid = envelope?.kid as string | undefined;
    const state = !envelope ? record.storageState : kid === kidOf(withKey) ? decrypt(envelope, withKey) : `(sealed with key ${kid}, not ${kidOf(withKey)})`;
    return { kid, state, raw: record };
  };
  const home = { path: tmp.path, env, key, kid, sessionsDir: join(tmp.path, 'sessions'), file, raw, sealed, remove: () => tmp.remove() };
  return home;
}
type Home = Awaited<ReturnType<typeof createHome>>;

/** What `show --reveal` printed before the attack, per session: the user's own byte-for-byte check. */
async function revealed(home: Home, names: string[], env: NodeJS.ProcessEnv = home.env): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const shown = await raptorIn(env, ['show', name, '--reveal', '--json']);
    expect(shown.code, shown.stdout + shown.stderr).toBe(0);
    const { storageState, sessionStorage } = shown.json().session;
    out[name] = JSON.stringify({ storageState, sessionStorage });
  }
  return out;
}

// The built CLI is what a user runs; on a loaded machine building it can take minutes, which is not what is tested.
beforeAll(() => ensureBuilt(), 600_000);
/** Generous: a spawned CLI on 2 shared cores can take seconds per run; this bounds a hang, not speed. */
const SLOW = 240_000;

/** A key condition: how the key is wrong, and what must follow from it. */
interface Condition {
  name: string;
  /** Changes the home (key file) and returns the env the commands run with. */
  apply(home: Home): Promise<NodeJS.ProcessEnv>;
  /** The key at hand opens the sessions (sealed with the key file's key). */
  opens: boolean;
  /** A brand-new session can be sealed; with which key (`null`: refused, `plain`: stored in the clear, encryption off). */
  newKey: (home: Home) => Buffer | null | 'plain';
  /** The key file must be left exactly as the condition made it (never replaced by raptor). */
  keyFileKept: boolean;
}

const keyPath = (home: Home) => join(home.path, 'key');
const WRONG_ENV = bytes(32);
const CONDITIONS: Condition[] = [
  { name: 'the right key file (control)', apply: async (h) => h.env, opens: true, newKey: (h) => h.key, keyFileKept: true },
  { name: 'no key at all', apply: async (h) => (await rm(keyPath(h)), h.env), opens: false, newKey: () => null, keyFileKept: false },
  {
    name: 'encryption turned off and the key file gone',
    apply: async (h) => {
      expect((await raptorIn(h.env, ['config', 'set', 'encryption', 'off'])).code).toBe(0);
      await rm(keyPath(h));
      return h.env;
    },
    opens: false,
    newKey: () => 'plain',
    keyFileKept: false,
  },
  { name: 'a wrong RAPTOR_KEY next to the key file', apply: async (h) => ({ ...h.env, RAPTOR_KEY: keyText(WRONG_ENV) }), opens: false, newKey: () => null, keyFileKept: true },
  { name: 'a wrong RAPTOR_KEY and no key file', apply: async (h) => (await rm(keyPath(h)), { ...h.env, RAPTOR_KEY: keyText(WRONG_ENV) }), opens: false, newKey: () => WRONG_ENV, keyFileKept: false },
  { name: 'the right RAPTOR_KEY next to a different key file', apply: async (h) => (await writeFile(keyPath(h), `${keyText(OTHER_KEY)}\n`, { mode: 0o600 }), { ...h.env, RAPTOR_KEY: keyText(h.key) }), opens: true, newKey: () => null, keyFileKept: true },
  { name: 'a wrong key file', apply: async (h) => (await writeFile(keyPath(h), `${keyText(OTHER_KEY)}\n`, { mode: 0o600 }), h.env), opens: false, newKey: () => OTHER_KEY, keyFileKept: true },
  { name: 'a truncated key file', apply: async (h) => (await writeFile(keyPath(h), keyText(h.key).slice(0, 20), { mode: 0o600 }), h.env), opens: false, newKey: () => null, keyFileKept: true },
  { name: 'an empty key file', apply: async (h) => (await writeFile(keyPath(h), '', { mode: 0o600 }), h.env), opens: false, newKey: () => null, keyFileKept: true },
  { name: 'a garbage key file', apply: async (h) => (await writeFile(keyPath(h), bytes(57), { mode: 0o600 }), h.env), opens: false, newKey: () => null, keyFileKept: true },
  { name: 'the right key file with mode 0644', apply: async (h) => (await chmod(keyPath(h), 0o644), h.env), opens: false, newKey: () => null, keyFileKept: true },
  {
    name: 'the key file a symlink to the right key',
    apply: async (h) => {
      await mkdir(join(h.path, 'elsewhere'), { mode: 0o700 });
      await rename(keyPath(h), join(h.path, 'elsewhere', 'real-key'));
      await symlink(join(h.path, 'elsewhere', 'real-key'), keyPath(h));
      return h.env;
    },
    opens: false,
    newKey: () => null,
    keyFileKept: true,
  },
];

/** What the key path is, so a check can say raptor left it alone. */
async function keyFileFingerprint(home: Home): Promise<string> {
  const path = keyPath(home);
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 'absent';
  if (info.isSymbolicLink()) return `link:${await readlink(path)}`;
  return `file:${(info.mode & 0o777).toString(8)}:${(await readFile(path)).toString('hex')}`;
}

const NO_KEY_NEEDED: string[][] = [
  ['list', '--json'],
  ['list', '--expired', '--json'],
  ['stats', '--json'],
  ['clean', '--json'],
  ['clean', '--dry-run', '--json'],
  ['stop', 'alpha', '--json'],
  ['crawl', 'status', '--json'],
];
const NEEDS_KEY: string[][] = [
  ['show', 'alpha', '--json'],
  ['show', 'alpha', '--reveal', '--json'],
  ['export', 'alpha', '--json'],
  ['validate', 'alpha', '--json'],
];

describe(`keys: every command under every wrong key (seed ${SEED})`, () => {
  for (const condition of CONDITIONS) {
    it(`${condition.name}: nothing re-sealed, clobbered or lost; metadata commands work`, async () => {
      const home = await createHome('raptor-keys-');
      try {
        const before = await revealed(home, ['alpha', 'beta']);
        const kids = { alpha: (await home.sealed('alpha')).kid, beta: (await home.sealed('beta')).kid };
        expect(kids).toEqual({ alpha: home.kid, beta: home.kid });
        const stateFile = join(home.path, 'alpha-state.json');
        await writeFile(stateFile, JSON.stringify(STATES['alpha']));
        const exported = join(home.path, 'alpha-export.json');
        expect((await raptorIn(home.env, ['export', 'alpha', '--out', exported])).code).toBe(0);

        const env = await condition.apply(home);
        const keyFile = await keyFileFingerprint(home);
        const seen: string[] = [];
        const check = async (args: string[], run: Run) => {
          const what = `\`raptor ${args.join(' ')}\` under ${condition.name} (seed ${SEED}): exit ${run.code}\n${run.stdout}\n${run.stderr}`;
          seen.push(what);
          expect(run.error?.code, what).not.toBe('INTERNAL');
          expect(run.stdout + run.stderr, what).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
          const revealing = condition.opens && (args.includes('--reveal') || args[0] === 'export');
          if (!revealing) expect(run.stdout + run.stderr, what).not.toMatch(new RegExp(`${SECRET_A}|${SECRET_B}`));
          // Both sessions still there, sealed with the key they had, opening to what they held.
          for (const name of ['alpha', 'beta'] as const) {
            const { kid, state } = await home.sealed(name);
            expect(kid, `${what}\n${name} was re-sealed`).toBe(home.kid);
            expect(JSON.stringify(state), `${what}\n${name} changed`).toBe(JSON.stringify(sealedAs(name)));
          }
          if (condition.keyFileKept) expect(await keyFileFingerprint(home), `${what}\nthe key file was touched`).toBe(keyFile);
          const leftovers = (await readdir(home.path)).filter((f) => /^key\..*tmp$/.test(f) || f === 'key.next');
          expect(leftovers, what).toEqual([]);
          expect(await readdir(join(home.sessionsDir, '.quarantine')).catch(() => []), `${what}\nquarantined`).toEqual([]);
        };

        for (const args of NO_KEY_NEEDED) {
          const run = await raptorIn(env, args);
          await check(args, run);
          expect(run.code, seen.at(-1)).toBe(0);
          if (args[0] === 'list') expect(run.json().sessions.map((s: { name: string }) => s.name).sort(), seen.at(-1)).toEqual(args.includes('--expired') ? [] : ['alpha', 'beta']);
          if (args[0] === 'stats') expect(run.json().stats.count, seen.at(-1)).toBe(2);
        }
        for (const args of NEEDS_KEY) {
          const run = await raptorIn(env, args);
          await check(args, run);
          if (condition.opens) expect(run.code, seen.at(-1)).toBe(0);
          else expect(run.error?.code, seen.at(-1)).toBe('ENCRYPTION_KEY');
        }
        // Writes over an existing session: allowed only with the key that sealed it (same state, so the check above holds).
        for (const args of [
          ['save', 'alpha', '--from', stateFile, '--tag', 'pool', '--json'],
          ['import', exported, '--force', '--json'],
        ]) {
          const run = await raptorIn(env, args);
          await check(args, run);
          if (condition.opens) expect(run.code, seen.at(-1)).toBe(0);
          else expect(run.error?.code, seen.at(-1)).toBe('ENCRYPTION_KEY');
        }
        // A new session: sealed with the one unambiguous key, or refused.
        for (const args of [
          ['save', 'fresh', '--from', stateFile, '--json'],
          ['import', exported, '--name', 'fresh', '--json'],
        ]) {
          const run = await raptorIn(env, args);
          await check(args, run);
          const expected = condition.newKey(home);
          if (expected === null) {
            expect(run.error?.code, seen.at(-1)).toBe('ENCRYPTION_KEY');
            await expect(lstat(home.file('fresh')), seen.at(-1)).rejects.toThrow();
          } else if (expected === 'plain') {
            expect(run.code, seen.at(-1)).toBe(0);
            expect((await home.raw('fresh')).storageState, seen.at(-1)).toEqual(STATES['alpha']);
            expect((await raptorIn(env, ['rm', 'fresh'])).code).toBe(0);
          } else {
            expect(run.code, seen.at(-1)).toBe(0);
            expect((await home.sealed('fresh', expected)).kid, seen.at(-1)).toBe(kidOf(expected));
            expect((await raptorIn(env, ['rm', 'fresh'])).code).toBe(0);
          }
        }
        if (!condition.opens) {
          // rekey cannot open the sessions: it refuses before it writes anything (no key.next, key file kept).
          const run = await raptorIn(env, ['rekey', '--json']);
          await check(['rekey'], run);
          expect(run.code, seen.at(-1)).not.toBe(0);
          expect(['ENCRYPTION_KEY', 'USAGE'], seen.at(-1)).toContain(run.error?.code);
          if (condition.keyFileKept) {
            // Encryption is already on; a damaged or foreign key file is never replaced by a new key.
            const set = await raptorIn(env, ['config', 'set', 'encryption', 'on', '--json']);
            await check(['config', 'set', 'encryption', 'on'], set);
          }
        }
        const doctor = await raptorIn(env, ['doctor', '--json']);
        await check(['doctor'], doctor);

        // Deleting needs no key.
        const removed = await raptorIn(env, ['rm', 'alpha', '--json']);
        expect(removed.code, `${condition.name}: ${removed.stdout}${removed.stderr}`).toBe(0);
        await expect(lstat(home.file('alpha'))).rejects.toThrow();

        // The user puts the right key back: beta opens byte for byte as before.
        await rm(keyPath(home), { force: true });
        await writeFile(keyPath(home), `${keyText(home.key)}\n`, { mode: 0o600 });
        expect(await revealed(home, ['beta'])).toEqual({ beta: before['beta'] });
      } finally {
        await home.remove();
      }
    }, SLOW);
  }
});

describe(`keys: the issue's story with the real CLI (seed ${SEED})`, () => {
  let home: Home;
  beforeAll(async () => {
    home = await createHome('raptor-keys-bin-');
  });
  afterAll(async () => home?.remove());

  it('a different RAPTOR_KEY is refused for reads and writes; the key file alone still opens the session', async () => {
    const stateFile = join(home.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(stateOf(token('stranger'))));
    const wrong = { ...home.env, RAPTOR_KEY: keyText(WRONG_ENV) };
    const show = await raptorBin(wrong, ['show', 'alpha', '--reveal', '--json']);
    expect(show.error?.code, show.stdout + show.stderr).toBe('ENCRYPTION_KEY');
    expect(show.stdout + show.stderr).not.toContain(SECRET_A);
    expect(show.error?.message).toContain(kidOf(WRONG_ENV));
    const save = await raptorBin(wrong, ['save', 'alpha', '--from', stateFile, '--json']);
    expect(save.error?.code, save.stdout + save.stderr).toBe('ENCRYPTION_KEY');
    expect(save.error?.message).toMatch(/unset RAPTOR_KEY/);
    // The library refuses the same write when it skips the read: the key cannot open what it would overwrite.
    const manager = await SessionManager.open({ env: cleanEnv(wrong), autoCleanup: false });
    try {
      // `import --force` writes a whole record without reading what it replaces first.
      const refused = await manager.importRecords([newRecord('alpha', stateOf(token('stranger')))], { force: true }).catch((e) => e);
      expect(refused?.code, String(refused)).toBe('ENCRYPTION_KEY');
      expect(refused.message).toMatch(/Nothing was written: only `raptor rekey`/);
    } finally {
      await manager.close();
    }
    const sealed = await home.sealed('alpha');
    expect(sealed.kid).toBe(home.kid);
    expect(sealed.state).toEqual(sealedAs('alpha'));
    const right = await raptorBin(home.env, ['show', 'alpha', '--reveal', '--json']);
    expect(right.code, right.stderr).toBe(0);
    expect(right.json().session.storageState).toEqual(STATES['alpha']);
  }, SLOW);

  it('a truncated key file does not stop `list` (promised to work without the key)', async () => {
    const good = await readFile(keyPath(home));
    try {
      await writeFile(keyPath(home), good.subarray(0, 10));
      const list = await raptorBin(home.env, ['list', '--json']);
      expect(list.code, list.stdout + list.stderr).toBe(0);
      expect(list.json().sessions.map((s: { name: string }) => s.name).sort()).toEqual(['alpha', 'beta']);
      const show = await raptorIn(home.env, ['show', 'alpha', '--json']);
      expect(show.error?.code, show.stdout + show.stderr).toBe('ENCRYPTION_KEY');
      expect(show.error?.message).toContain(keyPath(home));
    } finally {
      await writeFile(keyPath(home), good, { mode: 0o600 });
    }
  }, SLOW);
});

describe(`keys: kept-alive browsers of sessions the key at hand cannot open (seed ${SEED})`, () => {
  let home: Home;
  beforeAll(async () => {
    home = await createHome('raptor-keys-browser-', []);
  });
  afterAll(async () => {
    // Stop whatever browser the test left running (by the pid raptor recorded), then remove the home.
    for (const profile of await readdir(join(home.path, 'profiles')).catch(() => [] as string[])) {
      const info = await readFile(join(home.path, 'profiles', profile, 'raptor-browser.json'), 'utf8').then(JSON.parse, () => undefined);
      if (info?.pid) {
        try {
          process.kill(-info.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await home?.remove();
  });

  const answers = (cdpUrl: string) => fetch(`${cdpUrl}/json/version`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);

  it('`stop` under a wrong RAPTOR_KEY stops the browser and keeps the sealed state as it was', async () => {
    const launched = await raptorIn(home.env, ['launch', 'kept', '--json']);
    expect(launched.code, launched.stderr).toBe(0);
    const { cdpUrl } = launched.json<{ cdpUrl: string }>();
    expect(await answers(cdpUrl)).toBe(true);
    const before = await home.sealed('kept');
    expect(before.kid).toBe(home.kid);

    const stop = await raptorBin({ ...home.env, RAPTOR_KEY: keyText(WRONG_ENV) }, ['stop', 'kept', '--json']);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(stop.json()).toMatchObject({ name: 'kept', stopped: true });
    expect(await answers(cdpUrl)).toBe(false);
    const after = await home.sealed('kept');
    expect(after.kid).toBe(home.kid);
    expect(after.state).toEqual(before.state);
    expect(after.raw.storageState.encrypted).toEqual(before.raw.storageState.encrypted); // byte for byte: not re-sealed
  }, SLOW);

  it('`rm` with a truncated key file stops the browser and deletes the session', async () => {
    const launched = await raptorIn(home.env, ['launch', 'kept', '--json']);
    expect(launched.code, launched.stderr).toBe(0);
    const { cdpUrl } = launched.json<{ cdpUrl: string }>();
    expect(await answers(cdpUrl)).toBe(true);
    const good = await readFile(keyPath(home));
    await writeFile(keyPath(home), good.subarray(0, 12));
    try {
      const removed = await raptorBin(home.env, ['rm', 'kept', '--json']);
      expect(removed.code, removed.stdout + removed.stderr).toBe(0);
      expect(removed.json()).toMatchObject({ removed: ['kept'] });
      expect(await answers(cdpUrl)).toBe(false);
      await expect(lstat(home.file('kept'))).rejects.toThrow();
    } finally {
      await writeFile(keyPath(home), good, { mode: 0o600 });
    }
  }, SLOW);
});

describe(`keys: pool leases (seed ${SEED})`, () => {
  it('a worker with a wrong key gets ENCRYPTION_KEY and holds no lease; a release after a rekey never re-seals with the old key', async () => {
    const home = await createHome('raptor-keys-pool-', ['alpha']);
    const managers: SessionManager[] = [];
    try {
      const open = async (env: NodeJS.ProcessEnv) => {
        const manager = await SessionManager.open({ env: cleanEnv(env), autoCleanup: false });
        managers.push(manager);
        return manager;
      };
      const wrong = await open({ ...home.env, RAPTOR_KEY: keyText(WRONG_ENV) });
      const denied = await wrong.acquire({ tag: 'pool', leaseMs: 60_000, owner: 'wrong-worker' }).catch((e) => e);
      expect(denied?.code, String(denied)).toBe('ENCRYPTION_KEY');
      // The wrong worker must not keep the session from the pool for a minute.
      const right = await open(home.env);
      const lease = await right.acquire({ tag: 'pool', leaseMs: 60_000, owner: 'right-worker' });
      expect(lease?.name).toBe('alpha');
      expect(lease!.session.storageState).toEqual(STATES['alpha']);

      // While the right worker holds it, `raptor rekey` moves every session to a new key.
      const rekey = await raptorIn(home.env, ['rekey', '--json']);
      expect(rekey.code, rekey.stdout + rekey.stderr).toBe(0);
      const newKey = Buffer.from((await readFile(keyPath(home), 'utf8')).trim(), 'base64');
      expect((await home.sealed('alpha', newKey)).kid).toBe(kidOf(newKey));

      // The worker's key can no longer open what its release would overwrite: refused, not re-sealed with the old key.
      const stale = await lease!.release({ outcome: 'success', storageState: stateOf(token('late')) }).catch((e) => e);
      expect(stale?.code, String(stale)).toBe('ENCRYPTION_KEY');
      const sealed = await home.sealed('alpha', newKey);
      expect(sealed.kid).toBe(kidOf(newKey));
      expect((sealed.state as { storageState: unknown }).storageState).toEqual(STATES['alpha']);
      // ... and the lease is not left hanging: a worker with the new key takes the session now.
      const fresh = await open(home.env);
      const next = await fresh.acquire({ tag: 'pool', leaseMs: 60_000, owner: 'next-worker' });
      expect(next?.name).toBe('alpha');
      await next!.release({ outcome: 'success' });
    } finally {
      for (const manager of managers) await manager.close();
      await home.remove();
    }
  }, SLOW);
});

/** A file store whose `put` fails after `allowed` writes: a rekey that dies halfway, deterministically. */
function failingAfter(store: SessionStore, allowed: number): SessionStore {
  let writes = 0;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'put') {
        return async (...args: Parameters<SessionStore['put']>) => {
          if (writes++ >= allowed) throw new Error('simulated crash during rekey');
          return target.put(...args);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe(`keys: an interrupted rekey, then a wrong key (seed ${SEED})`, () => {
  it('half the sessions on key.next: wrong keys change nothing; a second interrupted rekey loses nothing; a third finishes', async () => {
    const names = ['alpha', 'beta', 'gamma'];
    const home = await createHome('raptor-keys-rekey-', names);
    try {
      const before = await revealed(home, names);
      const interrupt = async (allowed: number) => {
        const manager = await SessionManager.open({ env: cleanEnv(home.env), autoCleanup: false, store: failingAfter(createFileStore({ dir: home.sessionsDir }), allowed) });
        try {
          await expect(manager.rekey()).rejects.toThrow(/simulated crash/);
        } finally {
          await manager.close();
        }
      };
      await interrupt(1);
      const next = Buffer.from((await readFile(join(home.path, 'key.next'), 'utf8')).trim(), 'base64');
      const kids = async () => Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await home.raw(n)).storageState.encrypted.kid])));
      const halfway = await kids();
      expect(Object.values(halfway).sort()).toEqual([kidOf(next), home.kid, home.kid].sort());

      // Wrong keys now: metadata commands work, nothing is read, written or re-sealed.
      const wrongEnv = { ...home.env, RAPTOR_KEY: keyText(WRONG_ENV) };
      expect((await raptorIn(wrongEnv, ['list', '--json'])).code).toBe(0);
      for (const name of names) expect((await raptorIn(wrongEnv, ['show', name, '--json'])).error?.code).toBe('ENCRYPTION_KEY');
      const stateFile = join(home.path, 'state.json');
      await writeFile(stateFile, JSON.stringify(STATES['alpha']));
      for (const name of names) expect((await raptorIn(wrongEnv, ['save', name, '--from', stateFile, '--json'])).error?.code).toBe('ENCRYPTION_KEY');
      expect((await raptorIn(wrongEnv, ['rekey', '--json'])).code).not.toBe(0);
      const good = await readFile(keyPath(home));
      await writeFile(keyPath(home), `${keyText(OTHER_KEY)}\n`, { mode: 0o600 });
      const wrongFile = await raptorIn(home.env, ['rekey', '--json']);
      expect(wrongFile.error?.code, wrongFile.stdout + wrongFile.stderr).toBe('ENCRYPTION_KEY');
      expect(Buffer.from((await readFile(join(home.path, 'key.next'), 'utf8')).trim(), 'base64')).toEqual(next);
      await writeFile(keyPath(home), good, { mode: 0o600 });
      expect(await kids()).toEqual(halfway);
      expect(await revealed(home, names)).toEqual(before);

      // A second rekey dies before it re-seals anything: the sessions already on key.next must still open.
      await interrupt(0);
      expect(await revealed(home, names)).toEqual(before);

      const done = await raptorIn(home.env, ['rekey', '--json']);
      expect(done.code, done.stdout + done.stderr).toBe(0);
      const final = Buffer.from((await readFile(keyPath(home), 'utf8')).trim(), 'base64');
      expect(Object.values(await kids())).toEqual(names.map(() => kidOf(final)));
      expect(await readdir(home.path)).not.toContain('key.next');
      expect(await revealed(home, names)).toEqual(before);
    } finally {
      await home.remove();
    }
  }, SLOW);
});

describe(`keys: a full disk while the key file is written (seed ${SEED})`, () => {
  const isRoot = process.getuid?.() === 0;
  it.skipIf(!isRoot)('`config set encryption on` and `rekey` on a full tmpfs: DISK_FULL, no key.*.tmp left, nothing lost', async () => {
    const tmp = await createTempDir('raptor-keys-full-');
    const mount = join(tmp.path, 'mnt');
    await mkdir(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mount]);
    try {
      const env = { RAPTOR_HOME: mount };
      const fill = async () => {
        const filler = join(mount, 'filler');
        const chunk = Buffer.alloc(4096, 1);
        const { open } = await import('node:fs/promises');
        const handle = await open(filler, 'a');
        try {
          for (;;) await handle.write(chunk);
        } catch (error) {
          expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
        } finally {
          await handle.close();
        }
        // Fill the last partial block too.
        try {
          for (;;) await writeFile(filler, Buffer.alloc(1), { flag: 'a' });
        } catch {
          // full
        }
      };
      // The config file exists (encryption off) before the disk fills: only the key is left to write.
      expect((await raptorIn(env, ['config', 'set', 'logLevel', 'warn'])).code).toBe(0);
      await fill();
      const on = await raptorIn(env, ['config', 'set', 'encryption', 'on', '--json']);
      expect(on.error?.code, on.stdout + on.stderr).toBe('DISK_FULL');
      expect((await readdir(mount)).filter((f) => f.startsWith('key'))).toEqual([]);
      await rm(join(mount, 'filler'));
      const retry = await raptorIn(env, ['config', 'set', 'encryption', 'on', '--json']);
      expect(retry.code, retry.stdout + retry.stderr).toBe(0);
      const key = await readFile(join(mount, 'key'));

      // A sealed session, then the disk fills again: rekey's key.next cannot be written.
      const manager = await SessionManager.open({ env: cleanEnv(env), autoCleanup: false });
      await manager.save('alpha', { storageState: STATES['alpha']! });
      await manager.close();
      await fill();
      const rekey = await raptorIn(env, ['rekey', '--json']);
      expect(rekey.error?.code, rekey.stdout + rekey.stderr).toBe('DISK_FULL');
      expect((await readdir(mount)).filter((f) => f.startsWith('key')).sort()).toEqual(['key']);
      expect(await readFile(join(mount, 'key'))).toEqual(key);
      await rm(join(mount, 'filler'));
      const shown = await raptorIn(env, ['show', 'alpha', '--reveal', '--json']);
      expect(shown.json().session.storageState).toEqual(STATES['alpha']);
    } finally {
      execFileSync('umount', [mount]);
      await tmp.remove();
    }
  }, SLOW);
});
