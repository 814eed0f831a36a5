/**
 * The `raptor` CLI as a person at a terminal (or a script) uses it: the built binary in a child
 * process, a private RAPTOR_HOME per test, assertions on exit codes, stdout JSON and what a
 * human reads. Browser tests use the Chromium raptor itself would find (`testBrowser()`).
 */
import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stopKeepAlive } from '../src/browser/keep-alive.js';
import { ensureBuilt, runCli, startCli, type CliResult } from './helpers/cli.js';
import { createTempDir } from './helpers/temp-dir.js';
import { testBrowser } from './helpers/env.js';

const SECRET = 'tok-7f3a9c2e41d84b0f9e6a5c3b2d1e0f9a8b7c6d5e';
const LOCAL_SECRET = 'jwt-eyJhbGciOiJIUzI1NiJ9.c2VjcmV0';

/** A storage state as Playwright's `context.storageState()` writes it, with a key raptor does not know. */
const playwrightState = {
  cookies: [
    { name: 'sid', value: SECRET, domain: 'app.acme.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' },
    // Partitioned (CHIPS) cookies must be Secure; Chromium rejects the state otherwise.
    { name: 'pref', value: 'dark', domain: 'app.acme.test', path: '/', expires: 4102444800, httpOnly: false, secure: true, sameSite: 'None', partitionKey: 'https://acme.test' },
  ],
  origins: [{ origin: 'https://app.acme.test', localStorage: [{ name: 'token', value: LOCAL_SECRET }] }],
};

const STACK_LINE = /^\s+at .+/m;

let home: { path: string; remove(): Promise<void> };
let env: NodeJS.ProcessEnv;
const sessionsDir = (): string => join(home.path, 'sessions');
const raptor = (...args: string[]): Promise<CliResult> => runCli(args, { env });

