/**
 * The identity options of the CLI, as a user runs them: `raptor launch` gives a browser whose
 * pages report exactly the identity asked for, `stop` + `restore` brings it back the same, the
 * options change only the fields given, and no secret of an identity (proxy password, header
 * value) shows in any output, log line (debug) or `show --json`.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { stopKeepAlive } from '../src/browser/keep-alive.js';
import { ensureBuilt, runCli, startCli, type CliResult } from './helpers/cli.js';
import { chromiumArgs } from '../src/browser/find.js';
import { identityContextOptions } from '../src/browser/context-options.js';
import { startIdentityApp } from '../fixtures/identity-app/server.js';
import { logIn } from '../fixtures/identity-app/drive.js';
import { startForwardProxy } from '../fixtures/proxy/forward-proxy.js';
import { testBrowser } from './helpers/env.js';
import { createTempDir } from './helpers/temp-dir.js';

let home: { path: string; remove(): Promise<void> };
let env: NodeJS.ProcessEnv;
const raptor = (...args: string[]): Promise<CliResult> => runCli(args, { env });

beforeAll(() => ensureBuilt(), 60_000);
beforeEach(async () => {
  home = await createTempDir('raptor-cli-identity-');
  env = { RAPTOR_HOME: home.path, RAPTOR_BROWSER: testBrowser() };
});
afterEach(async () => {
  const profiles = join(home.path, 'profiles');
  for (const profile of await readdir(profiles).catch(() => [] as string[])) await stopKeepAlive(join(profiles, profile));
  await home.remove();
});

/** What a page of the browser at `cdpUrl` reports about itself. */
async function pageReport(cdpUrl: string): Promise<{ userAgent: string; language: string; timeZone: string }> {
  const browser = await chromium.connectOverCDP(cdpUrl);
  try {
    const page = await browser.contexts()[0]!.newPage();
    const report = await page.evaluate(() => ({ userAgent: navigator.userAgent, language: navigator.language, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }));
    await page.close();
    return report;
  } finally {
    await browser.close(); // disconnects only
  }
}

const asked = { userAgent: 'X/1.0', language: 'de-DE', timeZone: 'Europe/Berlin' };

describe('raptor launch / stop / restore with an identity (real Chromium)', () => {
  it('gives a browser whose pages report exactly the identity, also after stop and restore', async () => {
    const launched = await raptor('launch', 'idn', '--user-agent', 'X/1.0', '--locale', 'de-DE', '--timezone', 'Europe/Berlin', '--json');
    expect(launched.code, launched.stderr).toBe(0);
    expect(await pageReport(launched.json<{ cdpUrl: string }>().cdpUrl)).toEqual(asked);

    expect((await raptor('stop', 'idn')).code).toBe(0);
    const restored = await raptor('restore', 'idn', '--json');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json()).toMatchObject({ mode: 'relaunched' });
    expect(await pageReport(restored.json<{ cdpUrl: string }>().cdpUrl)).toEqual(asked);

    const shown = (await raptor('show', 'idn', '--json')).json<{ session: { identity: unknown } }>();
    expect(shown.session.identity).toEqual({ userAgent: 'X/1.0', locale: 'de-DE', timezoneId: 'Europe/Berlin' });
  });

  it('changes only the fields given: a running browser with another identity is relaunched with the new one', async () => {
    expect((await raptor('launch', 'idn', '--user-agent', 'X/1.0', '--locale', 'de-DE', '--timezone', 'Europe/Berlin')).code).toBe(0);
    const changed = await raptor('restore', 'idn', '--timezone', 'America/New_York', '--json');
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.json()).toMatchObject({ mode: 'relaunched' });
    expect(await pageReport(changed.json<{ cdpUrl: string }>().cdpUrl)).toEqual({ ...asked, timeZone: 'America/New_York' });
    const again = await raptor('restore', 'idn', '--json');
    expect(again.json()).toMatchObject({ mode: 'reattached' });
  });
});

