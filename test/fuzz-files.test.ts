/**
 * Corrupted session files: over a thousand mutations of a real session file (truncations, bit
 * flips, wrong types, huge strings, deep nesting, `__proto__` keys, duplicated keys). `open()`,
 * `list()`, `validate()` and the CLI never crash or hang, each bad file is quarantined with a
 * reason or reported, every file that survives is a valid session, and no prototype is polluted.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionManager } from '../src/manager.js';
import { newRecord, serializeRecord } from '../src/core/record.js';
import { runCli } from './helpers/cli.js';
import { createTempDir } from './helpers/temp-dir.js';
import { claimSessionsDir } from '../src/fs/territory.js';

const MUTANTS = Number(process.env['RAPTOR_FUZZ_FILES'] ?? 1200);

function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

function validText(name: string): string {
  return serializeRecord({
    ...newRecord(name, {
      cookies: [{ name: 'sid', value: 'secret-sid', domain: 'app.test', path: '/', expires: 1900000000, httpOnly: true, secure: true, sameSite: 'Lax' }],
      origins: [{ origin: 'https://app.test', localStorage: [{ name: 'token', value: 'tok' }] }],
    }, { tags: ['a', 'b'], metadata: { plan: 'pro', nested: { list: [1, 2, 3] } }, sessionStorage: { 'https://app.test': { tab: '1' } } }),
    revision: 3,
  });
}

/** Returns the mutated text and the kind of mutation, for messages. */
function mutate(text: string, random: () => number): [string, string] {
  const at = (max: number) => Math.floor(random() * max);
  switch (at(8)) {
    case 0:
      return [text.slice(0, at(text.length)), 'truncated'];
    case 1: {
      const bytes = Buffer.from(text);
      for (let i = 0, n = 1 + at(3); i < n; i++) bytes[at(bytes.length)]! ^= 1 << at(8);
      return [bytes.toString('latin1'), 'bit flips'];
    }
    case 2: {
      const value = JSON.parse(text);
      const paths: [Record<string, unknown>, string][] = [[value, 'revision'], [value, 'tags'], [value, 'expiresAt'], [value, 'storageState'], [value.storageState, 'cookies'], [value.storageState.cookies[0], 'expires'], [value, 'metadata'], [value, 'createdAt'], [value, 'browserType'], [value, 'sessionStorage']];
      const [holder, key] = paths[at(paths.length)]!;
      holder[key] = [42, 'x', null, [], {}, true, -1][at(7)];
      return [JSON.stringify(value, null, 2), `wrong type at ${key}`];
    }
    case 3:
      // Over the 1 MiB metadata limit now and then; a merely long string (still valid) otherwise.
      return [text.replace('"plan": "pro"', `"plan": "${'p'.repeat(random() < 0.1 ? 1_100_000 : 20_000 + at(50_000))}"`), 'huge string'];
    case 4: {
      const depth = 50 + at(20_000);
      return [text.replace('"plan": "pro"', `"plan": ${'['.repeat(depth)}${']'.repeat(depth)}`), `nesting ${depth} deep`];
    }
    case 5: {
      const where = ['{\n  "__proto__": {"polluted": true},', '"metadata": {"__proto__": {"polluted": true}, ', '"metadata": {"constructor": {"prototype": {"polluted": true}}, '][at(3)]!;
      return [where.startsWith('{') ? text.replace('{', where) : text.replace('"metadata": {', where), 'prototype keys'];
    }
    case 6:
      return [text.replace('"revision": 3', '"revision": 3,\n  "revision": "three"').replace('"tags": [', '"tags": "x",\n  "tags": ['), 'duplicated keys'];
    default:
      return [text.replace(/"[a-zA-Z]+":/, '"\\u005f_proto__":'), 'escaped key'];
  }
}