/** Writes the Playwright state file and imports it as session `name`. */
async function importState(name: string, state: unknown = playwrightState): Promise<string> {
  const file = join(home.path, `${name}.state.json`);
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`);
  const result = await raptor('import', file, '--name', name);
  expect(result.code, result.stderr).toBe(0);
  return file;
}

beforeAll(() => ensureBuilt(), 60_000);

beforeEach(async () => {
  home = await createTempDir('raptor-cli-');
  env = { RAPTOR_HOME: home.path, RAPTOR_BROWSER: testBrowser() };
});

afterEach(async () => {
  const profiles = join(home.path, 'profiles');
  for (const profile of await readdir(profiles).catch(() => [] as string[])) await stopKeepAlive(join(profiles, profile));
  await home.remove();
});

describe('help and usage', () => {
  it('shows examples in the main help and in command help', async () => {
    const main = await raptor('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('Examples:');
    expect(main.stdout).toMatch(/\$ raptor list --json/);
    const list = await raptor('list', '--help');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('Examples:');
    expect(list.stdout).toContain('--tag <tag>');
  });

  it('exits 2 for an unknown command, an unknown option and a missing argument', async () => {
    const unknown = await raptor('lsit');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^raptor: unknown command 'lsit'/);
    expect(unknown.stderr).toContain('list'); // the suggestion

    const option = await raptor('list', '--bogus');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--bogus'");

    const missing = await raptor('show');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'name'");
    expect(missing.stderr).toContain('raptor show --help');
  });

  it('prints usage errors as a JSON document with --json', async () => {
    const result = await raptor('--json', 'frobnicate');
    expect(result.code).toBe(2);
    expect(result.json()).toEqual({ error: { code: 'USAGE', message: expect.stringContaining("unknown command 'frobnicate'") } });
  });
});

describe('list', () => {
  it('lists sessions as JSON, with global options before or after the command', async () => {
    expect((await raptor('list', '--json')).json()).toEqual({ sessions: [] });
    await importState('acme-admin');
    for (const args of [['list', '--json'], ['--json', 'list']]) {
      const result = await raptor(...args);
      expect(result.code).toBe(0);
      const { sessions } = result.json<{ sessions: Record<string, unknown>[] }>();
      expect(sessions).toHaveLength(1);
      expect(sessions[0]).toMatchObject({ name: 'acme-admin', browserType: 'chromium', tags: [], expiresAt: null, expired: false, revision: 1 });
      expect(sessions[0]!['bytes']).toBeGreaterThan(0);
      expect(JSON.stringify(sessions)).not.toContain(SECRET);
    }
  });

  it('prints an aligned table for people and filters by tag', async () => {
    await importState('acme-admin');
    const file = join(home.path, 'acme-admin.state.json');
    expect((await raptor('save', 'tagged', '--from', file, '--tag', 'admin', '--tag', 'eu')).code).toBe(0);
    const table = await raptor('list');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+TAGS\s+UPDATED\s+EXPIRES\s+BROWSER\s+SIZE$/);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^tagged\s+admin,eu\s+just now\s+never\s+-\s+\d/);
    expect(header!.indexOf('TAGS')).toBe(rows[1]!.indexOf('admin,eu'));

    const admin = (await raptor('list', '--tag', 'admin', '--json')).json<{ sessions: { name: string }[] }>();
    expect(admin.sessions.map((s) => s.name)).toEqual(['tagged']);
  });

  it('--dir pointing at a regular file fails with a clear message, exit 1, no stack trace', async () => {
    const file = join(home.path, 'not-a-dir');
    await writeFile(file, 'x');
    const result = await raptor('list', '--dir', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`raptor: \`${file}\` is not a directory`);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stdout).toBe('');
  });

  it('does not load playwright-core', async () => {
    const hooks = await createTempDir('raptor-hooks-');
    try {
      const log = join(hooks.path, 'modules.log');
      await writeFile(
        join(hooks.path, 'hooks.mjs'),
        `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}
`,
      );
      // ESM hooks see import(); a CommonJS require() of playwright would bypass them on Node 20, so patch _load too.
      await writeFile(
        join(hooks.path, 'register.mjs'),
        `import Module, { register } from 'node:module';
import { appendFileSync } from 'node:fs';
const log = process.env.MODULE_LOG;
register('./hooks.mjs', import.meta.url, { data: { log } });
const load = Module._load;
Module._load = function (request, ...rest) {
  appendFileSync(log, 'require:' + request + '\\n');
  return load.call(this, request, ...rest);
};
`,
      );
      const nodeArgs = ['--import', join(hooks.path, 'register.mjs')];
      await importState('acme-admin');
      const result = await runCli(['list', '--json'], { env: { ...env, MODULE_LOG: log }, nodeArgs });
      expect(result.code, result.stderr).toBe(0);
      expect(result.json<{ sessions: unknown[] }>().sessions).toHaveLength(1);
      const loaded = await readFile(log, 'utf8');
      expect(loaded).toContain('/node_modules/commander/'); // the hook saw the CLI's own imports
      expect(loaded).toContain('/dist/manager.js');
      expect(loaded).not.toMatch(/playwright/);

      // Control: the same hook does notice playwright-core when something loads it.
      await writeFile(log, '');
      const control = await runCli(['--version'], { env: { ...env, MODULE_LOG: log }, nodeArgs: [...nodeArgs, '--import', 'playwright-core'] });
      expect(control.code).toBe(0);
      expect(await readFile(log, 'utf8')).toMatch(/playwright-core/);
    } finally {
      await hooks.remove();
    }
  });
});

