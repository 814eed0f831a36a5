/**
 * The CLI on a PostgreSQL store works as it does on files, and `export --all` / `import` move
 * every session from files to PostgreSQL and back without losing anything.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRecord, type SessionRecord } from '../src/core/record.js';
import { createFileStore } from '../src/store/file.js';
import { openStore } from '../src/store/open-store.js';
import { ensureBuilt, runCli, type CliResult } from './helpers/cli.js';
import { randomTable, sql, storeUrl } from './helpers/postgres.js';
import { createTempDir } from './helpers/temp-dir.js';
import { testBrowser } from './helpers/env.js';

let home: Awaited<ReturnType<typeof createTempDir>>;
const tables: string[] = [];
const newPgStore = (): string => {
  const table = randomTable('cli');
  tables.push(table);
  return storeUrl(table);
};
const raptor = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> =>
  runCli(args, { env: { RAPTOR_HOME: home.path, RAPTOR_BROWSER: testBrowser(), ...env } });

beforeAll(async () => {
  await ensureBuilt();
  home = await createTempDir('raptor-pg-cli-');
}, 60_000);
afterAll(async () => {
  for (const t of tables) await sql(`DROP TABLE IF EXISTS "${t}", "${t}_quarantine", "${t}_schema"`);
  await home.remove();
});

const playwrightState = {
  cookies: [{ name: 'sid', value: 'tok-cli-secret', domain: 'app.acme.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' }],
  origins: [{ origin: 'https://app.acme.test', localStorage: [{ name: 'token', value: 'jwt-cli-secret' }] }],
};

describe('the CLI on a PostgreSQL store', () => {
  it('imports, lists, shows, checks and removes sessions, selected by RAPTOR_STORE or --store', async () => {
    const url = newPgStore();
    const env = { RAPTOR_STORE: url };
    const file = join(home.path, 'admin.json');
    await writeFile(file, JSON.stringify(playwrightState));
    const imported = await raptor(env, 'import', file, '--name', 'acme-admin', '--json');
    expect(imported.code, imported.stderr).toBe(0);

    const listed = await raptor({}, '--store', url, 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json()).toMatchObject({ sessions: [{ name: 'acme-admin' }] });
    const shown = await raptor(env, 'show', 'acme-admin');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('acme-admin');
    expect(shown.stdout).not.toContain('tok-cli-secret'); // masked, as on files

    const doctor = await raptor(env, 'doctor', '--json');
    expect(doctor.json()).toMatchObject({ checks: expect.arrayContaining([{ id: 'store', status: 'ok', message: expect.stringContaining('(table cli_') }]) });
    expect((await raptor(env, 'stats', '--json')).json()).toMatchObject({ stats: { count: 1 } });

    expect((await raptor(env, 'rm', 'acme-admin')).code).toBe(0);
    const gone = await raptor(env, 'show', 'acme-admin');
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain('table cli_');
  });

  it('fails with STORE_UNAVAILABLE and a hint when the server is down, never printing the password', async () => {
    const result = await raptor({}, '--store', 'postgres://fleet:pw-s3cret@127.0.0.1:1/test', 'list', '--json');
    expect(result.code).toBe(1);
    const { error } = result.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toContain('127.0.0.1:1');
    expect(result.stdout + result.stderr).not.toContain('pw-s3cret');
  });
});

describe('moving every session between a file store and a PostgreSQL store', () => {
  const state = (token: string) => ({
    cookies: [{ name: 'sid', value: token, domain: 'a.test', path: '/', expires: 4102444800, httpOnly: true, secure: true, sameSite: 'Strict' as const }],
    origins: [{ origin: 'https://a.test', localStorage: [{ name: 'k', value: `${token}-local` }] }],
  });
  const sessions: SessionRecord[] = [
    newRecord('acme-admin', state('a'), { tags: ['admin', 'pool:acme'], metadata: { owner: 'qa', pool: { usageCount: 7, errorScore: 0.5, maxUsageCount: 50, maxErrorScore: 3 } } }),
    newRecord('Café Crawler ✓', state('b'), { expiresAt: new Date(Date.now() + 86_400_000).toISOString(), sessionStorage: { 'https://a.test': { csrf: 'c' } } }),
    newRecord('retired-one', state('c'), { tags: ['pool:acme'], metadata: { pool: { usageCount: 50, errorScore: 0, maxUsageCount: 50, maxErrorScore: 3, retired: true, retiredReason: 'usage' } } }),
    newRecord('attached', state('d'), { cdpUrl: 'http://127.0.0.1:9333', browserId: 'b1c2d3', browserType: 'chromium' }),
    { ...newRecord('from-the-future', state('e')), futureField: { kept: true } } as SessionRecord,
  ];
  const comparable = (r: SessionRecord) => {
    const { revision: _revision, updatedAt: _updatedAt, ...rest } = r;
    return rest;
  };

  it('exports a file store, imports it into PostgreSQL, exports that and imports it into files: identical records', async () => {
    const source = join(home.path, 'source');
    const target = join(home.path, 'target');
    const files = createFileStore({ dir: source });
    for (const s of sessions) await files.put(s);
    const originals = new Map<string, SessionRecord>();
    for (const s of sessions) originals.set(s.name, (await files.get(s.name))!);

    const bundle1 = join(home.path, 'from-files.ndjson');
    const exported = await raptor({}, '--dir', source, 'export', '--all', '--out', bundle1, '--json');
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.json()).toMatchObject({ exported: { count: sessions.length } });
    expect((await readFile(bundle1, 'utf8')).trim().split('\n')).toHaveLength(sessions.length);

    const url = newPgStore();
    const intoPg = await raptor({}, '--store', url, 'import', bundle1, '--json');
    expect(intoPg.code, intoPg.stderr).toBe(0);
    expect(intoPg.json<{ imported: string[] }>().imported.sort()).toEqual(sessions.map((s) => s.name).sort());

    const pg = await openStore(url);
    for (const [name, original] of originals) expect(comparable((await pg.get(name))!)).toEqual(comparable(original));
    await pg.close();

    const bundle2 = join(home.path, 'from-pg.ndjson');
    expect((await raptor({ RAPTOR_STORE: url }, 'export', '--all', '--out', bundle2)).code).toBe(0);
    const back = await raptor({}, '--dir', target, 'import', bundle2, '--json');
    expect(back.code, back.stderr).toBe(0);
    const roundTripped = createFileStore({ dir: target });
    for (const [name, original] of originals) {
      const copy = (await roundTripped.get(name))!;
      expect(comparable(copy)).toEqual(comparable(original));
      expect(copy.revision).toBe(1); // the target store stamps its own revision
    }
  });

  it('leaves existing sessions alone on a second import (exit 1, listed) and replaces them with --force', async () => {
    const url = newPgStore();
    const bundle = join(home.path, 'array.json');
    await writeFile(bundle, JSON.stringify(sessions.slice(0, 2)));
    expect((await raptor({ RAPTOR_STORE: url }, 'import', bundle)).code).toBe(0);
    const again = await raptor({ RAPTOR_STORE: url }, 'import', bundle, '--json');
    expect(again.code).toBe(1);
    expect(again.json()).toMatchObject({ imported: [], skipped: ['acme-admin', 'Café Crawler ✓'] });
    const forced = await raptor({ RAPTOR_STORE: url }, 'import', bundle, '--force', '--json');
    expect(forced.code).toBe(0);
    expect(forced.json()).toMatchObject({ imported: ['acme-admin', 'Café Crawler ✓'], skipped: [] });
  });
});
