/**
 * The fixture every dashboard test uses: `raptor ui` started as a user starts it (the built CLI,
 * its own process, a private RAPTOR_HOME), the URL it printed, and `raptor(...)` to change the
 * store from another process while the page watches. Teardown sends SIGTERM and requires a clean
 * exit (code 0) within a generous bound, then removes the home, whatever the test did.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { testBrowser } from '../helpers/env.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stopKeepAlive } from '../../src/browser/keep-alive.js';

export interface Dashboard {
  /** The URL `raptor ui --json` printed: it carries the token. */
  url: string;
  /** `http://127.0.0.1:PORT`, without the token. */
  origin: string;
  home: string;
  env: NodeJS.ProcessEnv;
  /** Runs `raptor <args>` against the same home, in another process. */
  raptor(args: string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Opens the dashboard in `page` through the token URL and waits for the live feed. */
  open(page: Page, hash?: string): Promise<void>;
  /** What `raptor ui` wrote on stderr so far (its logs). */
  stderr(): string;
}

const STOP_BOUND_MS = 20_000;

export const test = base.extend<{ dashboard: Dashboard; uiArgs: string[] }>({
  uiArgs: [[], { option: true }],
  dashboard: async ({ uiArgs }, use) => {
    const home = await createTempDir('raptor-ui-');
    const env: NodeJS.ProcessEnv = { RAPTOR_HOME: home.path, RAPTOR_BROWSER: testBrowser() };
    const ui = await startCli(['ui', '--json', '--no-open', ...uiArgs], { env });
    try {
      const url = await firstLine(ui.out, ui.exited);
      const origin = new URL(url).origin;
      await use({
        url,
        origin,
        home: home.path,
        env,
        raptor: (args, options = {}) => runCli(args, { env: { ...env, ...options.env }, ...(options.input !== undefined ? { input: options.input } : {}) }),
        async open(page, hash = '#/sessions') {
          await page.goto(url);
          await expect(page).toHaveURL(`${origin}/`); // the token left the address bar
          if (hash !== '#/sessions') await page.goto(`${origin}/${hash}`);
          await expect(page.locator('#feed')).toHaveText('live');
        },
        stderr: () => ui.out.stderr,
      });
    } finally {
      ui.child.kill('SIGTERM');
      const exit = await Promise.race([ui.exited, new Promise<'hung'>((done) => setTimeout(() => done('hung'), STOP_BOUND_MS))]);
      if (exit === 'hung') ui.child.kill('SIGKILL');
      const profiles = await readdir(join(home.path, 'profiles')).catch(() => [] as string[]);
      for (const profile of profiles) await stopKeepAlive(join(home.path, 'profiles', profile));
      await home.remove();
      expect(exit, `raptor ui did not stop within ${STOP_BOUND_MS} ms of SIGTERM; stderr:\n${ui.out.stderr}`).toEqual({ code: 0, signal: null });
    }
  },
});

export { expect };

async function firstLine(out: { stdout: string; stderr: string }, exited: Promise<unknown>): Promise<string> {
  const deadline = Date.now() + 30_000;
  let ended = false;
  void exited.then(() => (ended = true));
  while (!out.stdout.includes('\n')) {
    if (ended || Date.now() > deadline) throw new Error(`raptor ui printed no URL; stderr:\n${out.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const line = JSON.parse(out.stdout.slice(0, out.stdout.indexOf('\n'))) as { url: string };
  return line.url;
}

/** A Playwright storage-state file for `raptor save --from`, with a cookie value to grep for. */
export function stateWithSecret(secret: string, domain = 'app.test'): string {
  return JSON.stringify({
    cookies: [{ name: 'sid', value: secret, domain, path: '/', expires: Math.floor(Date.now() / 1000) + 3600, httpOnly: true, secure: false, sameSite: 'Lax' }],
    origins: [{ origin: `http://${domain}`, localStorage: [{ name: 'token', value: `${secret}-local` }] }],
  });
}