describe('show', () => {
  it('exits 3 for a missing session, with a JSON error under --json', async () => {
    const human = await raptor('show', 'nope');
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/^raptor: No session `nope`/);
    const json = await raptor('show', 'nope', '--json');
    expect(json.code).toBe(3);
    expect(json.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('`nope`') } });
  });

  it('masks cookie and storage values unless --reveal', async () => {
    await importState('acme-admin');
    for (const args of [['show', 'acme-admin'], ['show', 'acme-admin', '--json']]) {
      const result = await raptor(...args);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain(SECRET);
      expect(result.stdout).not.toContain(SECRET.slice(0, 8)); // not even a prefix
      expect(result.stdout).not.toContain(LOCAL_SECRET);
      expect(result.stdout).not.toContain('dark');
      expect(result.stdout).toContain(`(${SECRET.length} chars)`);
    }
    const masked = (await raptor('show', 'acme-admin', '--json')).json<{ session: { storageState: typeof playwrightState } }>();
    expect(masked.session.storageState.cookies[0]).toMatchObject({ name: 'sid', domain: 'app.acme.test', value: `•••••• (${SECRET.length} chars)` });

    const revealed = await raptor('show', 'acme-admin', '--reveal', '--json');
    expect(revealed.code).toBe(0);
    expect(revealed.json<{ session: { storageState: unknown } }>().session.storageState).toEqual(playwrightState);
    expect((await raptor('show', 'acme-admin', '--reveal')).stdout).toContain(SECRET);
  });
  it('masks IndexedDB record values and sessionStorage values too', async () => {
    const IDB_SECRET = 'idb-refresh-9d8c7b6a5f4e';
    const SESSION_SECRET = 'csrf-1a2b3c4d5e6f';
    const storageState = {
      cookies: [],
      origins: [
        {
          origin: 'https://app.acme.test',
          localStorage: [],
          indexedDB: [{ name: 'auth', version: 1, stores: [{ name: 'tokens', keyPath: 'id', autoIncrement: false, records: [{ value: { id: 1, refresh: IDB_SECRET } }], indexes: [] }] }],
        },
      ],
    };
    const record = {
      schemaVersion: 1,
      name: 'idb',
      browserType: 'chromium',
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      lastAccessedAt: new Date().toISOString(),
      expiresAt: null,
      tags: [],
      metadata: {},
      revision: 1,
      storageState,
      sessionStorage: { 'https://app.acme.test': { csrf: SESSION_SECRET } },
    };
    const file = join(home.path, 'idb.raptor.json');
    await writeFile(file, JSON.stringify(record));
    expect((await raptor('import', file)).code).toBe(0);
    for (const args of [['show', 'idb'], ['show', 'idb', '--json']]) {
      const shown = await raptor(...args);
      expect(shown.code).toBe(0);
      expect(shown.stdout).not.toContain(IDB_SECRET);
      expect(shown.stdout).not.toContain(SESSION_SECRET);
    }
    const revealed = (await raptor('show', 'idb', '--reveal', '--json')).json<{ session: typeof record }>().session;
    expect(revealed.storageState).toEqual(storageState);
    expect(revealed.sessionStorage).toEqual(record.sessionStorage);
  });
});

