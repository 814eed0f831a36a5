/**
 * Secrets never leak: the whole story (launch, log in, save, restore, validate, list, show, stats,
 * clean, crawl status) with logs at `trace`, and every byte raptor writes to stdout, stderr and
 * its logger is searched for the fixture site's cookie, localStorage, sessionStorage and IndexedDB
 * values. Only `show --reveal` and `export` may print them (and must, or the scan proves nothing).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn } from '../fixtures/site/drive.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { createLogger } from '../src/env/log.js';
import { SessionManager } from '../src/manager.js';
import { runCli } from './helpers/cli.js';
import { createRaptorEnv, testBrowser } from './helpers/env.js';

describe('no secret in any output', () => {
  let site: FixtureSite;
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  let logs = '';
  const outputs: { what: string; text: string }[] = [];
  let secrets: string[] = [];

  beforeAll(async () => {
    site = await startFixtureSite();
    env = await createRaptorEnv();
    const logger = createLogger({
      level: 'trace',
      destination: new Writable({
        write(chunk, _e, done) {
          logs += chunk;
          done();
        },
      }),
    });
    const manager = await SessionManager.open({ env: env.env, logger });
    const launched = await manager.launch('leaky', { url: `${site.url}/login` });
    await logIn(launched.page!, site.url);
    const saved = await manager.save('leaky', { context: launched.context });
    await launched.close();
    await (await manager.restore('leaky')).close();
    await manager.validate('leaky', { live: true });
    for await (const _ of manager.list()) void _;
    await manager.close();

    const idb = JSON.stringify(saved.storageState.origins.flatMap((o) => (o as { indexedDB?: unknown }).indexedDB ?? []));
    secrets = [
      saved.storageState.cookies.find((c) => c.name === 'sid')!.value,
      saved.storageState.origins.flatMap((o) => o.localStorage).find((i) => i.name === 'token')!.value,
      saved.sessionStorage![site.url]!['tab']!,
      /idb-[0-9a-f]+/.exec(idb)![0],
    ];
    const cli = async (args: string[]) => {
      const result = await runCli([...args, '--log-level', 'trace'], { env: { RAPTOR_HOME: env.home, RAPTOR_BROWSER: testBrowser() } });
      outputs.push({ what: args.join(' '), text: result.stdout + result.stderr });
      return result;
    };
    for (const args of [['list'], ['list', '--json'], ['show', 'leaky'], ['show', 'leaky', '--json'], ['validate', 'leaky', '--live'], ['stats'], ['restore', 'leaky', '--json'], ['clean', '--dry-run'], ['crawl', 'status'], ['doctor'], ['save', 'leaky', '--json']]) {
      await cli(args);
    }
  }, 120_000);

  afterAll(async () => {
    await env?.dispose();
    await site?.close();
  });

  it('knows the four secrets it is looking for', () => {
    expect(secrets).toHaveLength(4);
    for (const secret of secrets) expect(secret.length).toBeGreaterThan(8);
  });

  it('finds none of them in logs or in the output of any command', () => {
    const leaks: string[] = [];
    for (const secret of secrets) {
      if (logs.includes(secret)) leaks.push(`library log: ${secret.slice(0, 6)}…`);
      for (const { what, text } of outputs) if (text.includes(secret)) leaks.push(`raptor ${what}: ${secret.slice(0, 6)}…`);
    }
    expect(leaks).toEqual([]);
    expect(logs.length).toBeGreaterThan(500); // the logs really were written, at trace
  });

  it('does print them where the user asked for them: show --reveal and export', async () => {
    const reveal = await runCli(['show', 'leaky', '--reveal'], { env: { RAPTOR_HOME: env.home } });
    const exported = await runCli(['export', 'leaky', '--format', 'playwright'], { env: { RAPTOR_HOME: env.home } });
    for (const secret of secrets.slice(0, 2)) {
      expect(reveal.stdout).toContain(secret);
      expect(exported.stdout).toContain(secret);
    }
  });
});