describe('identity options: bad values and secrets', () => {
  it('fails with usage (exit 2) on a bad value, before anything is written', async () => {
    for (const args of [['--viewport', '12 by 7'], ['--proxy', 'ftp://x'], ['--header', ': v'], ['--proxy-bypass', 'intranet'], ['--device-scale-factor', 'big']]) {
      const result = await raptor('launch', 'bad', ...args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect((await raptor('list', '--json')).json()).toMatchObject({ sessions: [] });
  });

  it('never prints a proxy password or a header value: not in output, debug logs of a restore, show, or show --json', async () => {
    const password = 'pw-7f3a9c21e5';
    const header = 'hv-0b8d4e6f12';
    const envPassword = 'pw-env-93ac1d77';
    const state = join(home.path, 'state.json');
    await mkdir(home.path, { recursive: true });
    await writeFile(state, JSON.stringify({ cookies: [], origins: [] }));
    const debug = { ...env, RAPTOR_LOG_LEVEL: 'debug' };
    const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...debug, ...extra } });

    const outputs: CliResult[] = [
      await run(['save', 'sec', '--from', state, '--proxy', `http://alice:${password}@127.0.0.1:9`, '--header', `Authorization: Bearer ${header}`]),
      await run(['save', 'sec', '--from', state, '--json', '--header', 'X-Other: 1']),
      await run(['import', state, '--name', 'sec-env', '--proxy', 'http://carol@127.0.0.1:9'], { RAPTOR_PROXY_PASSWORD: envPassword }),
    ];
    for (const result of outputs) expect(result.code, result.stderr).toBe(0);
    const show = await run(['show', 'sec']);
    const showJson = await run(['show', 'sec', '--json']);
    const showEnv = await run(['show', 'sec-env', '--json']);
    // A kept-alive restore with the proxy's password (through raptor's relay) and the header: its
    // debug log says what it did, never with a secret.
    const restored = await run(['restore', 'sec', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toContain('restored session'); // the debug log is on: there is something to leak into
    outputs.push(show, showJson, showEnv, restored);

    for (const { stdout, stderr } of outputs) {
      for (const secret of [password, header, envPassword]) {
        expect(stdout).not.toContain(secret);
        expect(stderr).not.toContain(secret);
      }
    }
    const identity = showJson.json<{ session: { identity: { proxy: Record<string, string>; extraHTTPHeaders: Record<string, string> } } }>().session.identity;
    expect(identity.proxy).toMatchObject({ server: 'http://127.0.0.1:9', username: 'alice' });
    expect(Object.keys(identity.extraHTTPHeaders)).toEqual(['Authorization', 'X-Other']); // the second save added one, kept the first
    expect(show.stdout).toMatch(/proxy:\s+http:\/\/127\.0\.0\.1:9, user alice, password •+/);
    expect(showEnv.json<{ session: { identity: { proxy: Record<string, string> } } }>().session.identity.proxy).toMatchObject({ username: 'carol', password: expect.stringMatching(/^•+/) });
    // --reveal is the one way to see them: it does hold them.
    const revealed = (await run(['show', 'sec-env', '--reveal', '--json'])).json<{ session: { identity: { proxy: Record<string, string> } } }>();
    expect(revealed.session.identity.proxy['password']).toBe(envPassword);
  });
});

describe('raptor open with an identity (an owned browser: a proxy password works)', () => {
  it('stays logged in at an app bound to user agent, language, timezone and an authenticating proxy', async () => {
    const app = await startIdentityApp();
    const proxy = await startForwardProxy({ id: 'exit-open', username: 'alice', password: 'pw-open-55aa' });
    const plain = await chromium.launch({ executablePath: testBrowser(), args: chromiumArgs() });
    let cli: Awaited<ReturnType<typeof startCli>> | undefined;
    try {
      // Logged in outside raptor, with the identity the CLI is then told.
      const identity = { userAgent: 'OpenTest/1.0', locale: 'de-DE', timezoneId: 'Europe/Berlin', proxy: { server: proxy.url, username: 'alice', password: 'pw-open-55aa' } };
      const context = await plain.newContext(identityContextOptions(identity));
      const page = await context.newPage();
      await logIn(page, app.url, 'ida');
      const state = join(home.path, 'state.json');
      await writeFile(state, JSON.stringify(await context.storageState()));
      await context.close();
      const withPassword = { ...env, RAPTOR_PROXY_PASSWORD: 'pw-open-55aa' };
      const imported = await runCli(['import', state, '--name', 'op', '--user-agent', 'OpenTest/1.0', '--locale', 'de-DE', '--timezone', 'Europe/Berlin', '--proxy', `http://alice@${proxy.url.slice('http://'.length)}`], { env: withPassword });
      expect(imported.code, imported.stderr).toBe(0);

      const before = proxy.forwarded();
      cli = await startCli(['open', 'op', `${app.url}/me`, '--headless', '--json'], { env });
      // /me and the /whoami its script asks: both through the proxy, authenticated.
      const until = Date.now() + 30_000;
      while (proxy.forwarded() < before + 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(proxy.forwarded(), cli.out.stderr).toBeGreaterThanOrEqual(before + 2);
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code, cli.out.stderr).toBe(0);
      expect(app.logouts()).toEqual([]); // any field the browser lacked would have logged ida out, naming it
      expect(cli.out.stderr + cli.out.stdout).not.toContain('pw-open-55aa');
    } finally {
      if (cli && cli.child.exitCode === null) cli.child.kill('SIGKILL');
      await plain.close();
      await Promise.all([app.close(), proxy.close()]);
    }
  });
});