describe('import and export', () => {
  it('round-trips a Playwright storage-state file exactly', async () => {
    await importState('acme-admin');
    const exported = await raptor('export', 'acme-admin', '--format', 'playwright');
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual(playwrightState);
  });

  it('writes --out files 0600 and will not overwrite them without --force', async () => {
    await importState('acme-admin');
    const out = join(home.path, 'exported.json');
    const first = await raptor('export', 'acme-admin', '--out', out, '--json');
    expect(first.code).toBe(0);
    expect(first.json()).toMatchObject({ exported: { name: 'acme-admin', format: 'raptor', file: out } });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const record = JSON.parse(await readFile(out, 'utf8'));
    expect(record).toMatchObject({ schemaVersion: 1, name: 'acme-admin', storageState: playwrightState });

    const again = await raptor('export', 'acme-admin', '--out', out, '--format', 'playwright');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ schemaVersion: 1 });

    await chmod(out, 0o644);
    expect((await raptor('export', 'acme-admin', '--out', out, '--format', 'playwright', '--force')).code).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(playwrightState);
    expect((await stat(out)).mode & 0o777).toBe(0o600);

    // A directory or a missing directory is a usage error that says so, with or without --force; nothing is left behind.
    for (const force of [[], ['--force']]) {
      const intoDir = await raptor('export', 'acme-admin', '--out', home.path, ...force);
      expect(intoDir.code, intoDir.stderr).toBe(2);
      expect(intoDir.stderr).toMatch(/is a directory/);
      const nowhere = await raptor('export', '--all', '--out', join(home.path, 'missing', 'all.ndjson'), ...force);
      expect(nowhere.code, nowhere.stderr).toBe(2);
      expect(nowhere.stderr).toMatch(/does not exist/);
    }
    expect((await readdir(home.path)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to replace an existing session without --force (exit 1)', async () => {
    const file = await importState('acme-admin');
    const again = await raptor('import', file, '--name', 'acme-admin');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(again.stderr).toContain('--force');
    const forced = await raptor('import', file, '--name', 'acme-admin', '--force', '--json');
    expect(forced.code).toBe(0);
    expect(forced.json()).toMatchObject({ session: { name: 'acme-admin', revision: 2, cookies: 2, origins: 1 } });
  });

  it('names a Playwright import after the file and keeps tags and expiry of a raptor record', async () => {
    const file = join(home.path, 'admin.json');
    await writeFile(file, JSON.stringify(playwrightState));
    expect((await raptor('import', file)).code).toBe(0);
    expect((await raptor('show', 'admin', '--json')).json()).toMatchObject({ session: { name: 'admin' } });

    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await raptor('save', 'admin', '--from', file, '--tag', 'qa', '--ttl', '1h');
    const backup = join(home.path, 'backup.json');
    expect((await raptor('export', 'admin', '--out', backup)).code).toBe(0);
    const imported = await raptor('import', backup, '--name', 'copy', '--json');
    expect(imported.code, imported.stderr).toBe(0);
    const session = imported.json<{ session: { tags: string[]; expiresAt: string } }>().session;
    expect(session.tags).toEqual(['qa']);
    expect(Math.abs(Date.parse(session.expiresAt) - Date.parse(expiresAt))).toBeLessThan(60_000);
  });

  it('rejects a file that is not JSON with exit 2 and no stack trace', async () => {
    const bad = join(home.path, 'bad.json');
    await writeFile(bad, '{ "cookies": [');
    for (const args of [['save', 'x', '--from', bad], ['import', bad]]) {
      const result = await raptor(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^raptor: .*is not valid JSON/);
      expect(result.stderr).not.toMatch(STACK_LINE);
    }
    await writeFile(bad, JSON.stringify({ cookies: [{ name: 'a' }], origins: [] }));
    const shape = await raptor('save', 'x', '--from', bad, '--json');
    expect(shape.code).toBe(2);
    expect(shape.json()).toMatchObject({ error: { code: 'INVALID_INPUT', issues: expect.arrayContaining([expect.objectContaining({ path: 'cookies.0.value' })]) } });
  });
});

describe('validate', () => {
  it('exits 4 for an expired session, 3 for a missing one, 0 when all are valid', async () => {
    const record = {
      schemaVersion: 1,
      name: 'old',
      browserType: 'chromium',
      createdAt: '2020-01-01T00:00:00.000Z',
      updatedAt: '2020-01-01T00:00:00.000Z',
      lastAccessedAt: '2020-01-01T00:00:00.000Z',
      expiresAt: '2020-01-02T00:00:00.000Z',
      tags: [],
      metadata: {},
      revision: 1,
      storageState: playwrightState,
    };
    await importState('fresh');
    // Imported last: any later command that runs the startup cleanup would remove it.
    const file = join(home.path, 'old.raptor.json');
    await writeFile(file, JSON.stringify(record));
    expect((await raptor('import', file)).code).toBe(0);

    const expired = await raptor('validate', 'old');
    expect(expired.code).toBe(4);
    expect(expired.stdout).toContain('old: expired');
    expect(expired.stdout).toContain('expiresAt: expired at 2020-01-02T00:00:00.000Z [EXPIRED]');

    const json = await raptor('validate', 'old', 'fresh', '--json');
    expect(json.code).toBe(4);
    expect(json.json()).toEqual({
      results: [
        { name: 'old', valid: false, expired: true, issues: [expect.objectContaining({ code: 'EXPIRED', path: 'expiresAt' })] },
        { name: 'fresh', valid: true, expired: false, issues: [] },
      ],
    });

    expect((await raptor('validate', 'fresh')).code).toBe(0);
    const missing = await raptor('validate', 'fresh', 'nope', '--json');
    expect(missing.code).toBe(3);
    expect(missing.json<{ results: { issues: { code: string }[] }[] }>().results[1]!.issues[0]!.code).toBe('NOT_FOUND');
    expect((await raptor('validate')).code).toBe(2); // neither names nor --all
  });
});