describe('corrupted session files', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let dir: string;
  const kinds = new Map<string, string>();

  beforeAll(async () => {
    tmp = await createTempDir('raptor-fuzz-files-');
    dir = join(tmp.path, 'sessions');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    claimSessionsDir(dir); // a directory raptor made (marked): only then may it quarantine what is in it
    const random = prng(7);
    for (let i = 0; i < MUTANTS; i++) {
      const name = `s-${i}`;
      const [text, kind] = mutate(validText(name), random);
      kinds.set(name, kind);
      await writeFile(join(dir, `${name}.json`), text, { mode: 0o600 });
    }
    for (let i = 0; i < 20; i++) await writeFile(join(dir, `ok-${i}.json`), validText(`ok-${i}`), { mode: 0o600 });
  }, 120_000);
  afterAll(async () => tmp?.remove());

  it('validate (CLI and library) and list report on every file without crashing or cleaning anything', async () => {
    const validate = await runCli(['validate', '--all', '--json', '--dir', dir], { timeoutMs: 60_000 });
    expect(validate.code, validate.stderr).toBe(4);
    expect(validate.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const results = validate.json().results as { name: string; valid: boolean }[];
    expect(results.length).toBe(MUTANTS + 20);
    const manager = await SessionManager.open({ dir, autoCleanup: false, env: { ...process.env, RAPTOR_HOME: tmp.path } });
    let listed = 0;
    for await (const _ of manager.list()) listed++;
    expect(listed).toBeGreaterThanOrEqual(20);
    for (const name of [...kinds.keys()].slice(0, 300)) {
      const verdict = await manager.validate(name); // never throws for a bad file: it reports it
      expect(typeof verdict.valid).toBe('boolean');
    }
    await manager.close();
    expect((await readdir(dir)).filter((f) => f.endsWith('.json'))).toHaveLength(MUTANTS + 20);
  }, 120_000);

  it('open() quarantines every bad file with a reason and keeps every good one, without polluting prototypes', async () => {
    const started = Date.now();
    const manager = await SessionManager.open({ dir, env: { ...process.env, RAPTOR_HOME: tmp.path } });
    expect(Date.now() - started).toBeLessThan(120_000); // "never hangs": generous, the machine may be shared
    const cleanup = manager.startupCleanup!;
    expect(cleanup.errors).toEqual([]);
    expect(cleanup.quarantined.length).toBeGreaterThan(MUTANTS / 2);
    for (const q of cleanup.quarantined) expect(q.reason.length).toBeGreaterThan(0);

    // Whatever is left is a valid session, readable in full, and each mutant is accounted for.
    const left = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    for (const file of left) {
      const name = file.slice(0, -'.json'.length);
      const record = await manager.get(name);
      expect(record.name).toBe(name);
      expect(record.metadata).not.toHaveProperty('__proto__.polluted');
      const verdict = await manager.validate(name);
      expect(verdict.issues.every((i) => i.code !== 'SCHEMA')).toBe(true);
    }
    expect(left.length + cleanup.quarantined.length).toBe(MUTANTS + 20);
    for (let i = 0; i < 20; i++) expect(left).toContain(`ok-${i}.json`);
    const reasons = (await readdir(join(dir, '.quarantine'))).filter((f) => f.endsWith('.reason.json'));
    expect(reasons).toHaveLength(cleanup.quarantined.length);
    let listed = 0;
    for await (const _ of manager.list()) listed++;
    expect(listed).toBe(left.length);
    await manager.close();
    const list = await runCli(['list', '--json', '--dir', dir], { timeoutMs: 60_000 });
    expect(list.code, list.stderr).toBe(0);
    expect(list.json().sessions).toHaveLength(left.length);

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    const kindsSeen = new Set(cleanup.quarantined.map((q) => kinds.get(q.key.slice(0, -'.json'.length))!.replace(/ at .*| \d+ deep/, '')));
    expect(kindsSeen.size).toBeGreaterThanOrEqual(6);
  }, 120_000);
});