describe('rm', () => {
  it('deletes sessions, exits 3 for a missing one unless --force', async () => {
    await importState('a');
    const missing = await raptor('rm', 'a', 'nope');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('`nope`');
    expect(existsSync(join(sessionsDir(), 'a.json'))).toBe(true); // nothing deleted on a typo

    const forced = await raptor('rm', 'a', 'nope', '--force', '--json');
    expect(forced.code).toBe(0);
    expect(forced.json()).toEqual({ removed: ['a'], missing: ['nope'] });
    expect(existsSync(join(sessionsDir(), 'a.json'))).toBe(false);
    expect((await raptor('rm', 'a')).code).toBe(3);
  });
});

describe('clean', () => {
  it('--dry-run changes nothing; clean quarantines a corrupt file', async () => {
    await importState('good');
    const corrupt = join(sessionsDir(), 'broken.json');
    await writeFile(corrupt, '{ "schemaVersion": 1, "name": ', { mode: 0o600 });

    const dry = await raptor('clean', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({ dryRun: true, removed: [], quarantined: [expect.objectContaining({ key: 'broken.json' })] });
    expect(await readFile(corrupt, 'utf8')).toBe('{ "schemaVersion": 1, "name": ');
    expect(existsSync(join(sessionsDir(), '.quarantine'))).toBe(false);

    const human = await raptor('clean');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Quarantined `broken.json`');
    expect(existsSync(corrupt)).toBe(false);
    const quarantined = await readdir(join(sessionsDir(), '.quarantine'));
    expect(quarantined.some((name) => name.startsWith('broken.json.') && !name.endsWith('.reason.json'))).toBe(true);
    expect(existsSync(join(sessionsDir(), 'good.json'))).toBe(true);
    expect((await raptor('clean')).stdout).toContain('Nothing to clean.');
  });
});

describe('stats, doctor, config', () => {
  it('stats counts sessions, bytes, invalid files', async () => {
    await importState('a');
    await writeFile(join(sessionsDir(), 'junk.json'), 'not json', { mode: 0o600 });
    const result = await raptor('stats', '--json');
    expect(result.code).toBe(0);
    const { stats } = result.json<{ stats: Record<string, number> }>();
    expect(stats).toMatchObject({ count: 1, invalid: 1, expired: 0, live: 0 });
    expect(stats['bytes']).toBeGreaterThan(100);
  });

  it('doctor fails on a session file others can read, and passes once it is 0600', async () => {
    await importState('acme-admin');
    const file = join(sessionsDir(), 'acme-admin.json');
    await chmod(file, 0o644);
    const bad = await raptor('doctor');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL\s+session files readable by others: acme-admin\.json \(0644\)/m);
    const browser = testBrowser().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(bad.stdout).toMatch(new RegExp(`^OK\\s+browser ${browser} \\(from RAPTOR_BROWSER\\)`, 'm'));

    await chmod(file, 0o600);
    const good = await raptor('doctor', '--json');
    const checks = good.json<{ ok: boolean; checks: { id: string; status: string }[] }>().checks;
    expect(checks.find((c) => c.id === 'session-file-modes')?.status).toBe('ok');
    expect(good.code).toBe(checks.some((c) => c.status === 'fail') ? 1 : 0);
  });

  it('config set validates values; unknown keys exit 2', async () => {
    const bad = await raptor('config', 'set', 'probeTimeoutMs', 'abc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('probeTimeoutMs');
    expect(bad.stderr).not.toMatch(STACK_LINE);

    expect((await raptor('config', 'set', 'probeTimeoutMs', '3000')).code).toBe(0);
    expect((await raptor('config', 'get', 'probeTimeoutMs')).stdout.trim()).toBe('3000');
    expect((await raptor('config', 'list', '--json')).json()).toMatchObject({ settings: { probeTimeoutMs: 3000, headless: true }, file: join(home.path, 'config.json') });
    expect((await raptor('config', 'unset', 'probeTimeoutMs')).code).toBe(0);
    expect((await raptor('config', 'get', 'probeTimeoutMs', '--json')).json()).toEqual({ key: 'probeTimeoutMs', value: 1500 });
    expect((await raptor('config', 'get', 'nope')).code).toBe(2);
    expect((await raptor('config', 'path')).stdout.trim()).toBe(join(home.path, 'config.json'));
  });
});

describe('watch', () => {
  it('prints store events as NDJSON and exits 0 on SIGINT', async () => {
    const file = join(home.path, 'w.json');
    await writeFile(file, JSON.stringify(playwrightState));
    const watcher = await startCli(['watch', '--json'], { env });
    try {
      // The watcher reports changes only once it is ready, which it does not announce: write until one shows.
      for (let i = 0; i < 40 && !watcher.out.stdout.includes('\n'); i++) {
        await runCli(['import', file, '--name', 'watched', '--force'], { env });
        await new Promise((r) => setTimeout(r, 150));
      }
      const first = JSON.parse(watcher.out.stdout.split('\n')[0]!);
      expect(first).toMatchObject({ type: 'put', name: 'watched', revision: expect.any(Number), at: expect.any(String) });
    } finally {
      watcher.child.kill('SIGINT');
    }
    expect(await watcher.exited).toEqual({ code: 0, signal: null });
    for (const line of watcher.out.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('restore and stop (real Chromium)', () => {
  it('relaunches an imported session in a kept-alive browser, reattaches, then stops it', async () => {
    await importState('acme-admin');
    const first = await raptor('restore', 'acme-admin', '--json');
    expect(first.code, first.stderr).toBe(0);
    const restored = first.json<{ mode: string; cdpUrl: string; browserId: string; durationMs: number }>();
    expect(restored).toMatchObject({ mode: 'relaunched', cdpUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), browserId: expect.any(String) });
    expect(restored.durationMs).toBeGreaterThan(0);

    const version = await fetch(`${restored.cdpUrl}/json/version`);
    expect(version.ok).toBe(true); // the browser outlived the CLI process

    const again = await raptor('restore', 'acme-admin');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('(reattached)');
    expect(again.stdout).toContain(restored.cdpUrl);

    const live = (await raptor('list', '--live', '--json')).json<{ sessions: { live: boolean }[] }>();
    expect(live.sessions[0]!.live).toBe(true);

    const stopped = await raptor('stop', 'acme-admin', '--json');
    expect(stopped.code).toBe(0);
    expect(stopped.json()).toEqual({ name: 'acme-admin', stopped: true, cleared: true });
    await expect(fetch(`${restored.cdpUrl}/json/version`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    const session = (await raptor('show', 'acme-admin', '--json')).json<{ session: Record<string, unknown> }>().session;
    expect(session['cdpUrl']).toBeUndefined();
    expect(session['browserId']).toBeUndefined();
  });
});

describe('launch (real Chromium)', () => {
  it('starts a kept-alive browser for a new session, returns at once, and rm stops it', async () => {
    const launched = await raptor('launch', 'fresh', '--json');
    expect(launched.code, launched.stderr).toBe(0);
    const { cdpUrl, mode } = launched.json<{ cdpUrl: string; mode: string }>();
    expect(mode).toBe('relaunched');
    expect((await fetch(`${cdpUrl}/json/version`)).ok).toBe(true);
    expect((await raptor('list', '--json')).json()).toMatchObject({ sessions: [{ name: 'fresh', cdpUrl }] });

    expect((await raptor('rm', 'fresh')).code).toBe(0);
    await expect(fetch(`${cdpUrl}/json/version`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
  });
});
